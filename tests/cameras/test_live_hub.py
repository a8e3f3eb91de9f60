"""The live relay on its own: fMP4 fragments for subscribers, a rolling HLS window, slow viewers dropped."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from pathlib import Path

import av
import pytest

from vigie.config import RecorderSettings
from vigie.ingest.cameras.live import LiveFragment, LiveHub, LiveUnavailable, Subscription

from .helpers import h264_transport_stream


def decoded_frames(*parts: bytes) -> int:
    """Frames PyAV decodes from an init segment followed by fragments."""
    with av.open(io.BytesIO(b"".join(parts)), "r") as container:
        return sum(1 for _ in container.decode(video=0))


class Camera:
    """Publishes a clip's packets to a hub channel at (a multiple of) real time, like a recorder thread."""

    def __init__(self, hub: LiveHub, clip: Path, speed: float = 4.0) -> None:
        self.channel = hub.channel("cam")
        self.clip = clip
        self.speed = speed
        self.published = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with av.open(str(self.clip)) as container:
            stream = container.streams.video[0]
            self.channel.start(stream)
            for packet in container.demux(stream):
                if packet.dts is None:
                    continue
                self.channel.publish(packet, time.time())
                self.published += 1
                time.sleep(0.04 / self.speed)
        self.done.set()


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.ts"
    path.write_bytes(h264_transport_stream(6))
    return path


@pytest.fixture
def hub() -> LiveHub:
    return LiveHub(RecorderSettings(live_queue_fragments=30, hls_window_segments=3))


def collect(subscription: Subscription, count: int) -> list[LiveFragment]:
    fragments: list[LiveFragment] = []
    while len(fragments) < count:
        fragment = subscription.get(timeout=5)
        assert fragment is not None, f"only {len(fragments)} fragments arrived"
        fragments.append(fragment)
    return fragments


def test_two_subscribers_share_one_feed(hub: LiveHub, clip: Path) -> None:
    with pytest.raises(LiveUnavailable):
        hub.subscribe("cam", timeout=0.1)  # no such camera yet
    camera = Camera(hub, clip)
    camera.thread.start()
    with hub.subscribe("cam", timeout=5) as first, hub.subscribe("cam", timeout=5) as second:
        assert first.init and first.init == second.init and first.init.startswith(b"\x00\x00\x00")
        a, b = collect(first, 40), collect(second, 40)
        # Both start on a keyframe; the later one may have joined one GOP later, then they see the same bytes.
        assert a[0].keyframe and b[0].keyframe
        shared = {f.sequence for f in a} & {f.sequence for f in b}
        assert len(shared) >= 10
        by_sequence = {f.sequence: f for f in b}
        assert all(f.data == by_sequence[f.sequence].data for f in a if f.sequence in shared)
        # One fragment per frame, every one decodable after the init segment.
        assert decoded_frames(first.init, *(f.data for f in a)) == 40
        assert all(f.kind == "media" and f.generation == 1 for f in a)
        assert [f.sequence for f in a] == list(range(a[0].sequence, a[0].sequence + 40))
        assert a[1].media_time - a[0].media_time == pytest.approx(0.04, abs=0.001)
    assert hub.cameras()[0].subscribers == 0
    camera.done.wait(10)


def test_a_slow_subscriber_is_skipped_not_waited_for(hub: LiveHub, clip: Path) -> None:
    camera = Camera(hub, clip, speed=8.0)
    camera.thread.start()
    slow = hub.subscribe("cam", timeout=5)
    fast = hub.subscribe("cam", timeout=5)
    received = 0
    while not camera.done.is_set():
        if fast.get(timeout=0.5) is not None:
            received += 1
    assert camera.published >= 140  # the producer never waited for the slow viewer
    assert slow.dropped > 0 and fast.dropped == 0
    backlog = []
    while (fragment := slow.get(timeout=0.1)) is not None:
        backlog.append(fragment)
    assert 0 < len(backlog) <= 30 and backlog[0].keyframe  # kept whole GOPs: it resumes on a keyframe
    assert decoded_frames(slow.init, *(f.data for f in backlog)) == len(backlog)
    slow.close()
    fast.close()


def test_hls_window(hub: LiveHub, clip: Path) -> None:
    camera = Camera(hub, clip, speed=2.0)
    camera.thread.start()
    playlist = hub.hls_playlist("cam", wait=10)  # nobody watched: starts muxing, waits for a segment
    deadline = time.monotonic() + 10
    while playlist.count("#EXTINF") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        playlist = hub.hls_playlist("cam")
    lines = playlist.splitlines()
    assert lines[0] == "#EXTM3U" and "#EXT-X-VERSION:7" in lines
    assert '#EXT-X-MAP:URI="init-1.mp4"' in lines
    names = [line for line in lines if line.endswith(".m4s")]
    assert len(names) == 3  # the window size
    durations = [float(line.split(":")[1].rstrip(",")) for line in lines if line.startswith("#EXTINF")]
    assert all(d == pytest.approx(1.0, abs=0.05) for d in durations)  # one 1-s GOP each
    init = hub.hls_part("cam", "init-1.mp4")
    frames = decoded_frames(init, *(hub.hls_part("cam", name) for name in names))
    assert frames == pytest.approx(sum(durations) * 25, abs=1)
    with pytest.raises(LiveUnavailable):
        hub.hls_part("cam", "seg-999999.m4s")
    camera.done.wait(10)


def test_async_consumer_and_camera_restart(hub: LiveHub, clip: Path) -> None:
    channel = hub.channel("cam")

    def publish_clip() -> None:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            channel.start(stream)
            for packet in container.demux(stream):
                if packet.dts is not None:
                    channel.publish(packet, time.time())
                    time.sleep(0.005)
            channel.stop()

    async def watch() -> list[LiveFragment]:
        subscription = await hub.subscribe_async("cam", timeout=5)
        seen: list[LiveFragment] = []
        async for fragment in subscription:
            seen.append(fragment)
            if fragment.kind == "init":
                continue
            if fragment.generation == 2 and len([f for f in seen if f.generation == 2]) >= 5:
                break
        subscription.close()
        return seen

    def two_connections() -> None:
        publish_clip()
        publish_clip()  # the camera reconnects: a new generation with its own init segment

    producer = threading.Thread(target=two_connections, daemon=True)
    producer.start()
    seen = asyncio.run(watch())
    restart = next(index for index, f in enumerate(seen) if f.kind == "init")
    assert seen[restart].generation == 2 and seen[restart + 1].keyframe
    assert all(f.generation == 1 for f in seen[:restart])
    producer.join(20)


def test_one_fragment_per_gop_mode(clip: Path) -> None:
    hub = LiveHub(RecorderSettings(), mode="gop")
    camera = Camera(hub, clip, speed=8.0)
    camera.thread.start()
    with hub.subscribe("cam", timeout=5) as subscription:
        gops = collect(subscription, 3)
        assert all(f.keyframe and f.duration == pytest.approx(1.0, abs=0.05) for f in gops)
        assert decoded_frames(subscription.init, *(f.data for f in gops)) == 75
    camera.done.wait(10)
