"""The live transmission server: camera fragments to browsers, from the recorder's one connection.

Viewers never reach a camera. The recorder's single connection per camera feeds the
:class:`~vigie.ingest.cameras.live.LiveHub` (fMP4 init + one fragment per frame, and a rolling
HLS window); this module hands that to people:

* ``/api/live/{camera}/ws`` — a WebSocket for Media Source Extensions players: a JSON ``init``
  message (codec string), the init segment, then binary fragments. Lowest latency.
* ``POST /api/live/{camera}/sessions`` then ``/api/live/{camera}/index.m3u8`` and its parts — HLS
  for hls.js (or Safari's own player) where a WebSocket cannot pass.

Accountability. Opening a viewing is ``live.view``: a reason, checked scope, a register entry
written before the first byte. Its end is written too (``live.view.end``: start, end, duration,
transport, bytes), so the register says who watched which camera from when to when. A WebSocket
viewing ends with its socket, or when the person's session ends (checked every few seconds); an
HLS viewing ends on ``DELETE`` or when its player stops asking for parts. HLS parts are
``live.stream``: they serve only a viewing already opened, by the same person, on the same camera.

Privacy masks. A masked camera is never relayed unmasked: its GOPs are re-encoded with the masks
(:class:`~vigie.privacy.transcode.MaskedTranscoder`), once per camera however many watch. That costs
latency: a GOP must be complete before it is masked, so a masked picture is about one GOP (1-2 s
on usual cameras) plus the re-encode behind the camera (measured per 1-s GOP at 25 fps on one
busy core: 0.11 s at 640x360, 0.31 s at 1280x720), against ~0.35 s on screen for an unmasked
camera. If a mask is added while someone watches unmasked, the viewing is closed (code 4409) and
the player reopens it, masked. See docs/design/live-view.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

import anyio
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, WebSocket
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from vigie.access import policy
from vigie.access.audit import Actor, AuditRecord
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action
from vigie.catalog.types import iso
from vigie.ingest.cameras.live import LiveFragment, LiveHub, LiveUnavailable, LoopWaiter
from vigie.privacy.masks import PrivacyMask
from vigie.privacy.transcode import DELIVERY, MaskedTranscoder, TranscodeError
from vigie.web import i18n
from vigie.web.layout import h, shell
from vigie.web.routes.cameras import camera_target
from vigie.web.security import SESSION_COOKIE, Access, Requirement, Target, require, services_of
from vigie.web.services import Services

router = APIRouter(prefix="/api/live", tags=["live"])
pages = APIRouter(include_in_schema=False)
log = logging.getLogger("vigie.web")

SESSION_HEADER = "x-vigie-live-session"
JOIN_WAIT_SECONDS = 5.0  # a viewer joining waits this long for the camera's first keyframe, per try
CHECK_SECONDS = 5.0  # how often an open WebSocket viewing re-checks the person's session and the masks
HLS_IDLE_SECONDS = 20.0  # an HLS viewing whose player asked nothing for this long has ended
HLS_PLAYLIST_WAIT_SECONDS = 4.0
MASKED_QUEUE_GOPS = 4  # masked GOPs a slow viewer may lag behind before it skips to the newest
MASKED_IDLE_SECONDS = 10.0  # a masked relay nobody watches stops re-encoding after this
MASKED_CACHE_PARTS = 64

# WebSocket close codes: 4000 + the HTTP status a request would have got, or these.
CLOSE_MASKS_CHANGED = 4409
CLOSE_SESSION_ENDED = 4401


# -- fMP4 helpers ---------------------------------------------------------------------------------------


def top_boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """The top-level boxes of an MP4 piece as (type, bytes)."""
    boxes: list[tuple[bytes, bytes]] = []
    position = 0
    while len(data) - position >= 8:
        size, kind = struct.unpack_from(">I4s", data, position)
        if size == 1 and len(data) - position >= 16:
            size = struct.unpack_from(">Q", data, position + 8)[0]
        elif size == 0:
            size = len(data) - position
        if size < 8 or position + size > len(data):
            break
        boxes.append((kind, data[position : position + size]))
        position += size
    return boxes


def split_fmp4(data: bytes) -> tuple[bytes, bytes]:
    """(init = ftyp+moov, media = every moof+mdat) of a fragmented MP4; the random-access index is dropped."""
    init = b"".join(box for kind, box in top_boxes(data) if kind in (b"ftyp", b"moov"))
    media = b"".join(box for kind, box in top_boxes(data) if kind in (b"moof", b"mdat"))
    return init, media


def codec_string(init: bytes) -> str:
    """The RFC 6381 codec string a Media Source needs, read from the init segment's decoder configuration."""
    at = init.find(b"avcC")
    if at >= 0 and len(init) >= at + 8:
        return f"avc1.{init[at + 5]:02x}{init[at + 6]:02x}{init[at + 7]:02x}"
    if init.find(b"hvcC") >= 0:
        return "hvc1.1.6.L120.90"  # Main profile; browsers that play HEVC accept it for any level here
    return "avc1.42e01e"


# -- masked relay: one re-encode per masked camera, shared by its viewers -------------------------------


class Feed(Protocol):
    """What a viewing reads: the hub's :class:`Subscription` or a masked relay's viewer."""

    init: bytes

    @property
    def closed(self) -> bool: ...

    async def aget(self, timeout: float | None = None) -> LiveFragment | None: ...

    def close(self) -> None: ...


class MaskedViewer:
    """One viewer of a masked relay: whole masked GOPs, oldest dropped when it falls behind."""

    def __init__(self, relay: MaskedRelay, init: bytes) -> None:
        self.relay = relay
        self.init = init
        self.dropped = 0
        self._items: deque[LiveFragment] = deque()
        self._lock = threading.Lock()
        self._loop_waiter = LoopWaiter()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def offer(self, fragment: LiveFragment) -> None:
        with self._lock:
            if self._closed:
                return
            media = [item for item in self._items if item.kind == "media"]
            if fragment.kind == "media" and len(media) >= MASKED_QUEUE_GOPS:
                # Each item is a whole GOP starting on a keyframe: dropping the oldest keeps it decodable.
                self._items.remove(media[0])
                self.dropped += 1
            self._items.append(fragment)
        self._loop_waiter.wake()

    async def aget(self, timeout: float | None = None) -> LiveFragment | None:
        return await self._loop_waiter.take(self._lock, self._items, lambda: self._closed, timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._loop_waiter.wake()
        self.relay.leave(self)


class MaskedRelay:
    """Subscribes once to a masked camera's live feed, masks each GOP once, hands it to every viewer."""

    def __init__(self, hub: LiveHub, camera: str, masks: Callable[[], tuple[PrivacyMask, ...]]) -> None:
        self.hub = hub
        self.camera = camera
        self.masks = masks
        self.transcoded = 0  # GOPs re-encoded (tests and metrics)
        self.encode_seconds = 0.0
        self._viewers: set[MaskedViewer] = set()
        self._lock = threading.Condition()
        self._init = b""
        self._latest: LiveFragment | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle_since: float | None = None

    def join(self, timeout: float) -> MaskedViewer:
        """A new viewer, starting on the latest masked GOP; LiveUnavailable if none comes in time."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name=f"live-mask-{self.camera}", daemon=True)
                self._thread.start()
            self._idle_since = None
            deadline = time.monotonic() + timeout
            while not self._init and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            if not self._init:
                raise LiveUnavailable(f"camera {self.camera!r} is not streaming")
            viewer = MaskedViewer(self, self._init)
            self._viewers.add(viewer)
            if self._latest is not None:
                viewer.offer(self._latest)
            return viewer

    def leave(self, viewer: MaskedViewer) -> None:
        with self._lock:
            self._viewers.discard(viewer)
            if not self._viewers:
                self._idle_since = time.monotonic()

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(5)

    def _idle(self) -> bool:
        with self._lock:
            return (
                not self._viewers
                and self._idle_since is not None
                and time.monotonic() - self._idle_since > MASKED_IDLE_SECONDS
            )

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self._idle():
                try:
                    subscription = self.hub.subscribe(self.camera, timeout=JOIN_WAIT_SECONDS)
                except LiveUnavailable:
                    self._stop.wait(1.0)
                    continue
                with subscription:
                    self._relay(subscription.init, subscription)
        except Exception:
            log.exception("camera %s: masked live relay failed", self.camera)
        finally:
            with self._lock:
                self._init = b""
                self._latest = None
                self._thread = None

    def _relay(self, raw_init: bytes, subscription: Any) -> None:
        gop: list[LiveFragment] = []
        while not self._stop.is_set() and not self._idle():
            fragment = subscription.get(timeout=1.0)
            if fragment is None:
                if subscription.closed:
                    return
                continue
            if fragment.kind == "init":  # the camera reconnected: a new stream, a new GOP
                raw_init, gop = fragment.data, []
                continue
            if fragment.keyframe and gop:
                self._emit(raw_init, gop)
                gop = []
            if gop or fragment.keyframe:
                gop.append(fragment)

    def _emit(self, raw_init: bytes, gop: list[LiveFragment]) -> None:
        started = time.perf_counter()
        masks = self.masks()
        try:
            # No mask left (removed meanwhile): the transcoder passes the camera's bytes through.
            masked = MaskedTranscoder(masks, DELIVERY).segment(raw_init + b"".join(item.data for item in gop))
        except TranscodeError:
            log.warning("camera %s: a live GOP could not be masked; it is not sent", self.camera)
            return
        init, media = split_fmp4(masked)
        self.transcoded += 1
        self.encode_seconds += time.perf_counter() - started
        first = gop[0]
        fragment = LiveFragment(
            "media", media, first.generation, first.sequence, True, first.media_time,
            sum(item.duration for item in gop), first.received_at,
        )
        with self._lock:
            changed = init != self._init
            self._init = init
            self._latest = fragment
            viewers = list(self._viewers)
            self._lock.notify_all()
        for viewer in viewers:
            if changed and viewer.init != init:
                viewer.init = init
                viewer.offer(LiveFragment("init", init, first.generation, -1, False, 0.0, 0.0, time.time()))
            viewer.offer(fragment)


# -- viewings and their register entries ------------------------------------------------------------------


@dataclass(eq=False)  # compared and hashed by identity: viewings live in sets
class Viewing:
    """One person watching one camera live, from the register's point of view."""

    camera: str
    actor: Actor
    username: str
    reason: str | None
    purpose: str | None
    transport: str
    masked: bool
    opened_entry: int | None
    started: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.monotonic)
    fragments: int = 0
    bytes: int = 0
    token: str = ""
    ended: bool = False

    def record_end(self, why: str) -> AuditRecord:
        ended = time.time()
        return AuditRecord(
            action="live.view.end",
            object_type="camera",
            object_ids=[self.camera],
            reason=self.reason,
            details={
                "category": "consultation",
                "transport": self.transport,
                "masked": self.masked,
                "started_at": iso(datetime.fromtimestamp(self.started, UTC)),
                "ended_at": iso(datetime.fromtimestamp(ended, UTC)),
                "duration_seconds": round(ended - self.started, 1),
                "opened_entry": self.opened_entry,
                "fragments": self.fragments,
                "bytes": self.bytes,
                "end": why,
            },
        )


def _viewing(access: Access, camera: str, transport: str, masked: bool) -> Viewing:
    justification = access.justification
    return Viewing(
        camera=camera,
        actor=access.actor(),
        username=access.user.username,
        reason=justification.reason if justification else None,
        purpose=justification.purpose.value if justification and justification.purpose else None,
        transport=transport,
        masked=masked,
        opened_entry=access.entry_id,
    )


class LiveState:
    """This application's live viewings and masked relays (one per process, on ``app.state``)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.relays: dict[str, MaskedRelay] = {}
        self.hls: dict[str, Viewing] = {}
        self.sockets: set[Viewing] = set()
        self._masked_parts: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._masked_inits: dict[tuple[str, int], bytes] = {}
        self._lock = threading.Lock()
        self._camera_locks: dict[str, threading.Lock] = {}
        self._sweeper: asyncio.Task[None] | None = None

    # -- the register ---------------------------------------------------------------------------------
    def end(self, viewing: Viewing, why: str) -> None:
        """Write the end of a viewing once (blocking: call from a thread)."""
        with self._lock:
            if viewing.ended:
                return
            viewing.ended = True
            self.hls.pop(viewing.token, None)
            self.sockets.discard(viewing)
        self.services.audit.append(viewing.actor, viewing.record_end(why))
        self.services.metrics.count(
            "vigie_live_viewings_total", "Live viewings ended (each has a start and an end in the register).",
            transport=viewing.transport,
        )

    # -- masks --------------------------------------------------------------------------------------------
    def masks(self, camera: str) -> tuple[PrivacyMask, ...]:
        return self.services.masks.masks(camera).masks

    def relay(self, camera: str) -> MaskedRelay:
        with self._lock:
            relay = self.relays.get(camera)
            if relay is None:
                relay = self.relays[camera] = MaskedRelay(self.services.hub, camera, lambda: self.masks(camera))
            return relay

    def camera_lock(self, camera: str) -> threading.Lock:
        with self._lock:
            return self._camera_locks.setdefault(camera, threading.Lock())

    def masked_part(self, camera: str, name: str) -> bytes:
        """An HLS part of a masked camera: each raw segment re-encoded once, init segments derived from it."""
        hub = self.services.hub
        with self.camera_lock(camera):
            cached = self._masked_parts.get((camera, name))
            if cached is not None:
                return cached
            generations = _segment_generations(hub.hls_playlist(camera))
            if name.startswith("init-"):
                generation = int(name[5:-4]) if name[5:-4].isdigit() else -1
                if (camera, generation) in self._masked_inits:
                    return self._masked_inits[(camera, generation)]
                names = [segment for segment, gen in generations.items() if gen == generation]
                if not names:
                    raise LiveUnavailable(f"{name} is not in the live window of camera {camera!r}")
                self._mask_segment(camera, names[-1], generation)
                return self._masked_inits[(camera, generation)]
            if name not in generations:
                raise LiveUnavailable(f"{name} is not in the live window of camera {camera!r}")
            return self._mask_segment(camera, name, generations[name])

    def _mask_segment(self, camera: str, name: str, generation: int) -> bytes:
        hub = self.services.hub
        raw = hub.hls_part(camera, f"init-{generation}.mp4") + hub.hls_part(camera, name)
        init, media = split_fmp4(MaskedTranscoder(self.masks(camera), DELIVERY).segment(raw))
        # One encoder configuration per camera: every masked segment of a generation has this same init.
        self._masked_inits.setdefault((camera, generation), init)
        self._masked_parts[(camera, name)] = media
        while len(self._masked_parts) > MASKED_CACHE_PARTS:
            self._masked_parts.popitem(last=False)
        return media

    # -- HLS viewings ---------------------------------------------------------------------------------
    def open_hls(self, viewing: Viewing) -> str:
        viewing.token = secrets.token_urlsafe(24)
        with self._lock:
            self.hls[viewing.token] = viewing
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        return viewing.token

    def hls_viewing(self, token: str | None, camera: str, username: str) -> Viewing:
        viewing = self.hls.get(token or "")
        # Someone else's viewing, or another camera's, is as unknown as a made-up one.
        if viewing is None or viewing.ended or viewing.camera != camera or viewing.username != username:
            raise AccessRefusal("not_found", "no such live viewing open: open one with a reason first", 404)
        viewing.last_seen = time.monotonic()
        return viewing

    async def _sweep(self) -> None:
        while self.hls:
            await asyncio.sleep(HLS_IDLE_SECONDS / 4)
            now = time.monotonic()
            for viewing in [v for v in list(self.hls.values()) if now - v.last_seen > HLS_IDLE_SECONDS]:
                await run_in_threadpool(self.end, viewing, "player stopped asking (idle)")

    async def shutdown(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for viewing in list(self.hls.values()):
            await run_in_threadpool(self.end, viewing, "server stopped")
        for relay in list(self.relays.values()):
            await run_in_threadpool(relay.stop)


def live_state(app: FastAPI) -> LiveState:
    state = getattr(app.state, "live", None)
    if state is None:
        state = app.state.live = LiveState(app.state.services)
    assert isinstance(state, LiveState)
    return state


async def shutdown(app: FastAPI) -> None:
    """Called by the application's lifespan: HLS viewings still open end with the server."""
    state = getattr(app.state, "live", None)
    if isinstance(state, LiveState):
        await state.shutdown()


def _segment_generations(playlist: str) -> dict[str, int]:
    """Segment name → generation, from the hub's playlist (each generation's segments follow its map)."""
    found: dict[str, int] = {}
    generation = -1
    for line in playlist.splitlines():
        if line.startswith('#EXT-X-MAP:URI="init-'):
            digits = line.split("init-", 1)[1].split(".", 1)[0]
            generation = int(digits) if digits.isdigit() else -1
        elif line and not line.startswith("#"):
            found[line] = generation
    return found


# -- the target: a camera this server relays ----------------------------------------------------------


def live_target(request: Request, services: Services) -> Target:
    """The camera (scope-checked) and whether this server relays it; masked or not, told to the register."""
    target = camera_target(request, services)
    name = target.object_ids[0]
    relayed = any(status.camera == name for status in services.hub.cameras())
    transport = "websocket" if request.url.path.endswith("/ws") else "hls"
    masked = bool(services.masks.masks(name))
    details = {"transport": transport, "masked": masked}
    if not relayed:
        refusal = AccessRefusal("not_live", f"camera {name} is not relayed live by this server", 503)
        return replace(target, unavailable=refusal, details=details)
    return replace(target, details=details)


@dataclass(frozen=True)
class LiveOpening:
    """A WebSocket waiting for its reason; :meth:`grant` is the ``live.view`` door for it."""

    requirement: Requirement
    websocket: WebSocket

    def grant(self, reason: str | None, purpose: str | None) -> Access | AccessRefusal:
        """Authenticate, check policy and scope, check the reason, write the register entry (blocking).

        A refusal is returned, not raised, so the socket can say why (close code 4000 + status);
        it is in the register all the same.
        """
        # Cross-site WebSocket hijacking: a page of another origin must not open a viewing with our cookie.
        origin = self.websocket.headers.get("origin")
        host = self.websocket.headers.get("host")
        if origin is not None and host is not None and origin.split("://", 1)[-1] != host:
            return AccessRefusal("csrf", "a live viewing must be opened from this site's pages", 403)
        request = Request({**self.websocket.scope, "type": "http", "method": "GET"})
        try:
            return self.requirement.grant(request, {"reason": reason, "purpose": purpose})
        except AccessRefusal as refusal:
            return refusal


class LiveSocketRequirement(Requirement):
    """``live.view`` for a WebSocket: the same door as every route, opened by the socket's first message.

    The reason travels in that message (``{"type": "open", "reason": ..., "purpose": ...}``), never in
    the URL: servers and proxies log WebSocket URLs whatever the access-log setting, and a reason is
    personal data that belongs in the register only.
    """

    def __call__(self, websocket: WebSocket) -> LiveOpening:
        return LiveOpening(self, websocket)


LIVE_SOCKET = LiveSocketRequirement(Action.LIVE_VIEW, target=live_target)
OPEN_WAIT_SECONDS = 10.0  # a socket that states no reason in this time is closed (nothing was asked)


def _token(websocket: WebSocket) -> str | None:
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return websocket.cookies.get(SESSION_COOKIE)


async def _join(state: LiveState, camera: str, masked: bool) -> Feed:
    if masked:
        return await run_in_threadpool(state.relay(camera).join, JOIN_WAIT_SECONDS)
    return await state.services.hub.subscribe_async(camera, timeout=JOIN_WAIT_SECONDS)


async def _pump(websocket: WebSocket, state: LiveState, viewing: Viewing, token: str | None) -> str:
    """Send init and fragments until something ends the viewing; returns why it ended."""
    feed: Feed | None = None
    next_check = time.monotonic() + CHECK_SECONDS

    async def refused() -> str | None:
        nonlocal next_check
        if time.monotonic() < next_check:
            return None
        next_check = time.monotonic() + CHECK_SECONDS
        why = await run_in_threadpool(_still_allowed, state, viewing, token)
        if why is not None:
            code = CLOSE_MASKS_CHANGED if why == "masks changed" else CLOSE_SESSION_ENDED
            await websocket.close(code=code, reason=why.replace(" ", "_"))
        return why

    try:
        while feed is None:
            try:
                feed = await _join(state, viewing.camera, viewing.masked)
            except LiveUnavailable:
                # The camera is down right now: keep the viewing open (one entry, not one per retry).
                await websocket.send_json({"type": "status", "state": "waiting"})
                if (why := await refused()) is not None:
                    return why
        await websocket.send_json(
            {"type": "init", "codec": codec_string(feed.init), "masked": viewing.masked, "camera": viewing.camera}
        )
        await websocket.send_bytes(feed.init)
        while True:
            fragment = await feed.aget(timeout=CHECK_SECONDS)
            if (why := await refused()) is not None:
                return why
            if fragment is None:
                if feed.closed:  # the relay went away (server stopping): nothing more will come
                    return "relay stopped"
                continue
            if fragment.kind == "init":
                await websocket.send_json({"type": "init", "codec": codec_string(fragment.data),
                                           "masked": viewing.masked, "camera": viewing.camera})
            await websocket.send_bytes(fragment.data)
            viewing.fragments += 1
            viewing.bytes += len(fragment.data)
    finally:
        if feed is not None:
            feed.close()


def _still_allowed(state: LiveState, viewing: Viewing, token: str | None) -> str | None:
    if bool(state.masks(viewing.camera)) != viewing.masked:
        return "masks changed"
    try:
        if token is None:
            return "session ended"
        state.services.sessions.resolve(token)
    except AccessRefusal:
        return "session ended"
    return None


async def _watch(websocket: WebSocket) -> str:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return "closed by the viewer"


@router.websocket("/{camera}/ws")
async def live_socket(
    websocket: WebSocket, camera: str, opening: Annotated[LiveOpening, Depends(LIVE_SOCKET)]
) -> None:
    """Live fMP4 for Media Source players.

    The client sends ``{"type": "open", "reason": "...", "purpose": null}``; the server answers a JSON
    ``init`` message (codec string), the init segment, then binary fragments (JSON ``status`` while
    the camera is away). A refusal is a JSON ``refused`` message and close code 4000 + HTTP status.
    """
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive_json(), OPEN_WAIT_SECONDS)
    except (TimeoutError, ValueError, KeyError, WebSocketDisconnect, RuntimeError):
        first = None
    if not isinstance(first, dict) or first.get("type") != "open":
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(code=4400, reason="open_expected")
        return
    reason, purpose = first.get("reason"), first.get("purpose")
    granted = await run_in_threadpool(
        opening.grant, reason if isinstance(reason, str) else None, purpose if isinstance(purpose, str) else None
    )
    if isinstance(granted, AccessRefusal):
        await websocket.send_json({"type": "refused", "code": granted.code, "detail": granted.message})
        await websocket.close(code=4000 + granted.status, reason=granted.code)
        return
    state = live_state(websocket.app)
    target = granted.target
    assert target is not None
    viewing = _viewing(granted, target.object_ids[0], "websocket", bool(target.details.get("masked")))
    state.sockets.add(viewing)
    pump = asyncio.ensure_future(_pump(websocket, state, viewing, _token(websocket)))
    watch = asyncio.ensure_future(_watch(websocket))
    why = "server stopped"
    try:
        done, _ = await asyncio.wait({pump, watch}, return_when=asyncio.FIRST_COMPLETED)
        finished = done.pop()
        error = finished.exception()
        if error is None:
            why = finished.result()
        elif isinstance(error, WebSocketDisconnect | RuntimeError | ConnectionError):
            why = "closed by the viewer"
        else:
            log.error("live viewing of %s failed", viewing.camera, exc_info=error)
            why = "server error"
    finally:
        # Shielded: even when the connection's task is cancelled (client gone, server stopping), the
        # end of the viewing must reach the register.
        with anyio.CancelScope(shield=True):
            for task in (pump, watch):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await run_in_threadpool(state.end, viewing, why)
            if websocket.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await websocket.close(code=1000)


# -- HLS ---------------------------------------------------------------------------------------------------


class LiveSessionOut(BaseModel):
    session: str = Field(description="Send it as X-Vigie-Live-Session (or ?session=) with the playlist and parts.")
    playlist: str
    masked: bool
    idle_seconds: float = Field(description="The viewing ends when its player asks nothing for this long.")


@router.post("/{camera}/sessions", status_code=201, responses={503: {}})
async def open_hls(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.LIVE_VIEW, target=live_target))],
) -> LiveSessionOut:
    """Open an HLS live viewing (reason required, in the register); then play ``playlist``."""
    state = live_state(request.app)
    assert access.target is not None
    masked = bool(access.target.details.get("masked"))
    viewing = _viewing(access, access.target.object_ids[0], "hls", masked)
    token = state.open_hls(viewing)
    return LiveSessionOut(
        session=token,
        playlist=f"/api/live/{viewing.camera}/index.m3u8?session={token}",
        masked=masked,
        idle_seconds=HLS_IDLE_SECONDS,
    )


SessionQuery = Annotated[str | None, Query(alias="session", description="The live viewing's session.")]
SessionHeader = Annotated[str | None, Header(alias=SESSION_HEADER)]


def _hls_viewing(request: Request, access: Access, camera: str, query: str | None, header: str | None) -> Viewing:
    state = live_state(request.app)
    viewing = state.hls_viewing(header or query, camera, access.user.username)
    if bool(state.masks(camera)) != viewing.masked:
        state.end(viewing, "masks changed")
        raise AccessRefusal("masks_changed", "the camera's privacy masks changed: open the viewing again", 409)
    return viewing


@router.delete("/{camera}/sessions/{session}", status_code=204, response_class=Response)
def close_hls(
    camera: str,
    session: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.LIVE_STREAM))],
) -> Response:
    """End an HLS live viewing now (the register gets its end)."""
    state = live_state(request.app)
    viewing = state.hls_viewing(session, camera, access.user.username)
    state.end(viewing, "closed by the viewer")
    return Response(status_code=204)


HLS_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {"application/vnd.apple.mpegurl": {}}}}


@router.get("/{camera}/index.m3u8", response_class=Response, responses=HLS_RESPONSES)
def hls_playlist(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.LIVE_STREAM))],
    session: SessionQuery = None,
    header: SessionHeader = None,
) -> Response:
    """The live playlist of an open viewing (fMP4 parts, built from the recorder's one connection)."""
    viewing = _hls_viewing(request, access, camera, session, header)
    try:
        text = live_state(request.app).services.hub.hls_playlist(camera, wait=HLS_PLAYLIST_WAIT_SECONDS)
    except LiveUnavailable as error:
        raise AccessRefusal("not_live", str(error), 503) from None
    # Relative URIs lose the query on resolution: carry the session on each one (players without headers).
    lines = []
    for line in text.splitlines():
        if line.startswith('#EXT-X-MAP:URI="'):
            line = line[:-1] + f'?session={viewing.token}"'
        elif line and not line.startswith("#"):
            line = f"{line}?session={viewing.token}"
        lines.append(line)
    return Response("\n".join(lines) + "\n", media_type="application/vnd.apple.mpegurl",
                    headers={"Cache-Control": "no-store"})


@router.get("/{camera}/{part}", response_class=Response, responses={200: {"content": {"video/mp4": {}}}})
def hls_part(
    camera: str,
    part: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.LIVE_STREAM))],
    session: SessionQuery = None,
    header: SessionHeader = None,
) -> Response:
    """An init segment (``init-N.mp4``) or media segment (``seg-N.m4s``) of the live playlist."""
    viewing = _hls_viewing(request, access, camera, session, header)
    if not (part.startswith("init-") and part.endswith(".mp4")) and not (
        part.startswith("seg-") and part.endswith(".m4s")
    ):
        raise AccessRefusal("not_found", f"no live part {part!r}", 404)
    state = live_state(request.app)
    try:
        data = state.masked_part(camera, part) if viewing.masked else state.services.hub.hls_part(camera, part)
    except LiveUnavailable as error:
        raise AccessRefusal("not_found", str(error), 404) from None
    except TranscodeError as error:
        raise AccessRefusal("not_live", f"this part could not be masked: {error}", 503) from None
    viewing.fragments += 1
    viewing.bytes += len(data)
    return Response(data, media_type="video/mp4", headers={"Cache-Control": "no-store"})


# -- the wall --------------------------------------------------------------------------------------------------


@pages.get("/live")
def wall_page(
    request: Request, access: Annotated[Access, Depends(require(Action.LIVE_STREAM, page=True))]
) -> Response:
    t = i18n.translator(request, services_of(request).settings.web.default_language)
    layouts = "".join(
        f'<button type="button" class="button" data-layout="{size}" aria-pressed="false">{size}×{size}</button>'
        for size in (2, 3)
    )
    reason_dialog = (
        '<dialog id="reason-dialog" class="card"><form id="reason-form" method="dialog" class="stack">'
        f'<h2>{h(t("wall.reason_title"))}</h2><p class="muted">{h(t("wall.reason_intro"))}</p>'
        f'<label>{h(t("recordings.reason"))}<input name="reason" id="wall-reason" required minlength="8" '
        'autocomplete="off"></label>'
        f'<div class="toolbar"><button type="submit" class="button primary" id="wall-start">'
        f'{h(t("wall.start"))}</button></div></form></dialog>'
    )
    content = (
        f'<p class="muted">{h(t("wall.intro"))}</p>'
        f'<div class="toolbar"><span class="muted">{h(t("wall.layout"))}</span>{layouts}'
        '<span class="spacer"></span>'
        f'<span id="wall-reason-shown" class="muted"></span>'
        f'<button type="button" class="button" id="wall-change-reason">{h(t("wall.change_reason"))}</button>'
        f'<button type="button" class="button danger" id="wall-stop">{h(t("wall.stop"))}</button></div>'
        '<section id="wall" class="wall" data-layout="2" '
        f'data-hls="{int(policy.allows(access.user.role, Action.LIVE_STREAM))}"></section>'
        f"{reason_dialog}"
    )
    return shell(
        request, access, t, title=t("wall.title"), content=content,
        scripts=("playback.js", "wall.js"),  # hls.js is loaded by wall.js only when it is needed
    )
