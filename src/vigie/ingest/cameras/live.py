"""The live relay: camera packets, already pulled by the recorder, re-muxed into fMP4 for viewers.

One camera connection feeds both the vault and the viewers: a viewer never opens a connection to
a camera (cameras accept few, and each costs the camera CPU and the network bandwidth). For each
camera the recorder's packet thread calls :meth:`LiveChannel.publish`; while someone watches, the
channel muxes packets (no re-encoding) into an init segment and one ``moof``+``mdat`` fragment per
frame (or per GOP), and hands fragments to:

* subscribers (:meth:`LiveHub.subscribe`): for WebSocket + Media Source Extensions players. Each has
  a bounded queue; one that falls behind loses queued fragments and resumes at the next keyframe,
  so a slow viewer never slows the recorder nor the other viewers;
* a short rolling HLS window (:meth:`LiveHub.hls_playlist`, :meth:`LiveHub.hls_part`): fMP4 segments
  of one GOP or more, for many viewers behind caches.

Nobody watching means no muxing: the channel keeps only the packets of the current GOP (references,
no copy), so the first viewer starts on a keyframe at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import struct
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from fractions import Fraction
from types import TracebackType
from typing import Any, Literal, NamedTuple, TypeVar

import av

from vigie.config import RecorderSettings

T = TypeVar("T")

log = logging.getLogger(__name__)

FragmentKind = Literal["init", "media"]
FragmentMode = Literal["frame", "gop"]
MOVFLAGS = {
    "frame": "frag_keyframe+empty_moov+default_base_moof+frag_every_frame",
    "gop": "frag_keyframe+empty_moov+default_base_moof",
}
MAX_CACHED_PACKETS = 600  # a GOP longer than this (24 s at 25 fps) is not cached: memory stays bounded


class LiveUnavailable(LookupError):
    """The camera is unknown to this hub, not streaming, or the HLS part has left the window."""


@dataclass(frozen=True)
class LiveFragment:
    """An fMP4 piece: an init segment (``ftyp``+``moov``) or a media fragment (``moof``+``mdat``)."""

    kind: FragmentKind
    data: bytes
    generation: int  # increments each time the camera connection restarts (new init segment)
    sequence: int  # media fragments are numbered from 0 within a generation; init: -1
    keyframe: bool  # the fragment starts with a keyframe: a decoder may start here
    media_time: float  # seconds of the fragment's first frame since the generation started
    duration: float  # seconds
    received_at: float  # wall-clock time (epoch seconds) its first frame left the camera connection


class LoopWaiter:
    """Lets one asyncio task wait for items that threads append to a deque under a lock.

    Producers append under the lock, then call :meth:`wake` once they have released it; the task
    calls :meth:`take`, which registers itself under the same lock after finding nothing, so a
    wake-up is never lost between its look and its wait.
    """

    def __init__(self) -> None:
        self._waiting: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def wake(self) -> None:
        waiting = self._waiting
        if waiting is not None:
            loop, event = waiting
            with contextlib.suppress(RuntimeError):  # the waiting task's event loop is closed
                loop.call_soon_threadsafe(event.set)

    async def take(
        self, lock: AbstractContextManager[Any], items: deque[T], closed: Callable[[], bool], timeout: float | None
    ) -> T | None:
        """The next item; None on timeout or once ``closed()`` with nothing left."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            event = asyncio.Event()
            with lock:
                if items:
                    return items.popleft()
                if closed():
                    return None
                self._waiting = (loop, event)
            try:
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return None
            finally:
                self._waiting = None


class Subscription:
    """One viewer's feed: ``init`` then fragments, via ``for`` or ``async for`` (or :meth:`get`).

    Iteration yields media fragments and, when the camera reconnects, a new ``init`` fragment
    (``kind == "init"``) to append before what follows. Close it (or use ``with``) when done.
    """

    def __init__(self, channel: LiveChannel, limit: int) -> None:
        self.camera = channel.camera
        self.init = b""
        self.generation = -1
        self.dropped = 0  # fragments skipped because this subscriber fell behind
        self._channel = channel
        self._limit = limit
        self._items: deque[LiveFragment] = deque()
        self._condition = threading.Condition()
        self._ready = threading.Event()
        self._resync = False
        self._closed = False
        self._loop_waiter = LoopWaiter()

    # -- producer side (the camera's packet thread; never blocks) --------------------------------
    def _offer(self, fragment: LiveFragment) -> None:
        with self._condition:
            if self._closed:
                return
            if fragment.kind == "init":
                if not self._ready.is_set():
                    self.init, self.generation = fragment.data, fragment.generation
                    self._ready.set()
                    return
                self._items.append(fragment)
                self._resync = True  # a new generation starts at its first keyframe
            elif self._resync or (not self._items and self.generation != fragment.generation):
                if not fragment.keyframe:
                    self.dropped += 1
                    return
                self._resync = False
                self._items.append(fragment)
            elif len(self._items) >= self._limit:
                self._skip_ahead(fragment)
            else:
                self._items.append(fragment)
            if fragment.kind == "media" and fragment.generation > self.generation:
                self.generation = fragment.generation
            self._condition.notify_all()
        self._loop_waiter.wake()

    def _skip_ahead(self, fragment: LiveFragment) -> None:
        """Too far behind: jump to the newest queued keyframe, or drop everything and wait for the next one.

        Fragments before a keyframe are useless without what precedes them, so only whole GOPs are
        dropped; a pending init segment is always kept.
        """
        items = list(self._items)
        newest_keyframe = max(
            (index for index, item in enumerate(items) if item.kind == "media" and item.keyframe and index > 0),
            default=None,
        )
        inits = [item for item in items if item.kind == "init"][-1:]
        if newest_keyframe is not None:
            kept = [*[item for item in inits if items.index(item) < newest_keyframe], *items[newest_keyframe:]]
            self.dropped += len(items) - len(kept)
            self._items = deque([*kept, fragment])
            return
        self.dropped += len(items) - len(inits)
        self._items = deque(inits)
        if fragment.keyframe:
            self._items.append(fragment)
        else:
            self.dropped += 1
            self._resync = True

    def _shutdown(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._ready.set()
        self._loop_waiter.wake()

    # -- consumer side ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def get(self, timeout: float | None = None) -> LiveFragment | None:
        """The next fragment; None on timeout or once closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while not self._items:
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._condition.wait(remaining)
            return self._items.popleft()

    async def aget(self, timeout: float | None = None) -> LiveFragment | None:
        """The next fragment without blocking the event loop; None on timeout or once closed."""
        return await self._loop_waiter.take(self._condition, self._items, lambda: self._closed, timeout)

    def __iter__(self) -> Iterator[LiveFragment]:
        while True:
            fragment = self.get()
            if fragment is None:
                return
            yield fragment

    async def __aiter__(self) -> AsyncIterator[LiveFragment]:
        while True:
            fragment = await self.aget()
            if fragment is None:
                return
            yield fragment

    def close(self) -> None:
        self._channel._unsubscribe(self)
        self._shutdown()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


@dataclass
class _HlsSegment:
    sequence: int
    generation: int
    discontinuity: int  # how many generation changes happened before this segment
    duration: float
    data: bytes

    @property
    def name(self) -> str:
        return f"seg-{self.sequence}.m4s"


@dataclass
class _PacketMeta:
    keyframe: bool
    media_time: float
    duration: float
    received_at: float


class _CachedPacket(NamedTuple):
    """A packet and its timing in the camera stream's time base (a muxer may have rescaled the packet since)."""

    packet: Any
    pts: int
    dts: int
    duration: int
    keyframe: bool
    received_at: float


class _ByteSink:
    """A write-only file for the muxer: non-seekable, so the mp4 muxer streams fragments as it goes."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)


def _boxes(buffer: bytearray) -> tuple[list[tuple[bytes, bytes]], int]:
    """Complete top-level boxes at the start of ``buffer`` as (type, bytes), and bytes consumed."""
    boxes: list[tuple[bytes, bytes]] = []
    position = 0
    while len(buffer) - position >= 8:
        size, kind = struct.unpack_from(">I4s", buffer, position)
        header = 8
        if size == 1:
            if len(buffer) - position < 16:
                break
            size = struct.unpack_from(">Q", buffer, position + 8)[0]
            header = 16
        if size < header or len(buffer) - position < size:
            break
        boxes.append((kind, bytes(buffer[position : position + size])))
        position += size
    return boxes, position


def _sample_count(moof: bytes) -> int:
    """Samples described by a ``moof`` (sum of its ``trun`` boxes), to match fragments to packets."""
    count = 0

    def walk(data: bytes, start: int, end: int) -> None:
        nonlocal count
        position = start
        while position + 8 <= end:
            size, kind = struct.unpack_from(">I4s", data, position)
            if size < 8:
                return
            if kind == b"traf":
                walk(data, position + 8, position + size)
            elif kind == b"trun":
                count += struct.unpack_from(">I", data, position + 12)[0]
            position += size

    walk(moof, 8, len(moof))
    return count


class LiveChannel:
    """One camera's relay. ``start``/``publish``/``stop`` are called by the camera's packet thread only."""

    def __init__(self, camera: str, settings: RecorderSettings, mode: FragmentMode) -> None:
        self.camera = camera
        self.settings = settings
        self.mode = mode
        self._lock = threading.Lock()
        self._subscribers: set[Subscription] = set()
        self._demand_until = 0.0  # monotonic time until which HLS demand keeps the channel muxing
        self._streaming = threading.Condition(self._lock)  # notified when a new HLS segment or init is ready
        # Producer state.
        self._template: Any = None
        self._generation = 0
        self._live = False
        self._first_pts: int | None = None
        self._time_base: Fraction = Fraction(1, 90000)
        self._cache: list[_CachedPacket] = []
        self._output: Any = None
        self._stream: Any = None
        self._sink: _ByteSink | None = None
        self._pending: deque[_PacketMeta] = deque()
        self._init: bytes = b""
        self._sequence = 0
        self._gop: list[LiveFragment] = []  # fragments since the last keyframe, for viewers joining
        self._publish_errors = 0
        # HLS window.
        self._hls: deque[_HlsSegment] = deque()
        self._hls_inits: dict[int, bytes] = {}
        self._hls_open: list[LiveFragment] = []
        self._hls_sequence = 0
        self._hls_discontinuity = 0
        self._hls_last_generation: int | None = None

    # -- status -----------------------------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self._live

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def _warm(self) -> bool:
        # No clock read while no HLS client ever asked (the common case, on every frame of every camera).
        return bool(self._subscribers) or (self._demand_until > 0 and time.monotonic() < self._demand_until)

    # -- producer side ----------------------------------------------------------------------------
    def start(self, template_stream: Any) -> None:
        """A camera connection began: a new generation (new init segment) starts."""
        with self._lock:
            self._close_muxer()
            self._generation += 1
            self._template = template_stream
            self._time_base = template_stream.time_base
            self._first_pts = None
            self._cache = []
            self._live = True

    def stop(self) -> None:
        """The camera connection ended; viewers stay subscribed and continue with the next generation."""
        with self._lock:
            self._close_hls_segment()
            self._close_muxer()
            self._cache = []
            self._live = False
            self._template = None

    def publish(self, packet: Any, received_at: float) -> None:
        """Offer one packet (its pts/dts in the camera stream's time base). Never raises."""
        if packet.pts is not None and packet.dts is not None:
            self.offer(packet, received_at, packet.pts, packet.dts, packet.duration or 0, bool(packet.is_keyframe))

    def offer(self, packet: Any, received_at: float, pts: int, dts: int, duration: int, keyframe: bool) -> None:
        """:meth:`publish` for the recorder, which has read the packet's timing already (in the stream's
        time base: another muxer may have rescaled the packet since). Called for every frame of every
        camera, so it does as little as it can while nobody watches. Never raises."""
        try:
            with self._lock:
                self._publish(_CachedPacket(packet, pts, dts, duration, keyframe, received_at))
        except Exception:
            self._publish_errors += 1
            if self._publish_errors in (1, 100, 10000):
                log.exception("camera %s: live relay failed on a packet (recording is unaffected)", self.camera)
            with self._lock:
                self._close_muxer()

    def _publish(self, cached: _CachedPacket) -> None:
        if not self._live:
            return
        keyframe = cached.keyframe
        if self._first_pts is None:
            if not keyframe:
                return
            self._first_pts = cached.pts
        if not self._warm():
            if self._output is not None:
                self._close_muxer()
                self._reset_hls()
            if keyframe:
                self._cache = [cached]
            elif self._cache and len(self._cache) < MAX_CACHED_PACKETS:
                self._cache.append(cached)
            else:
                self._cache = []
            return
        if self._output is None:
            # First viewer: start at the freshest keyframe, replaying the current GOP if it is cached.
            if keyframe:
                backlog = [cached]
            elif self._cache:
                backlog = [*self._cache, cached]
            else:
                return
            self._cache = []
            self._open_muxer()
            for item in backlog:
                self._mux(item)
            return
        self._mux(cached)

    def _open_muxer(self) -> None:
        self._sink = _ByteSink()
        self._output = av.open(
            self._sink, "w", format="mp4", options={"movflags": MOVFLAGS[self.mode], "flush_packets": "1"}
        )
        self._stream = self._output.add_stream_from_template(self._template)
        self._pending.clear()
        self._sequence = 0
        self._gop = []
        self._init = b""

    def _close_muxer(self) -> None:
        output, self._output = self._output, None
        if output is not None:
            try:
                output.close()
            except Exception:  # closing a half-written live muxer may complain; nothing is lost
                log.debug("camera %s: live muxer close failed", self.camera, exc_info=True)
        self._sink = None
        self._stream = None
        self._pending.clear()
        self._gop = []
        self._init = b""

    def _mux(self, item: _CachedPacket) -> None:
        assert self._first_pts is not None and self._sink is not None
        packet = item.packet
        time_base = self._time_base
        packet.pts, packet.dts, packet.duration, packet.time_base = item.pts, item.dts, item.duration, time_base
        self._pending.append(
            _PacketMeta(
                item.keyframe,
                float((item.pts - self._first_pts) * time_base),
                float(item.duration * time_base),
                item.received_at,
            )
        )
        packet.stream = self._stream
        self._output.mux(packet)
        boxes, used = _boxes(self._sink.buffer)
        if not used:
            return
        del self._sink.buffer[:used]
        pending_init = b""
        index = 0
        while index < len(boxes):
            kind, data = boxes[index]
            if kind in (b"ftyp", b"moov"):
                pending_init += data
                if kind == b"moov":
                    self._emit_init(pending_init)
                    pending_init = b""
            elif kind == b"moof" and index + 1 < len(boxes) and boxes[index + 1][0] == b"mdat":
                self._emit_media(data + boxes[index + 1][1], _sample_count(data))
                index += 1
            index += 1

    def _emit_init(self, data: bytes) -> None:
        self._init = data
        fragment = LiveFragment("init", data, self._generation, -1, False, 0.0, 0.0, time.time())
        self._hls_inits[self._generation] = data
        for subscriber in list(self._subscribers):
            subscriber._offer(fragment)
        self._streaming.notify_all()

    def _emit_media(self, data: bytes, samples: int) -> None:
        metas = [self._pending.popleft() for _ in range(min(max(samples, 1), len(self._pending)))]
        if not metas:
            return
        fragment = LiveFragment(
            "media",
            data,
            self._generation,
            self._sequence,
            metas[0].keyframe,
            metas[0].media_time,
            sum(meta.duration for meta in metas),
            metas[0].received_at,
        )
        self._sequence += 1
        if fragment.keyframe:
            self._gop = [fragment]
        elif self._gop:
            self._gop.append(fragment)
        for subscriber in list(self._subscribers):
            subscriber._offer(fragment)
        self._add_to_hls(fragment)

    # -- HLS window (under the lock) -------------------------------------------------------------
    def _add_to_hls(self, fragment: LiveFragment) -> None:
        if fragment.keyframe and self._hls_open:
            opened = sum(item.duration for item in self._hls_open)
            if opened >= self.settings.hls_target_seconds:
                self._close_hls_segment()
        if not self._hls_open and not fragment.keyframe:
            return
        self._hls_open.append(fragment)

    def _close_hls_segment(self) -> None:
        if not self._hls_open:
            return
        generation = self._hls_open[0].generation
        if self._hls_last_generation is not None and generation != self._hls_last_generation:
            self._hls_discontinuity += 1
        self._hls_last_generation = generation
        self._hls.append(
            _HlsSegment(
                sequence=self._hls_sequence,
                generation=generation,
                discontinuity=self._hls_discontinuity,
                duration=sum(item.duration for item in self._hls_open),
                data=b"".join(item.data for item in self._hls_open),
            )
        )
        self._hls_sequence += 1
        self._hls_open = []
        while len(self._hls) > self.settings.hls_window_segments:
            self._hls.popleft()
        live_generations = {segment.generation for segment in self._hls} | {self._generation}
        for generation in [g for g in self._hls_inits if g not in live_generations]:
            del self._hls_inits[generation]
        self._streaming.notify_all()

    def _reset_hls(self) -> None:
        self._hls.clear()
        self._hls_open = []
        self._hls_inits = {}
        self._hls_last_generation = None

    # -- consumer side ----------------------------------------------------------------------------
    def subscribe(self, timeout: float) -> Subscription:
        subscription = Subscription(self, self.settings.live_queue_fragments)
        with self._lock:
            self._subscribers.add(subscription)
            if self._init:
                init = LiveFragment("init", self._init, self._generation, -1, False, 0.0, 0.0, time.time())
                subscription._offer(init)
                for fragment in self._gop:
                    subscription._offer(fragment)
        if not subscription._ready.wait(timeout) or subscription.closed:
            subscription.close()
            raise LiveUnavailable(f"camera {self.camera!r} is not streaming")
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    def hls_playlist(self, wait: float) -> str:
        deadline = time.monotonic() + wait
        with self._lock:
            self._demand_until = time.monotonic() + self.settings.live_idle_seconds
            while not self._hls and time.monotonic() < deadline:
                self._streaming.wait(deadline - time.monotonic())
            segments = list(self._hls)
        if not segments:
            if not self._live:
                raise LiveUnavailable(f"camera {self.camera!r} is not streaming")
            return "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
        target = max(1, math.ceil(max(segment.duration for segment in segments)))
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{target}",
            f"#EXT-X-MEDIA-SEQUENCE:{segments[0].sequence}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{segments[0].discontinuity}",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        previous: int | None = None
        for segment in segments:
            if segment.generation != previous:
                if previous is not None:
                    lines.append("#EXT-X-DISCONTINUITY")
                lines.append(f'#EXT-X-MAP:URI="init-{segment.generation}.mp4"')
                previous = segment.generation
            lines.append(f"#EXTINF:{segment.duration:.3f},")
            lines.append(segment.name)
        return "\n".join(lines) + "\n"

    def hls_part(self, name: str) -> bytes:
        with self._lock:
            self._demand_until = time.monotonic() + self.settings.live_idle_seconds
            if name.startswith("init-") and name.endswith(".mp4"):
                generation = name[5:-4]
                if generation.isdigit() and int(generation) in self._hls_inits:
                    return self._hls_inits[int(generation)]
            for segment in self._hls:
                if segment.name == name:
                    return segment.data
        raise LiveUnavailable(f"{name} is not in the live window of camera {self.camera!r}")


@dataclass(frozen=True)
class LiveStatus:
    camera: str
    live: bool
    subscribers: int


@dataclass
class LiveHub:
    """Every camera's live relay in this process. The recorder produces, the web consumes."""

    settings: RecorderSettings = field(default_factory=RecorderSettings)
    mode: FragmentMode = "frame"
    _channels: dict[str, LiveChannel] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # -- producer side ----------------------------------------------------------------------------
    def channel(self, camera: str) -> LiveChannel:
        """The channel a recorder publishes a camera's packets to (created on first use)."""
        with self._lock:
            channel = self._channels.get(camera)
            if channel is None:
                channel = self._channels[camera] = LiveChannel(camera, self.settings, self.mode)
            return channel

    # -- consumer side ----------------------------------------------------------------------------
    def _existing(self, camera: str) -> LiveChannel:
        with self._lock:
            channel = self._channels.get(camera)
        if channel is None:
            raise LiveUnavailable(f"camera {camera!r} is not relayed by this recorder")
        return channel

    def cameras(self) -> list[LiveStatus]:
        with self._lock:
            channels = list(self._channels.values())
        return [LiveStatus(channel.camera, channel.live, channel.subscribers) for channel in channels]

    def subscribe(self, camera: str, timeout: float = 5.0) -> Subscription:
        """Join a camera's live feed; waits up to ``timeout`` for its init segment.

        Raises :class:`LiveUnavailable` if the camera is unknown or sends nothing in time.
        """
        return self._existing(camera).subscribe(timeout)

    async def subscribe_async(self, camera: str, timeout: float = 5.0) -> Subscription:
        return await asyncio.to_thread(self.subscribe, camera, timeout)

    def hls_playlist(self, camera: str, wait: float = 0.0) -> str:
        """The live HLS playlist (fMP4 segments, ``init-<generation>.mp4`` maps, relative URIs).

        ``wait``: seconds to wait for a first segment when nobody was watching the camera.
        """
        return self._existing(camera).hls_playlist(wait)

    def hls_part(self, camera: str, name: str) -> bytes:
        """An init segment or a media segment named by the playlist; LiveUnavailable once out of the window."""
        return self._existing(camera).hls_part(name)
