"""Import → read back: camera packets survive remuxing untouched; body-cam files stay byte-exact."""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path

import av
import pytest

from conftest import RawBlobs
from vigie.config import RetentionProfile
from vigie.export.extract import extract_recording
from vigie.ingest.files import import_bytes_file, import_camera_file, probe_bytes_file
from vigie.vault.store import Vault
from vigie.vault.verify import verify_vault


def packets_of(data: bytes | Path) -> list[tuple[bytes, bool]]:
    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    with av.open(source) as container:
        stream = container.streams.video[0]
        return [(bytes(p), bool(p.is_keyframe)) for p in container.demux(stream) if p.size]


def test_camera_segments_hold_the_original_packets(vault: Vault, scenes: Path) -> None:
    clip = scenes / "walkers.mp4"
    source = vault.ensure_source("cam-1", kind="camera")
    result = import_camera_file(vault, clip, source)

    segments = vault.segments(result.recording)
    assert result.segments == len(segments) >= 2
    stored: list[tuple[bytes, bool]] = []
    for segment in segments:
        data = vault.read(segment)
        assert data[4:8] == b"ftyp"
        packets = packets_of(data)
        assert packets[0][1], "every segment starts with a keyframe"
        stored.extend(packets)
    assert stored == packets_of(clip)
    # segments are contiguous in time and about the configured length
    for before, after in itertools.pairwise(segments):
        assert before.end == after.start
    assert all((s.end - s.start).total_seconds() <= vault.settings.vault.segment_seconds + 1.01 for s in segments)
    assert abs(result.duration - 9.0) < 0.2


def test_camera_recording_extracts_to_a_playable_file(vault: Vault, scenes: Path, tmp_path: Path) -> None:
    clip = scenes / "walkers.mp4"
    source = vault.ensure_source("cam-1", kind="camera")
    recording = import_camera_file(vault, clip, source).recording
    out = tmp_path / "out.mp4"
    extract_recording(vault, recording, out)
    assert [p for p, _ in packets_of(out)] == [p for p, _ in packets_of(clip)]


def test_bodycam_file_is_stored_byte_exact(vault: Vault, scenes: Path, tmp_path: Path) -> None:
    clip = scenes / "night.mp4"
    original = clip.read_bytes()
    device = vault.ensure_source("BC-0001", kind="bodycam", profile=RetentionProfile.BODYCAM_GENDARMERIE)
    result = import_bytes_file(vault, clip, device, expected_sha256=hashlib.sha256(original).hexdigest())

    assert result.sha256 == hashlib.sha256(original).hexdigest()
    assert result.recording.status == "complete"
    chunk = vault.settings.vault.chunk_bytes
    assert result.segments == -(-len(original) // chunk) >= 2
    assert b"".join(data for _, data in vault.iter_plaintext(result.recording)) == original
    # keyframe index: one per second of a 10 fps, GOP-10 clip, offsets pointing into the file
    index = result.recording.keyframe_index
    assert len(index) >= 5
    assert all(0 < offset < len(original) for _, offset in index)
    out = tmp_path / "copy.mp4"
    assert extract_recording(vault, result.recording, out) == result.sha256
    assert out.read_bytes() == original
    assert verify_vault(vault).intact


def test_bodycam_hash_mismatch_is_refused_and_leaves_nothing(vault: Vault, scenes: Path) -> None:
    device = vault.ensure_source("BC-0002", kind="bodycam")
    with pytest.raises(RuntimeError, match="sha256 mismatch"):
        import_bytes_file(vault, scenes / "night.mp4", device, expected_sha256="0" * 64)
    assert list(vault.blobs.iter_keys()) == []
    with vault.catalog.session() as session:
        from sqlalchemy import func, select

        from vigie.catalog.models import Recording, Segment

        assert session.execute(select(func.count()).select_from(Recording)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Segment)).scalar_one() == 0
    assert verify_vault(vault).intact


def test_no_plaintext_container_bytes_in_the_vault(vault: Vault, scenes: Path, raw_blobs: RawBlobs) -> None:
    import_camera_file(vault, scenes / "walkers.mp4", vault.ensure_source("cam-1", kind="camera"))
    import_bytes_file(vault, scenes / "night.mp4", vault.ensure_source("BC-1", kind="bodycam"))
    keys = raw_blobs.keys()
    assert len(keys) >= 4
    for key in keys:
        data = raw_blobs.read(key)
        for box in (b"ftyp", b"moof", b"mdat", b"moov", b"avcC"):
            assert box not in data, f"{box!r} in {key}"
    if vault.settings.vault.store == "local":  # and nothing else lies around in the vault directory
        assert {
            p.relative_to(vault.settings.vault_dir).as_posix()
            for p in vault.settings.vault_dir.rglob("*")
            if p.is_file()
        } == set(keys)


def test_bodycam_chunk_entries_carry_the_running_sha256_of_the_original(vault: Vault, scenes: Path) -> None:
    original = (scenes / "night.mp4").read_bytes()
    result = import_bytes_file(vault, scenes / "night.mp4", vault.ensure_source("BC-1", kind="bodycam"))
    segments = vault.segments(result.recording)
    assert len(segments) >= 2
    for segment in segments:  # each entry: sha256 of the file from byte 0 to the chunk's end
        assert segment.sha256 == hashlib.sha256(original[: segment.byte_offset + segment.size]).hexdigest()
    assert segments[-1].sha256 == result.sha256 == hashlib.sha256(original).hexdigest()


def regular_mp4(source: Path, target: Path) -> Path:
    """Remux a (fragmented) clip into a plain MP4 whose sample table is at the front, as devices write."""
    with (
        av.open(str(source)) as src,
        av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        stream = src.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.size:
                packet.stream = copy
                out.mux(packet)
    return target


def demuxed_keyframes(path: Path) -> list[list[float]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        first = packets[0].pts
        return [[round(float((p.pts - first) * stream.time_base), 6), p.pos] for p in packets if p.is_keyframe]


def test_a_plain_mp4_is_probed_from_its_sample_table(scenes: Path, tmp_path: Path) -> None:
    clip = regular_mp4(scenes / "night.mp4", tmp_path / "plain.mp4")
    probe = probe_bytes_file(clip)
    assert probe.anomalies == []
    assert probe.keyframes == demuxed_keyframes(clip) and len(probe.keyframes) == 6
    assert probe.duration == pytest.approx(6.0, abs=0.01)


def test_a_truncated_plain_mp4_keeps_its_bytes_and_says_how_many_frames_remain(
    vault: Vault, scenes: Path, tmp_path: Path
) -> None:
    data = regular_mp4(scenes / "night.mp4", tmp_path / "plain.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    result = import_bytes_file(vault, cut, vault.ensure_source("BC-1", kind="bodycam"))
    assert result.recording.status == "truncated"
    truncations = [a for a in result.anomalies if a.startswith("truncated")]
    assert len(truncations) == 1 and truncations[0].endswith(" of 60 frames readable"), truncations
    assert all(offset < len(data) * 2 // 3 for _, offset in result.recording.keyframe_index)
    assert b"".join(d for _, d in vault.iter_plaintext(result.recording)) == data[: len(data) * 2 // 3]
    assert verify_vault(vault).intact
