"""Turn a scene into frames or into an H.264 MP4 with its truth next to it."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Literal

from .effects import Image
from .render import SceneRenderer
from .scene import GroundTruth, SceneSpec

Preset = Literal["ultrafast", "superfast", "veryfast"]

# Regular MP4: the index (moov) moved to the front so players can start before the end arrives.
_FASTSTART = {"movflags": "+faststart"}
# Fragmented MP4: one fragment per keyframe, playable while it is still being written.
_FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}


def iter_frames(spec: SceneSpec) -> Iterator[tuple[float, Image]]:
    """Yield ``(t_seconds, frame_bgr)`` for every frame of the scene, ready to encode live."""
    renderer = SceneRenderer(spec)
    for index in range(spec.frame_count):
        yield spec.frame_time(index), renderer.render(index)


def ground_truth(spec: SceneSpec) -> GroundTruth:
    """The truth of a scene without rendering it."""
    return SceneRenderer(spec).truth


def truth_path_for(video_path: str | Path) -> Path:
    """Where the truth of a clip is written: ``clip.mp4`` -> ``clip.truth.json``."""
    return Path(video_path).with_suffix(".truth.json")


def generate(
    spec: SceneSpec,
    out_path: str | Path,
    *,
    fragmented: bool = False,
    gop_frames: int | None = None,
    preset: Preset = "veryfast",
    crf: int = 23,
    write_truth: bool = True,
) -> GroundTruth:
    """Render the scene into an H.264 (yuv420p) MP4 and return its truth.

    Keyframes come exactly every ``gop_frames`` frames (default: one per second) and only there;
    the encoder runs on one thread without B-frames, so the same spec gives the same bytes. The truth
    is also written to ``truth_path_for(out_path)`` unless ``write_truth`` is False.
    """
    import av  # here, so that rendering frames (`iter_frames`) works without PyAV installed

    gop = gop_frames if gop_frames is not None else spec.fps
    if gop < 1:
        raise ValueError("gop_frames must be at least 1")
    renderer = SceneRenderer(spec)
    target = Path(out_path)
    with av.open(str(target), mode="w", format="mp4", options=_FRAGMENTED if fragmented else _FASTSTART) as container:
        stream = container.add_stream(
            "libx264",
            rate=spec.fps,
            options={
                "preset": preset,
                "crf": str(crf),
                # Fixed GOP: no scene-cut keyframes, no open GOPs, no B-frames (also easy to stream).
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:open-gop=0",
            },
        )
        stream.width = spec.width
        stream.height = spec.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, spec.fps)
        stream.codec_context.gop_size = gop
        stream.codec_context.thread_count = 1  # frame threads would make the bitstream depend on timing
        for index in range(spec.frame_count):
            frame = av.VideoFrame.from_ndarray(renderer.render(index), format="bgr24")
            frame.pts = index
            frame.time_base = Fraction(1, spec.fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    if write_truth:
        renderer.truth.write(truth_path_for(target))
    return renderer.truth
