"""The recorder: every enabled camera's main stream, recorded continuously into the vault.

One process handles many cameras with one thread each (PyAV releases the GIL while it waits on
the network and while it demuxes and muxes). A supervisor thread measures health, renews the
recorder's lease on its cameras, delivers health events and picks up registry changes. The same
:class:`Recorder` runs in the foreground (``vigie record``) or inside ``vigie serve``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from types import TracebackType

from vigie.catalog.db import Catalog
from vigie.config import Settings
from vigie.ingest.cameras.failures import GapCause
from vigie.ingest.cameras.health import (
    HealthChange,
    HealthSnapshot,
    HealthStore,
    recorder_identity,
)
from vigie.ingest.cameras.live import LiveHub
from vigie.ingest.cameras.registry import CameraTarget, load_targets
from vigie.ingest.cameras.worker import CameraWorker
from vigie.vault.store import Vault
from vigie.vault.writer import SegmentWriter

log = logging.getLogger(__name__)

HealthListener = Callable[[HealthChange], None]


class Recorder:
    """Start it, stop it. ``cameras``: only these (by name); default every enabled camera."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        vault: Vault,
        *,
        cameras: list[str] | None = None,
        hub: LiveHub | None = None,
        on_health_change: HealthListener | None = None,
        recorder_id: str | None = None,
        health_store: HealthStore | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.vault = vault
        self.only = list(cameras) if cameras else None
        self.hub = hub
        self.recorder_id = recorder_id or recorder_identity()
        self.health_store = health_store or HealthStore(catalog, self.recorder_id, settings.recorder.lease_seconds)
        self._listeners: list[HealthListener] = [on_health_change] if on_health_change else []
        self._events: queue.SimpleQueue[HealthChange] = queue.SimpleQueue()
        self._workers: dict[str, CameraWorker] = {}
        self._retiring: list[CameraWorker] = []  # stopped, still sealing their last segment
        self._snapshots: dict[str, HealthSnapshot] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._writer: SegmentWriter | None = None  # every camera's segment rows, in group commits

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start recording (returns at once). Unknown camera names are refused here."""
        if self._supervisor is not None:
            raise RuntimeError("recorder already started")
        targets = load_targets(self.vault, self.only)
        self._writer = SegmentWriter(self.vault)
        for target in targets:
            self._start_worker(target)
        for name in sorted(set(self.only or []) - {target.name for target in targets}):
            log.warning("camera %s is disabled or removed: not recorded", name)
        if not targets:
            log.warning("no enabled camera to record%s", f" among {self.only}" if self.only else "")
        self._supervisor = threading.Thread(target=self._supervise, name="recorder-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop every camera: recordings are sealed, "recorder-stopped" gaps opened, leases released."""
        self._stopping.set()
        with self._lock:
            workers = list(self._workers.values()) + self._retiring
        for worker in workers:
            worker.stop(GapCause.RECORDER_STOPPED)
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in workers:
            remaining = None if deadline is None else max(0.1, deadline - time.monotonic())
            if not worker.join(remaining):
                log.error("camera %s: worker did not stop in time", worker.name)
        if self._supervisor is not None:
            self._supervisor.join(timeout)
        if self._writer is not None:
            # After the workers: their last segments are committed first (a late one chains directly).
            self._writer.close(timeout)
        self._deliver_events()

    def __enter__(self) -> Recorder:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # -- observation ------------------------------------------------------------------------------
    def add_health_listener(self, listener: HealthListener) -> None:
        self._listeners.append(listener)

    def health(self) -> list[HealthSnapshot]:
        """The latest health of every camera this recorder handles (refreshed each health period)."""
        with self._lock:
            return [self._snapshots.get(name) or worker.status.sample() for name, worker in self._workers.items()]

    def worker(self, camera: str) -> CameraWorker:
        with self._lock:
            return self._workers[camera]

    @property
    def cameras(self) -> list[str]:
        with self._lock:
            return sorted(self._workers)

    # -- internals --------------------------------------------------------------------------------
    def _start_worker(self, target: CameraTarget) -> None:
        worker = CameraWorker(
            target,
            settings=self.settings,
            vault=self.vault,
            events=self._events,
            health_store=self.health_store,
            channel=self.hub.channel(target.name) if self.hub is not None else None,
            writer=self._writer,
        )
        with self._lock:
            self._workers[target.name] = worker
        worker.start()
        log.info("camera %s: recording started", target.name)

    def _supervise(self) -> None:
        recorder = self.settings.recorder
        next_sync = time.monotonic() + recorder.registry_poll_seconds
        while not self._stopping.wait(recorder.health_seconds):
            try:
                self._measure()
                if time.monotonic() >= next_sync:
                    next_sync = time.monotonic() + recorder.registry_poll_seconds
                    self._sync_registry()
            except Exception:
                # A catalog hiccup must not end supervision; recording threads go on regardless.
                log.exception("recorder supervision step failed")
            self._deliver_events()

    def _measure(self) -> None:
        with self._lock:
            workers = list(self._workers.values())
        now = time.time()
        for worker in workers:
            worker.watchdog(now)
        snapshots = {worker.target.camera_id: worker.status.sample() for worker in workers}
        held = {
            worker.target.camera_id: snapshots[worker.target.camera_id]
            for worker in workers
            if worker.holds_lease and worker.alive
        }
        with self._lock:
            self._snapshots = {snapshot.camera: snapshot for snapshot in snapshots.values()}
        lost = self.health_store.write(held) if held else set()
        for worker in workers:
            if worker.target.camera_id in lost and worker.alive:
                log.error("camera %s: another recorder took this camera over; stopping here", worker.name)
                worker.abandon()

    def _sync_registry(self) -> None:
        """Start cameras added or enabled, stop cameras disabled or removed, restart edited ones.

        Never waits for a worker to finish (that would delay the heartbeat of every other camera):
        a stopping worker retires, and its camera is started again only once it is gone.
        """
        wanted = {target.name: target for target in load_targets(self.vault, self.only, strict=False)}
        with self._lock:
            self._retiring = [worker for worker in self._retiring if worker.alive]
            closing = {worker.name for worker in self._retiring}
            current = dict(self._workers)
        for name, worker in current.items():
            target = wanted.get(name)
            if worker.alive and target is not None and target.main_url == worker.target.main_url:
                continue
            # Disabled or removed: nobody expects footage, no gap. Edited: a short, explained interruption.
            worker.stop(None if target is None else GapCause.RECORDER_STOPPED)
            with self._lock:
                self._workers.pop(name, None)
                self._retiring.append(worker)
            closing.add(name)
            log.info("camera %s: recording stopped (%s)", name, "disabled" if target is None else "changed")
        for name, target in wanted.items():
            # A camera whose previous worker is still closing is started at a later sync.
            if name not in current and name not in closing and not self._stopping.is_set():
                self._start_worker(target)

    def _deliver_events(self) -> None:
        while True:
            try:
                change = self._events.get_nowait()
            except queue.Empty:
                return
            for listener in self._listeners:
                try:
                    listener(change)
                except Exception:
                    log.exception("on_health_change listener failed")
