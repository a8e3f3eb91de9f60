"""Typed results, debouncing, and the frame source's sampling by timestamp."""

from __future__ import annotations

import numpy as np
import pytest

from vigie.analytics import Box, Event, EventType, Frame, VideoSource
from vigie.analytics.events import EventLog
from vigie.analytics.persistence import Persistence, Transition
from vigie.analytics.source import FrameSampler

from .helpers import clip, scene


def test_event_json_and_box_scaling() -> None:
    log = EventLog(scale=2.0, width=640, height=360)
    event = log.open(EventType.ABANDONED_OBJECT, 21.0, (300.2, 100.0, 20.0, 10.0), 0.9, since=11.0)
    assert event.box == Box(600, 200, 40, 20)
    document = event.to_json()
    assert list(document)[:5] == ["type", "start", "end", "box", "score"]
    assert document["since"] == 11.0 and document["end"] is None
    ended = log.close(event, 30.0)
    assert ended.id == event.id and ended.end == 30.0 and event.end is None  # events are immutable
    clipped = log.open(EventType.FIRE, 1.0, (310.0, 170.0, 50.0, 50.0), 0.5)
    assert clipped.box == Box(620, 340, 20, 20)  # clipped to the picture


def test_events_validate_their_fields() -> None:
    with pytest.raises(ValueError):
        Event(1, EventType.FIRE, 5.0, 4.0, None, 0.5)
    with pytest.raises(ValueError):
        Event(1, EventType.FIRE, 5.0, None, None, 1.5)
    with pytest.raises(ValueError):
        Box(0, 0, 0, 5)


def test_persistence_raises_once_and_ends_once() -> None:
    gate = Persistence(on_seconds=1.0, off_seconds=2.0, max_gap=0.5)
    transitions = [gate.update(t / 5, holds) for t, holds in enumerate([True] * 10 + [False] * 15 + [True] * 2)]
    assert transitions.count(Transition.RAISE) == 1 and transitions.index(Transition.RAISE) == 5
    assert transitions.count(Transition.END) == 1
    flicker = Persistence(on_seconds=1.0, off_seconds=1.0, max_gap=0.3)
    assert all(flicker.update(t / 5, t % 3 != 0) is None for t in range(30))  # never holds long enough


def test_sampler_keeps_one_frame_per_slot() -> None:
    ten = FrameSampler(5.0)
    assert [ten.keep(i / 10) for i in range(6)] == [True, False, True, False, True, False]
    twenty_five = FrameSampler(5.0)
    assert sum(twenty_five.keep(i / 25) for i in range(250)) == 50
    every = FrameSampler(None)
    assert all(every.keep(i / 30) for i in range(10))
    with pytest.raises(ValueError):
        FrameSampler(0.0)


def test_video_source_decodes_planes_at_the_analysis_rate() -> None:
    video, truth = clip(scene("walkers"))
    with VideoSource.open(video, fps=5.0) as source:
        assert (source.width, source.height) == (640, 360)
        frames = list(source)
        assert source.frames_decoded == truth.frame_count
    assert len(frames) == truth.frame_count // 2
    assert [round(f.time, 3) for f in frames[:3]] == [0.0, 0.2, 0.4]
    first = frames[0]
    assert first.luma.shape == (360, 640) and first.chroma_red is not None and first.chroma_red.shape == (180, 320)


def test_frame_from_bgr_matches_a_decoder_layout() -> None:
    picture = np.zeros((120, 160, 3), np.uint8)
    picture[:, :, 2] = 255  # red
    frame = Frame.from_bgr(0.0, picture)
    assert frame.luma.shape == (120, 160) and frame.chroma_red is not None
    assert frame.chroma_red.shape == (60, 80) and int(frame.chroma_red.mean()) > 200  # strong Cr
