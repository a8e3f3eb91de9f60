"""Camera health: what each camera is doing now, measured, stored, and announced when it changes.

Each camera worker owns a :class:`CameraStatus` and updates it from its own thread (plain counter
increments, no lock on the packet path). The recorder's health loop samples every status each
period, turns counters into fps and bitrate, rewrites the ``camera_health`` rows and renews the
recorder's lease on its cameras. Up/down transitions are queued as :class:`HealthChange` events,
logged when they happen and handed to ``on_health_change`` callbacks by the health loop (never
on a camera's packet thread).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, Table, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError

from vigie.catalog.camera_models import CameraHealth
from vigie.catalog.db import Catalog
from vigie.catalog.types import utcnow

log = logging.getLogger(__name__)


class CameraState(StrEnum):
    CONNECTING = "connecting"  # opening the stream, or waiting for its first keyframe
    ONLINE = "online"  # packets flowing (``cause`` set if they cannot be stored)
    OFFLINE = "offline"  # unreachable, stalled, refused, unsupported: ``cause`` says which
    STANDBY = "standby"  # another recorder holds this camera
    STOPPED = "stopped"  # not recording on purpose (recorder stopped, camera disabled)


@dataclass(frozen=True)
class HealthChange:
    """A camera went down or came back."""

    camera: str
    up: bool
    state: CameraState
    cause: str | None
    detail: str | None
    at: datetime


@dataclass(frozen=True)
class HealthSnapshot:
    """One camera's health at a moment, as the health loop computed it."""

    camera: str
    state: CameraState
    cause: str | None
    detail: str | None
    state_since: datetime
    fps: float | None
    bitrate: float | None
    codec: str | None
    width: int | None
    height: int | None
    last_keyframe_at: datetime | None
    last_packet_at: datetime | None


def _at(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


class CameraStatus:
    """Live counters and state of one camera, written by its worker thread only."""

    def __init__(self, camera: str, events: queue.SimpleQueue[HealthChange]) -> None:
        self.camera = camera
        self._events = events
        self.state = CameraState.CONNECTING
        self.cause: str | None = None
        self.detail: str | None = None
        self.state_since = time.time()
        self.packets = 0
        self.bytes = 0
        self.last_packet_at: float | None = None
        self.last_keyframe_at: float | None = None
        self.codec: str | None = None
        self.width: int | None = None
        self.height: int | None = None
        self._up: bool | None = None  # unknown until the first verdict, so the first one is announced
        self._sampled = (time.monotonic(), 0, 0)

    def set_state(self, state: CameraState, cause: str | None = None, detail: str | None = None) -> None:
        if (state, cause, detail) == (self.state, self.cause, self.detail):
            return
        if state != self.state:
            self.state_since = time.time()
        self.state, self.cause, self.detail = state, cause, detail
        up = state is CameraState.ONLINE
        # "connecting" is not a verdict; "stopped"/"standby" are not failures worth an alarm.
        if state in (CameraState.ONLINE, CameraState.OFFLINE) and up != self._up:
            self._up = up
            change = HealthChange(self.camera, up, state, cause, detail, datetime.now(UTC))
            if up:
                log.info("camera %s is up", self.camera)
            else:
                log.warning("camera %s is down: %s (%s)", self.camera, cause, detail)
            self._events.put(change)

    def count(self, size: int, keyframe: bool, now: float) -> None:
        self.packets += 1
        self.bytes += size
        self.last_packet_at = now
        if keyframe:
            self.last_keyframe_at = now

    def sample(self) -> HealthSnapshot:
        """Rates since the previous sample (called by the health loop only)."""
        now = time.monotonic()
        then, packets, size = self._sampled
        self._sampled = (now, self.packets, self.bytes)
        elapsed = now - then
        online = self.state is CameraState.ONLINE
        fps = (self.packets - packets) / elapsed if online and elapsed > 0 else None
        bitrate = (self.bytes - size) * 8 / elapsed if online and elapsed > 0 else None
        return HealthSnapshot(
            camera=self.camera,
            state=self.state,
            cause=self.cause,
            detail=self.detail,
            state_since=datetime.fromtimestamp(self.state_since, UTC),
            fps=round(fps, 2) if fps is not None else None,
            bitrate=round(bitrate) if bitrate is not None else None,
            codec=self.codec,
            width=self.width,
            height=self.height,
            last_keyframe_at=_at(self.last_keyframe_at),
            last_packet_at=_at(self.last_packet_at),
        )


def recorder_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_is_dead_local_process(holder: str) -> bool:
    """A lease held by a process of this host that no longer exists can be taken at once."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A zombie (killed, not yet reaped by its parent) still answers signal 0; it holds nothing.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False


@dataclass(frozen=True)
class Lease:
    """The outcome of taking a camera: whether we hold it, and who held it before."""

    acquired: bool
    previous_holder: str | None
    previous_heartbeat: datetime | None

    @property
    def previous_holder_died(self) -> bool:
        return self.acquired and self.previous_holder is not None


class HealthStore:
    """The ``camera_health`` rows: health snapshots and the recorder lease on each camera."""

    def __init__(self, catalog: Catalog, recorder_id: str, lease_seconds: float) -> None:
        self.catalog = catalog
        self.recorder_id = recorder_id
        self.lease = timedelta(seconds=lease_seconds)

    @property
    def retry_seconds(self) -> float:
        """How long a camera another recorder holds waits before trying to take it again."""
        return max(1.0, self.lease.total_seconds() / 3)

    def _ensure_row(self, camera_id: int) -> None:
        with self.catalog.session() as session:
            if session.get(CameraHealth, camera_id) is not None:
                return
        try:
            with self.catalog.session() as session:
                session.add(CameraHealth(camera_id=camera_id, state="unknown"))
        except IntegrityError:
            pass  # created concurrently by another recorder

    def acquire(self, camera_id: int) -> Lease:
        """Take the camera unless another live recorder holds it (one atomic UPDATE decides)."""
        self._ensure_row(camera_id)
        now = utcnow()
        with self.catalog.session() as session:
            row = session.get(CameraHealth, camera_id)
            assert row is not None
            holder, heartbeat = row.recorder_id, row.heartbeat_at
        if holder == self.recorder_id:
            return Lease(True, None, None)
        claimable = [CameraHealth.recorder_id.is_(None), CameraHealth.heartbeat_at < now - self.lease]
        if holder is not None and _holder_is_dead_local_process(holder):
            claimable.append(CameraHealth.recorder_id == holder)
        with self.catalog.session() as session:
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(CameraHealth)
                .where(CameraHealth.camera_id == camera_id, or_(*claimable))
                .values(recorder_id=self.recorder_id, heartbeat_at=now)
            )
            taken = result.rowcount
        if not taken:
            return Lease(False, holder, heartbeat)
        return Lease(True, holder, heartbeat)

    def release(self, camera_id: int) -> None:
        with self.catalog.session() as session:
            session.execute(
                update(CameraHealth)
                .where(CameraHealth.camera_id == camera_id, CameraHealth.recorder_id == self.recorder_id)
                .values(recorder_id=None)
            )

    def write(self, snapshots: dict[int, HealthSnapshot]) -> set[int]:
        """Store snapshots and renew our lease on those cameras; returns the cameras whose lease we lost.

        One SELECT and one executemany UPDATE per period, whatever the number of cameras: with 200
        cameras every two seconds, ORM objects would cost more CPU than recording them.
        """
        now = utcnow()
        table = CameraHealth.__table__
        assert isinstance(table, Table)
        with self.catalog.session() as session:
            held = set(
                session.execute(
                    select(CameraHealth.camera_id).where(
                        CameraHealth.camera_id.in_(list(snapshots)), CameraHealth.recorder_id == self.recorder_id
                    )
                ).scalars()
            )
            rows = [
                {
                    "b_camera_id": camera_id,
                    "state": snapshot.state.value,
                    "cause": snapshot.cause,
                    "detail": snapshot.detail,
                    "state_since": snapshot.state_since,
                    "fps": snapshot.fps,
                    "bitrate": snapshot.bitrate,
                    "codec": snapshot.codec,
                    "width": snapshot.width,
                    "height": snapshot.height,
                    "last_keyframe_at": snapshot.last_keyframe_at,
                    "last_packet_at": snapshot.last_packet_at,
                    "heartbeat_at": now,
                    "updated_at": now,
                }
                for camera_id, snapshot in snapshots.items()
                if camera_id in held
            ]
            if rows:
                session.connection().execute(
                    update(table).where(
                        table.c.camera_id == bindparam("b_camera_id"), table.c.recorder_id == self.recorder_id
                    ),
                    rows,
                )
        return set(snapshots) - held

    def mark_stopped(self, camera_id: int, cause: str | None) -> None:
        with self.catalog.session() as session:
            session.execute(
                update(CameraHealth)
                .where(CameraHealth.camera_id == camera_id, CameraHealth.recorder_id == self.recorder_id)
                .values(
                    state=CameraState.STOPPED.value,
                    cause=cause,
                    detail=None,
                    fps=None,
                    bitrate=None,
                    state_since=utcnow(),
                    updated_at=utcnow(),
                    recorder_id=None,
                )
            )
