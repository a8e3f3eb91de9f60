"""Camera leases in a NATS JetStream key-value bucket, for recorder workers spread over hosts.

Why: with the embedded stack one recorder holds every camera and the ``camera_health`` row's
heartbeat is its lease. Spread over workers, a lease should expire on its own when its holder dies,
without a database clock: a KV bucket with a TTL does exactly that. Key
``camera.<installation>.<camera id>`` (installations sharing a NATS never collide), value the worker
id. A worker takes a free camera with ``create`` (refused while the key exists) and renews it every
``renew_seconds`` with ``update`` on the revision it holds (refused if anybody else wrote the key
meanwhile). A worker that dies stops renewing: its keys expire after ``ttl_seconds`` and another
worker's ``create`` succeeds.

The ``camera_health`` row still carries health and the holder's last heartbeat, which the gap and
recovery logic uses (the dead holder's open recording is sealed as interrupted, a "recorder-down"
gap opens): :class:`NatsLeasedHealthStore` is the recorder's :class:`HealthStore` with the KV lease
deciding who may hold a camera, and the row then taken over without waiting for the DB lease.

Balance: each worker also keeps ``worker.<id>`` alive with the number of cameras it holds; a free
camera is left a few rounds to a less loaded live worker. Cameras already held are not moved.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from typing import Any

from sqlalchemy import update

from vigie.catalog.camera_models import CameraHealth
from vigie.catalog.db import Catalog
from vigie.catalog.types import utcnow
from vigie.events.bus import _LoopThread
from vigie.ingest.cameras.health import HealthSnapshot, HealthStore, Lease

log = logging.getLogger(__name__)

BUCKET = "vigie_camera_leases"
TTL_SECONDS = 6.0
RENEW_SECONDS = 2.0
DEFER_ROUNDS = 3  # a free camera is left this many attempts to a less loaded worker


def _token(text: str) -> str:
    return re.sub(r"[^-_=a-zA-Z0-9]", "_", text)


class NatsCameraLeases:
    """The KV bucket of camera leases of one worker: take, renew (in the background), release."""

    def __init__(
        self,
        url: str,
        worker_id: str,
        *,
        namespace: str = "default",
        bucket: str = BUCKET,
        ttl_seconds: float = TTL_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        import nats
        from nats.js.api import KeyValueConfig

        self.worker_id = worker_id
        self.namespace = _token(namespace)
        self.ttl_seconds = ttl_seconds
        self.renew_seconds = renew_seconds
        self._loop = _LoopThread("vigie-leases")
        self._nc: Any = self._loop.run(nats.connect(url, name=f"vigie-leases-{worker_id}", max_reconnect_attempts=-1))
        js = self._nc.jetstream()
        self._kv: Any = self._loop.run(js.create_key_value(KeyValueConfig(bucket=bucket, ttl=ttl_seconds, history=1)))
        self._held: dict[int, int] = {}  # camera id -> revision of our last write
        self._lost: set[int] = set()
        self._loads: dict[str, int] = {}  # live worker -> cameras held
        self._loads_at = 0.0
        self._deferred: dict[int, int] = {}
        self._lock = threading.Lock()
        self._take_lock = threading.Lock()
        self._loop.run(self._announce())
        self._renewer = asyncio.run_coroutine_threadsafe(self._renew_forever(), self._loop.loop)

    def key(self, camera_id: int) -> str:
        return f"camera.{self.namespace}.{camera_id}"

    @property
    def presence_key(self) -> str:
        return f"worker.{self.namespace}.{_token(self.worker_id)}"

    # -- called from camera threads ---------------------------------------------------------------
    def take(self, camera_id: int) -> tuple[bool, str | None]:
        """(True, None) if we hold the camera now; (False, holder) if a live worker has it."""
        # One take at a time in this process (so loads stay honest); ``_lock`` only guards the dicts and
        # is never held while waiting on the event loop, whose renewal task takes it too.
        with self._take_lock:
            with self._lock:
                if camera_id in self._held:
                    return True, None
            if self._should_defer(camera_id):
                return False, "a less loaded worker"
            try:
                revision = self._loop.run(self._kv.create(self.key(camera_id), self.worker_id.encode()))
            except Exception as error:
                holder = self.holder(camera_id)
                if holder is None:
                    log.debug("camera %s: lease not taken: %s", camera_id, error)
                return False, holder
            with self._lock:
                self._held[camera_id] = revision
                self._lost.discard(camera_id)
            self._deferred.pop(camera_id, None)
            self._loop.run(self._announce())
            return True, None

    def holder(self, camera_id: int) -> str | None:
        try:
            entry = self._loop.run(self._kv.get(self.key(camera_id)))
        except Exception:
            return None
        return entry.value.decode() if entry.value else None

    def release(self, camera_id: int) -> None:
        with self._lock:
            revision = self._held.pop(camera_id, None)
        if revision is not None:
            try:
                self._loop.run(self._kv.delete(self.key(camera_id), last=revision))
            except Exception:
                log.debug("camera %s: lease already gone", camera_id, exc_info=True)

    def forget(self, camera_id: int) -> None:
        """We lost the camera: never renew it again."""
        with self._lock:
            self._held.pop(camera_id, None)

    def take_lost(self) -> set[int]:
        with self._lock:
            lost, self._lost = self._lost, set()
        return lost

    @property
    def held(self) -> set[int]:
        with self._lock:
            return set(self._held)

    def close(self) -> None:
        self._renewer.cancel()
        for camera_id in list(self.held):
            self.release(camera_id)
        try:
            self._loop.run(self._kv.delete(self.presence_key))
            self._loop.run(self._nc.drain())
        except Exception:
            log.debug("closing the lease connection failed", exc_info=True)
        self._loop.stop()

    # -- internals ----------------------------------------------------------------------------------
    def _should_defer(self, camera_id: int) -> bool:
        if time.monotonic() - self._loads_at > 0.5:
            self._loads = self._loop.run(self._read_loads())
            self._loads_at = time.monotonic()
        others = [load for worker, load in self._loads.items() if worker != self.worker_id]
        if not others or len(self._held) <= min(others):
            return False
        rounds = self._deferred.get(camera_id, 0)
        if rounds >= DEFER_ROUNDS:
            return False
        self._deferred[camera_id] = rounds + 1
        return True

    async def _read_loads(self) -> dict[str, int]:
        from nats.js.errors import NoKeysError

        try:
            keys = await self._kv.keys()  # no server-side filter: NATS < 2.10 ignores it
        except NoKeysError:
            return {}
        prefix = f"worker.{self.namespace}."
        loads: dict[str, int] = {}
        for key in (key for key in keys if key.startswith(prefix)):
            try:
                entry = await self._kv.get(key)
                payload = json.loads(entry.value or b"{}")
                loads[str(payload["id"])] = int(payload["cameras"])
            except Exception:
                continue
        return loads

    async def _announce(self) -> None:
        payload = json.dumps({"id": self.worker_id, "cameras": len(self._held)}).encode()
        await self._kv.put(self.presence_key, payload)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                await self._renew()
            except Exception:
                log.exception("lease renewal failed")

    async def _renew(self) -> None:
        with self._lock:
            held = dict(self._held)
        for camera_id, revision in held.items():
            try:
                new_revision = await self._kv.update(self.key(camera_id), self.worker_id.encode(), last=revision)
            except Exception as error:
                log.error("camera %s: lease lost (%s)", camera_id, error)
                with self._lock:
                    if self._held.get(camera_id) == revision:
                        del self._held[camera_id]
                        self._lost.add(camera_id)
                continue
            with self._lock:
                if camera_id in self._held:
                    self._held[camera_id] = new_revision
        await self._announce()


class NatsLeasedHealthStore(HealthStore):
    """The recorder's health store with the NATS KV lease as the authority on who holds a camera."""

    def __init__(self, catalog: Catalog, recorder_id: str, lease_seconds: float, leases: NatsCameraLeases) -> None:
        super().__init__(catalog, recorder_id, lease_seconds)
        self.leases = leases

    def acquire(self, camera_id: int) -> Lease:
        taken, holder = self.leases.take(camera_id)
        if not taken:
            return Lease(False, holder, None)
        # We hold the KV lease: whoever the row names is dead (or has lost the camera). Take the row
        # at once, keeping its last heartbeat so the recovery accounts for the time nobody recorded.
        self._ensure_row(camera_id)
        with self.catalog.session() as session:
            row = session.get(CameraHealth, camera_id)
            assert row is not None
            previous, heartbeat = row.recorder_id, row.heartbeat_at
            session.execute(
                update(CameraHealth)
                .where(CameraHealth.camera_id == camera_id)
                .values(recorder_id=self.recorder_id, heartbeat_at=utcnow())
            )
        if previous == self.recorder_id:
            return Lease(True, None, None)
        return Lease(True, previous, heartbeat)

    def write(self, snapshots: dict[int, HealthSnapshot]) -> set[int]:
        lost = self.leases.take_lost() & set(snapshots)
        kept = {camera_id: snapshot for camera_id, snapshot in snapshots.items() if camera_id not in lost}
        lost_in_db = super().write(kept) if kept else set()
        for camera_id in lost_in_db:
            self.leases.forget(camera_id)
        return lost | lost_in_db

    def release(self, camera_id: int) -> None:
        super().release(camera_id)
        self.leases.release(camera_id)

    def mark_stopped(self, camera_id: int, cause: str | None) -> None:
        try:
            super().mark_stopped(camera_id, cause)
        finally:
            self.leases.release(camera_id)
