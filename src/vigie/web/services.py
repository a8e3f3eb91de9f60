"""What the web application works with, built once per process: the composition root's output.

No logic lives here: settings → catalog → vault → audit log → accounts and sessions → the camera
registry, privacy masks and the live relay (plus, under ``vigie serve``, the recorder feeding it).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from vigie.access.audit import Actor, AuditLog
from vigie.access.secretbox import SecretBox
from vigie.access.sessions import SessionStore
from vigie.access.users import UserStore
from vigie.catalog.db import Catalog
from vigie.config import Settings
from vigie.events.bus import open_bus
from vigie.events.live_analytics import LiveAnalytics
from vigie.events.service import EventService
from vigie.events.zone_store import ZoneStore
from vigie.ingest.cameras.live import LiveHub
from vigie.ingest.cameras.recorder import Recorder
from vigie.ingest.cameras.registry import CameraRegistry
from vigie.privacy.mask_store import MaskStore
from vigie.privacy.redactions import RedactionService
from vigie.vault.store import Vault
from vigie.web.metrics import Metrics

# The server itself, as the register names it when it signs checkpoints or starts and stops.
SERVER_ACTOR = Actor(name="vigie-server", role="system")
log = logging.getLogger("vigie.web")


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    vault: Vault
    audit: AuditLog
    users: UserStore
    sessions: SessionStore
    metrics: Metrics = field(default_factory=Metrics)
    started_at: float = field(default_factory=time.time)
    owns_catalog: bool = False  # dispose the engine on shutdown only if we opened it
    # Record every enabled camera in this process (``vigie serve``): the recorder's single connection
    # per camera then also feeds ``hub``, the live relay the web serves. Off: live view is unavailable
    # here (recording runs elsewhere, e.g. ``vigie record``), playback and timelines still work.
    record_cameras: bool = False
    cameras: CameraRegistry = field(init=False)
    masks: MaskStore = field(init=False)
    hub: LiveHub = field(init=False)
    recorder: Recorder | None = field(default=None, init=False)
    # Analytic events (legal-basis gate, review, bus), per-camera zones, redaction review; the live
    # analytics worker runs here only when settings.events.analytics.enabled (see start_analytics).
    events: EventService = field(init=False)
    zones: ZoneStore = field(init=False)
    redactions: RedactionService = field(init=False)
    live_analytics: LiveAnalytics | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.cameras = CameraRegistry(self.vault, self.audit)
        self.masks = MaskStore(self.catalog, self.audit)
        self.hub = LiveHub(self.settings.recorder)
        self.events = EventService(self.catalog, self.vault, self.audit, open_bus(self.settings.events))
        self.zones = ZoneStore(self.catalog, self.audit)
        self.redactions = RedactionService(self.vault, self.audit)  # the face detector loads on first use

    @classmethod
    def build(
        cls, settings: Settings, catalog: Catalog | None = None, vault: Vault | None = None, *, record: bool = False
    ) -> Services:
        owns = catalog is None
        catalog = catalog or Catalog(settings.catalog_url)
        vault = vault or Vault(settings, catalog)
        audit = AuditLog(catalog, vault.signer)
        users = UserStore(catalog, audit, SecretBox(vault.kek), settings.access)
        return cls(
            settings=settings,
            catalog=catalog,
            vault=vault,
            audit=audit,
            users=users,
            sessions=SessionStore(catalog, settings.access),
            owns_catalog=owns,
            record_cameras=record,
        )

    def start_recording(self) -> None:
        """Start the in-process recorder if asked to (blocking for a moment: call from a thread)."""
        if not self.record_cameras or self.recorder is not None:
            return
        self.recorder = Recorder(self.settings, self.catalog, self.vault, hub=self.hub)
        self.recorder.start()
        log.info("recording %d camera(s) in this process", len(self.recorder.cameras))

    def stop_recording(self) -> None:
        """Seal recordings and release the cameras (blocking: call from a thread)."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.stop(timeout=self.settings.recorder.stall_timeout_seconds + 10)

    def start_analytics(self) -> None:
        """Start the live analytics worker if enabled. Cameras without a legal basis stay undecoded."""
        if not self.settings.events.analytics.enabled or self.live_analytics is not None:
            return
        self.live_analytics = LiveAnalytics(
            self.vault, self.events, self.settings, zones=self.zones, masks=self.masks
        ).start()
        log.info("live analytics worker started")

    def stop_analytics(self) -> None:
        worker, self.live_analytics = self.live_analytics, None
        if worker is not None:
            worker.stop()

    def close(self) -> None:
        self.events.bus.close()
        if self.owns_catalog:
            self.catalog.dispose()
