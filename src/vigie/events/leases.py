"""Camera leases in a NATS JetStream key-value bucket, for recorder workers spread over hosts.

Why: with the embedded stack one recorder holds every camera and the ``camera_health`` row's
heartbeat is its lease. Spread over workers, a lease should expire on its own when its holder dies,
without a database clock: a KV bucket with a TTL does exactly that. Key
``camera.<installation>.<camera id>`` (installations sharing a NATS never collide), value the worker
id. A worker takes a free camera with ``create`` (refused while the key exists) and renews it every
``renew_seconds`` with ``update`` on the revision it holds (refused if anybody else wrote the key
meanwhile). A worker that dies stops renewing: its keys expire after ``ttl_seconds`` and another
worker's ``create`` succeeds.

How fast a dead worker's cameras move (``recorder.nats_lease_*`` settings): the keys expire
``ttl - renew`` to ``ttl`` seconds after the death (3 s lease, 1 s renewal: 2 to 3 s), and each
camera another worker holds is looked at every ``poll_seconds`` with one KV read (NATS 2.9 sends no
watch notification when a key expires, hence the poll), then the camera's stream is opened. The
renewal writes every key at once (not one after another), so it stays well within the lease with
hundreds of cameras; a renewal that still comes too late takes the key again when nobody else did.

The ``camera_health`` row still carries health and the holder's last heartbeat, which the gap and
recovery logic uses (the dead holder's open recording is sealed as interrupted, a "recorder-down"
gap opens): :class:`NatsLeasedHealthStore` is the recorder's :class:`HealthStore` with the KV lease
deciding who may hold a camera, and the row then taken over without waiting for the DB lease. The
row also guards the KV: a worker whose row was taken stops recording, whatever its key says.

Balance: each worker also keeps ``worker.<id>`` alive with the number of cameras it holds; a free
camera is left a few seconds to a less loaded live worker. Cameras already held are not moved.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
# Defaults of the recorder.nats_lease_* settings (see vigie.config.RecorderSettings).
TTL_SECONDS = 3.0
RENEW_SECONDS = 1.0
POLL_SECONDS = 0.5
# A free camera is left this long to a less loaded worker (in time, not tries: tries follow the poll).
DEFER_SECONDS = 3.0
LOADS_MAX_AGE_SECONDS = 0.5  # worker loads read this recently are reused for the next free camera
STREAM_CONFIG_MISMATCH = 10058  # JetStream: "stream name already in use with a different configuration"


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
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        import nats

        if renew_seconds * 2 > ttl_seconds:
            raise ValueError("the renewal period must be at most half the lease")
        self.worker_id = worker_id
        self.namespace = _token(namespace)
        self.ttl_seconds = ttl_seconds
        self.renew_seconds = renew_seconds
        self.poll_seconds = poll_seconds
        self._loop = _LoopThread("vigie-leases")
        self._nc: Any = self._loop.run(nats.connect(url, name=f"vigie-leases-{worker_id}", max_reconnect_attempts=-1))
        self._kv: Any = self._loop.run(self._open_bucket(bucket))
        self._held: dict[int, int] = {}  # camera id -> revision of our last write
        self._lost: set[int] = set()
        self._loads: dict[str, int] = {}  # live worker -> cameras held
        self._loads_at = float("-inf")
        self._deferred: dict[int, float] = {}  # camera id -> when we first left it to another worker
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
        with self._lock:
            if camera_id in self._held:
                return True, None
        # Cameras held elsewhere are polled often: one KV read each, no lock, no write.
        free, holder = self._lookup(camera_id)
        if not free:
            with self._lock:
                self._deferred.pop(camera_id, None)  # when it is free again, a new balance decision
            return False, holder
        # One take at a time in this process (so loads stay honest); ``_lock`` only guards the dicts and
        # is never held while waiting on the event loop, whose renewal task takes it too.
        with self._take_lock:
            if self._should_defer(camera_id):
                return False, "a less loaded worker"
            try:
                revision = self._loop.run(self._kv.create(self.key(camera_id), self.worker_id.encode()))
            except Exception as error:
                _, holder = self._lookup(camera_id)
                if holder is None:
                    log.debug("camera %s: lease not taken: %s", camera_id, error)
                return False, holder
            with self._lock:
                self._held[camera_id] = revision
                self._lost.discard(camera_id)
                self._deferred.pop(camera_id, None)
            try:
                self._loop.run(self._announce())
            except Exception:
                log.debug("announcing our load failed (the next renewal does it)", exc_info=True)
        log.info("camera %s: lease taken", camera_id)
        return True, None

    def holder(self, camera_id: int) -> str | None:
        return self._lookup(camera_id)[1]

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
    async def _open_bucket(self, bucket: str) -> Any:
        from nats.js.api import KeyValueConfig
        from nats.js.errors import BadRequestError

        js = self._nc.jetstream()
        try:
            return await js.create_key_value(KeyValueConfig(bucket=bucket, ttl=self.ttl_seconds, history=1))
        except BadRequestError as error:
            if error.err_code != STREAM_CONFIG_MISMATCH:
                raise
        # The bucket exists with another TTL (an older default, or another setting): the TTL belongs to
        # the bucket, not to a key, so take ours; every node of an installation shares one settings file.
        info = await js.stream_info(f"KV_{bucket}")
        if info.config.max_age != self.ttl_seconds:
            log.warning("lease bucket %s: TTL %.1f s -> %.1f s", bucket, info.config.max_age, self.ttl_seconds)
            # JetStream refuses a duplicate window longer than the max age (KV buckets set it to the TTL).
            window = min(info.config.duplicate_window or self.ttl_seconds, self.ttl_seconds)
            await js.update_stream(dataclasses.replace(info.config, max_age=self.ttl_seconds, duplicate_window=window))
        return await js.key_value(bucket)

    def _lookup(self, camera_id: int) -> tuple[bool, str | None]:
        """(free, holder): free when the key is absent, deleted or expired; (False, None) if NATS fails."""
        from nats.js.errors import KeyDeletedError, KeyNotFoundError

        try:
            entry = self._loop.run(self._kv.get(self.key(camera_id)))
        except (KeyNotFoundError, KeyDeletedError):
            return True, None
        except Exception:
            log.debug("camera %s: lease unreadable", camera_id, exc_info=True)
            return False, None
        return (False, entry.value.decode()) if entry.value else (True, None)

    def _should_defer(self, camera_id: int) -> bool:
        peers = self._less_loaded_peers()
        if not peers:
            return False
        with self._lock:
            first = self._deferred.setdefault(camera_id, time.monotonic())
        if time.monotonic() - first >= DEFER_SECONDS:
            return False
        # Confirm with the peers' own presence keys (one read each): a dead worker's presence may still be
        # in the cached loads, and deferring to it would hold back the takeover of its own cameras.
        mine = len(self.held)
        return any(load is not None and load < mine for load in map(self._load_of, peers))

    def _less_loaded_peers(self) -> list[str]:
        """Other live workers holding fewer cameras than we do, by loads read at most 0.5 s ago."""
        if time.monotonic() - self._loads_at > LOADS_MAX_AGE_SECONDS:
            try:
                self._loads = self._loop.run(self._read_loads())
            except Exception:
                log.debug("worker loads unreadable: no camera is left to another worker", exc_info=True)
                self._loads = {}
            self._loads_at = time.monotonic()
        mine = len(self.held)
        return [worker for worker, load in self._loads.items() if worker != self.worker_id and load < mine]

    def _load_of(self, worker: str) -> int | None:
        """A worker's load now, or None when its presence key has expired (the worker is gone)."""
        try:
            entry = self._loop.run(self._kv.get(f"worker.{self.namespace}.{_token(worker)}"))
            return int(json.loads(entry.value or b"{}")["cameras"])
        except Exception:
            return None

    async def _read_loads(self) -> dict[str, int]:
        """Live workers' loads: one watch over the presence keys only (``keys()`` would list every camera)."""
        watcher = await self._kv.watch(f"worker.{self.namespace}.*", ignore_deletes=True)
        loads: dict[str, int] = {}
        try:
            while True:
                entry = await watcher.updates(timeout=5)
                if entry is None:
                    return loads
                try:
                    payload = json.loads(entry.value or b"{}")
                    loads[str(payload["id"])] = int(payload["cameras"])
                except (ValueError, KeyError, TypeError):
                    continue
        finally:
            await watcher.stop()

    async def _announce(self) -> None:
        payload = json.dumps({"id": self.worker_id, "cameras": len(self._held)}).encode()
        await self._kv.put(self.presence_key, payload)

    async def _renew_forever(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            # A fixed rhythm: a slow round does not push every later renewal back.
            due = max(due + self.renew_seconds, loop.time())
            await asyncio.sleep(due - loop.time())
            try:
                await self._renew()
            except Exception:
                log.exception("lease renewal failed")

    async def _renew(self) -> None:
        # Presence first: it then expires before any camera key of ours, so nobody defers to a dead worker.
        await self._announce()
        with self._lock:
            held = dict(self._held)
        await asyncio.gather(*(self._renew_one(camera_id, revision) for camera_id, revision in held.items()))

    async def _renew_one(self, camera_id: int, revision: int) -> None:
        key, value = self.key(camera_id), self.worker_id.encode()
        try:
            new_revision = await self._kv.update(key, value, last=revision)
        except Exception as error:
            with self._lock:
                if self._held.get(camera_id) != revision:
                    return  # released (or forgotten) while this renewal was under way
            holder, new_revision = await self._settle(key)
            if holder is None:
                # NATS cannot tell (unreachable, timed out): keep recording, the next round tries again. If
                # another worker takes the camera meanwhile, the camera_health row stops us.
                log.warning(
                    "camera %s: lease not renewed (%s); kept, retried in %g s", camera_id, error, self.renew_seconds
                )
                return
            if holder != self.worker_id:
                with self._lock:
                    if self._held.get(camera_id) != revision:
                        return
                    del self._held[camera_id]
                    self._lost.add(camera_id)
                log.error("camera %s: lease lost to %s (%s)", camera_id, holder, error)
                return
            log.warning("camera %s: lease renewal failed (%s) but the key is still ours", camera_id, error)
        with self._lock:
            ours = self._held.get(camera_id) == revision
            if ours:
                self._held[camera_id] = new_revision
        if not ours:
            # Released while this renewal was under way: the release's delete missed the new revision.
            try:
                await self._kv.delete(key, last=new_revision)
            except Exception:
                log.debug("camera %s: lease already gone", camera_id, exc_info=True)

    async def _settle(self, key: str) -> tuple[str | None, int]:
        """After a failed renewal, (holder, revision) of the key now; None when NATS cannot tell.

        A key that expired (the renewal came later than the lease) is taken again if nobody else took it.
        """
        from nats.js.errors import KeyDeletedError, KeyNotFoundError

        for _attempt in range(2):
            try:
                entry = await self._kv.get(key)
            except (KeyNotFoundError, KeyDeletedError):
                try:
                    return self.worker_id, int(await self._kv.create(key, self.worker_id.encode()))
                except Exception:
                    continue  # another worker created it just now (or NATS failed): look again
            except Exception:
                return None, 0
            holder = (entry.value or b"").decode()
            return (holder, int(entry.revision)) if holder else (None, 0)
        return None, 0


class NatsLeasedHealthStore(HealthStore):
    """The recorder's health store with the NATS KV lease as the authority on who holds a camera."""

    def __init__(self, catalog: Catalog, recorder_id: str, lease_seconds: float, leases: NatsCameraLeases) -> None:
        super().__init__(catalog, recorder_id, lease_seconds)
        self.leases = leases

    @property
    def retry_seconds(self) -> float:
        # A KV read per try is cheap: poll at the lease's own pace, not the database lease's.
        return self.leases.poll_seconds

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
