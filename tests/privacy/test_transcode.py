"""Masked pixels never leave: re-encoded segments, exports and burnt-in segments are decoded and checked."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast

import av
import cv2
import numpy as np
import pytest

from vigie.privacy import masks as masks_module
from vigie.privacy.masks import raster
from vigie.privacy.transcode import MaskedTranscoder, TranscodeError, burn_in_segment

from .conftest import HEIGHT, HOUSE, WIDTH


def decode(data: bytes | Path) -> list[np.ndarray]:
    with cast(Any, av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data))) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def timing(data: bytes) -> list[tuple[int, bool]]:
    with cast(Any, av.open(io.BytesIO(data))) as container:
        return [(int(p.pts), bool(p.is_keyframe)) for p in container.demux(video=0) if p.size]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / error)) if error else 99.0


HIDDEN = raster([HOUSE], WIDTH, HEIGHT)
# Inside, away from the edge: compression may smear the boundary by a pixel or two, never more.
INNER = cv2.erode(HIDDEN.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
OUTSIDE = cv2.erode((~HIDDEN).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0


def assert_masked(frames: list[np.ndarray], originals: list[np.ndarray]) -> None:
    assert len(frames) == len(originals)
    for frame, original in zip(frames, originals, strict=True):
        assert original[INNER].max() == 255, "the test object is bright in the original"
        assert frame[HIDDEN].max() < 200, "no bright pixel anywhere under the mask"
        assert frame[INNER].max() < 30 and frame[INNER].std() < 3, "uniform opaque fill inside"
        assert psnr(frame[OUTSIDE], original[OUTSIDE]) > 30, "the rest of the image is preserved"


def test_masked_segments_hide_the_interior_and_keep_timing(interior_segments: list[bytes]) -> None:
    transcoder = MaskedTranscoder([HOUSE])
    for segment in interior_segments:
        masked = transcoder.segment(segment)
        assert masked[4:8] == b"ftyp" and masked != segment
        assert [pts for pts, _ in timing(masked)] == [pts for pts, _ in timing(segment)]
        assert timing(masked)[0][1], "a masked segment starts with a keyframe, as its original"
        assert_masked(decode(masked), decode(segment))


def test_burn_in_segment_hides_the_interior(interior_segments: list[bytes]) -> None:
    segment = interior_segments[0]
    burnt = burn_in_segment(segment, [HOUSE])
    assert [pts for pts, _ in timing(burnt)] == [pts for pts, _ in timing(segment)]
    assert_masked(decode(burnt), decode(segment))


def test_masked_export_is_one_file_with_nothing_of_the_interior(
    interior_segments: list[bytes], interior_clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "export.mp4"
    frames = MaskedTranscoder([HOUSE]).export(interior_segments, out)
    assert frames == len(decode(interior_clip))
    assert_masked(decode(out), decode(interior_clip))
    with pytest.raises(TranscodeError, match="exists already"):
        MaskedTranscoder([HOUSE]).export(interior_segments, out)


def test_snapshot_and_analytics_of_a_decoded_frame(interior_clip: Path) -> None:
    frame = decode(interior_clip)[0]
    transcoder = MaskedTranscoder([HOUSE])
    snapshot = cv2.imdecode(np.frombuffer(transcoder.snapshot(frame), np.uint8), cv2.IMREAD_COLOR)
    assert snapshot is not None
    assert snapshot[HIDDEN].max() < 200 and snapshot[INNER].max() < 30
    assert transcoder.analytics(frame)[HIDDEN].max() == 0


def test_cameras_without_masks_pass_through_byte_identical(
    interior_segments: list[bytes], tmp_path: Path
) -> None:
    transcoder = MaskedTranscoder([])
    assert transcoder.passthrough
    for segment in interior_segments:
        assert transcoder.segment(segment) is segment
        assert burn_in_segment(segment, []) is segment
    out = tmp_path / "copy.mp4"
    transcoder.export(interior_segments, out)
    with cast(Any, av.open(str(out))) as container:
        copied = [bytes(p) for p in container.demux(video=0) if p.size]
    originals = []
    for segment in interior_segments:
        with cast(Any, av.open(io.BytesIO(segment))) as container:
            originals += [bytes(p) for p in container.demux(video=0) if p.size]
    assert copied == originals  # stream copy: the very packets the camera sent


def test_the_export_hook_names_resolve() -> None:
    # vigie.export.derivatives looks these up by name; a missing one would silently skip masking.
    assert masks_module.MaskedTranscoder is MaskedTranscoder
    assert callable(masks_module.masks_for_source)


def test_garbage_is_refused_in_one_line() -> None:
    with pytest.raises(TranscodeError, match="not readable video"):
        MaskedTranscoder([HOUSE]).segment(b"not a video at all")
