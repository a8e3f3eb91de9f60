"""Encoding scenes to H.264 MP4 files, with the truth written next to them."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest

from vigie.sim import GroundTruth, generate, truth_path_for

from .helpers import rendered, small


def _top_level_boxes(path: Path) -> list[str]:
    """The MP4 top-level box types, in file order."""
    data = path.read_bytes()
    kinds, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        kinds.append(kind.decode("ascii"))
        offset += size
    return kinds


def _decode(path: Path) -> tuple[av.video.stream.VideoStream, list[np.ndarray], list[bool]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, keys = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="bgr24"))
            keys.append(bool(frame.key_frame))
        return stream, frames, keys


@pytest.mark.parametrize("fragmented", [False, True])
def test_clip_decodes_to_the_spec(tmp_path: Path, fragmented: bool) -> None:
    spec = small("walkers", seconds=3.0, fps=12, width=320, height=180)
    out = tmp_path / "clip.mp4"
    truth = generate(spec, out, fragmented=fragmented)
    stream, frames, keys = _decode(out)
    assert stream.codec_context.name == "h264"
    assert stream.codec_context.pix_fmt == "yuv420p"
    assert (stream.codec_context.width, stream.codec_context.height) == (320, 180)
    assert stream.average_rate == 12
    assert len(frames) == spec.frame_count == 36
    # One keyframe per second by default, and only there.
    assert [index for index, key in enumerate(keys) if key] == [0, 12, 24]
    assert truth.frame_count == len(frames)

    boxes = _top_level_boxes(out)
    if fragmented:
        assert boxes.count("moof") == 3  # one fragment per keyframe
    else:
        assert boxes.index("moov") < boxes.index("mdat")  # faststart


def test_keyframe_interval_is_configurable(tmp_path: Path) -> None:
    spec = small("walkers", seconds=2.0)
    out = tmp_path / "gop.mp4"
    generate(spec, out, gop_frames=7, write_truth=False)
    _, _, keys = _decode(out)
    assert [index for index, key in enumerate(keys) if key] == [0, 7, 14]
    assert not truth_path_for(out).exists()


def test_video_shows_the_rendered_frames(tmp_path: Path) -> None:
    spec = small("fire", seconds=3.0)
    out = tmp_path / "fire.mp4"
    generate(spec, out, preset="veryfast")
    _, decoded, _ = _decode(out)
    _, frames = rendered(spec)
    for original, video in zip(frames, decoded, strict=True):
        error = np.mean((original.astype(float) - video.astype(float)) ** 2)
        assert 10 * np.log10(255**2 / error) > 30  # PSNR in dB: the same picture, lossy-coded


def test_truth_is_written_next_to_the_clip(tmp_path: Path) -> None:
    spec = small("fall")
    out = tmp_path / "sub" / "clip.mp4"
    out.parent.mkdir()
    truth = generate(spec, out)
    assert truth_path_for(out) == tmp_path / "sub" / "clip.truth.json"
    assert GroundTruth.read(truth_path_for(out)) == truth
    assert truth.events and truth.events[0].type == "person_down"


def test_same_spec_same_bytes(tmp_path: Path) -> None:
    spec = small("crowd_disperse", seconds=2.0, noise=None)
    generate(spec, tmp_path / "a.mp4", write_truth=False)
    generate(spec, tmp_path / "b.mp4", write_truth=False)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


def test_gop_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(small("walkers", seconds=1.0), tmp_path / "x.mp4", gop_frames=0)
