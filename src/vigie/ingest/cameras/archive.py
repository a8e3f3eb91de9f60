"""One camera's writes to the vault and the catalog, in order, off the network thread.

The camera's packet thread must never wait on a disk or a database: it hands finished segments and
connection events to its :class:`CameraArchive`, which applies them one after the other on its
own thread. Everything the catalog learns about the camera — recordings begun and sealed,
segments chained, gaps opened and closed, hourly checkpoints — is therefore written in the order
it happened, which is what makes segments and gaps tile the timeline.

A failed vault write (full disk, store or catalog unavailable) loses that segment, opens a
``vault-write-failed`` gap inside the recording, and the next successful write closes it: the
recording goes on, the camera stays connected, other cameras are unaffected.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from vigie.catalog.models import Recording, Source
from vigie.ingest.cameras import gaps
from vigie.ingest.cameras.failures import GapCause
from vigie.ingest.cameras.health import Lease
from vigie.vault.blobstore import BlobStoreError
from vigie.vault.store import Vault, VaultError
from vigie.vault.writer import SegmentWriter

log = logging.getLogger(__name__)

STORAGE_ERRORS = (BlobStoreError, VaultError, SQLAlchemyError, OSError)
# Two stored segments further apart than this inside one recording means the camera skipped time.
CONTINUITY_TOLERANCE = timedelta(seconds=1)


class CameraArchive:
    def __init__(
        self,
        vault: Vault,
        source: Source,
        *,
        checkpoint_seconds: float,
        max_pending: int = 16,
        writer: SegmentWriter | None = None,
    ) -> None:
        self.vault = vault
        self.source = source
        # Shared by the recorder's cameras: their catalog rows go in group commits (see vault.writer).
        self._append = writer.append if writer is not None else vault.append
        self.checkpoint_seconds = checkpoint_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"archive-{source.name}")
        # Bounded hand-off: if the vault falls minutes behind, the packet thread slows down (TCP
        # backpressure) rather than holding unbounded footage in memory.
        self._slots = threading.BoundedSemaphore(max_pending)
        # State below is touched by the archive thread only.
        self._recording: Recording | None = None
        self._media_info: dict[str, Any] = {}
        self._last_end: datetime | None = None  # end of the last segment stored
        self._open_gap: int | None = None
        self._open_gap_attempts = 0
        # A gap that could not be written (catalog down): written, closed, by the next successful store.
        self._unwritten_gap: tuple[datetime, GapCause, str | None, dict[str, Any]] | None = None
        self._inherited_gap = False  # the open gap was left by a previous recorder
        self._abandoned = False
        self._last_checkpoint = time.monotonic()
        # Read by the health loop: the last storage failure, cleared by the next success.
        self.storage_error: str | None = None
        self.segments_stored = 0

    # -- called from the camera's packet thread -----------------------------------------------------
    def recover(self, lease: Lease) -> Future[Any]:
        return self._submit(self._recover, lease)

    def store_segment(self, data: bytes, start: datetime, end: datetime, media_info: dict[str, Any]) -> None:
        self._submit(self._store_segment, data, start, end, media_info)

    def end_recording(
        self, *, cause: GapCause | None, detail: str | None, at: datetime, anomalies: list[str] | None = None
    ) -> None:
        """The run ended (connection lost, timestamps broke, recorder stopping): seal it; open a gap if ``cause``."""
        self._submit(self._end_recording, cause, detail, at, anomalies or [])

    def stopped(self, *, cause: GapCause | None, at: datetime) -> None:
        """The worker stops: ``cause`` (recorder stopped) opens a gap from now on; None (camera disabled,
        handed to another recorder) closes any open gap, since nobody expects footage from here."""
        self._submit(self._stopped, cause, at)

    def connection_failed(self, cause: GapCause, detail: str, at: datetime) -> None:
        """An attempt to (re)connect failed: open the gap, or note the attempt on the open one."""
        self._submit(self._connection_failed, cause, detail, at)

    def abandon(self) -> None:
        """Drop everything queued or to come: another recorder now owns this camera's records."""
        self._abandoned = True

    def close(self) -> None:
        """Apply everything queued, then stop the archive thread."""
        self._executor.shutdown(wait=True)

    def flush(self, timeout: float | None = None) -> None:
        self._submit(lambda: None).result(timeout)

    # -- archive thread ---------------------------------------------------------------------------
    def _submit(self, function: Any, *args: Any) -> Future[Any]:
        self._slots.acquire()
        future = self._executor.submit(self._guarded, function, *args)
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def _guarded(self, function: Any, *args: Any) -> Any:
        if self._abandoned:
            return None
        try:
            return function(*args)
        except Exception:
            # The archive thread must survive anything; the health row shows the failure.
            log.exception("camera %s: archive step %s failed", self.source.name, getattr(function, "__name__", "?"))
            self.storage_error = "internal error while storing (see the recorder log)"
            return None

    def _recover(self, lease: Lease) -> gaps.RecoveryReport:
        report = gaps.recover_source(
            self.vault,
            self.source,
            previous_heartbeat=lease.previous_heartbeat,
            previous_holder_died=lease.previous_holder_died,
        )
        still_open = gaps.open_gaps(self.vault.catalog, self.source.id)
        self._open_gap = still_open[-1].id if still_open else None
        self._inherited_gap = self._open_gap is not None
        return report

    def _store_segment(self, data: bytes, start: datetime, end: datetime, media_info: dict[str, Any]) -> None:
        if self._last_end is not None and start < self._last_end:
            # Never let a new run overlap stored footage (a camera clock that stepped back).
            start = self._last_end
            end = max(end, start)
        try:
            prepared = self.vault.prepare(data)
            if self._recording is None:
                self._media_info = media_info
                self._recording = self.vault.begin_recording(self.source, start=start, media_info=media_info)
            recording = self._recording
            self._append(self.source, recording, prepared, start=start, end=end, kind="fmp4")
        except STORAGE_ERRORS as error:
            self._storage_failed(error, start)
            return
        self.storage_error = None
        self.segments_stored += 1
        if self._unwritten_gap is not None:
            gap_start, cause, recording_id, details = self._unwritten_gap
            self._unwritten_gap = None
            try:
                gaps.add_closed_gap(
                    self.vault.catalog,
                    self.source.id,
                    gap_start,
                    start,
                    cause,
                    recording_id=recording_id,
                    details=details,
                )
            except STORAGE_ERRORS as error:
                log.error("camera %s: cannot record gap (%s): %s", self.source.name, cause.value, error)
        if self._open_gap is not None:
            self._close_gaps(start)
        elif self._last_end is not None and start - self._last_end > CONTINUITY_TOLERANCE:
            gaps.add_closed_gap(
                self.vault.catalog,
                self.source.id,
                self._last_end,
                start,
                GapCause.TIMESTAMPS_JUMPED,
                recording_id=recording.id,
                details={"detail": "the camera's timestamps skipped forward between two segments"},
            )
        self._last_end = end
        if time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds:
            self._checkpoint()

    def _storage_failed(self, error: BaseException, start: datetime) -> None:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        self.storage_error = detail
        recording = self._recording
        if recording is not None and recording.segment_count == 0:
            # Nothing of this recording is stored: undo it so no empty recording remains.
            try:
                self.vault.abort(self.source, recording)
            except STORAGE_ERRORS:
                log.exception("camera %s: cannot undo empty recording %s", self.source.name, recording.id)
            self._recording = recording = None
        if self._open_gap is None:
            self._open_gap = self._try_open_gap(
                self._last_end or start,
                GapCause.VAULT_WRITE_FAILED,
                recording.id if recording is not None else None,
                {"detail": detail, "failed_segments": 1},
            )
            self._open_gap_attempts = 1
            log.error("camera %s: footage lost, vault write failed: %s", self.source.name, detail)
        else:
            self._open_gap_attempts += 1
            self._try_update(self._open_gap, {"failed_segments": self._open_gap_attempts, "last_error": detail})

    def _end_recording(self, cause: GapCause | None, detail: str | None, at: datetime, anomalies: list[str]) -> None:
        recording, self._recording = self._recording, None
        if recording is not None:
            try:
                self.vault.finish(self.source, recording, status="complete", anomalies=anomalies)
                self._last_checkpoint = time.monotonic()
            except STORAGE_ERRORS as error:
                # The recording stays "recording"; recovery seals it as interrupted later.
                log.error("camera %s: cannot seal recording %s: %s", self.source.name, recording.id, error)
                self.storage_error = str(error)
        if cause is None or self._open_gap is not None:
            return
        start = self._last_end or at
        self._open_gap = self._try_open_gap(
            start, cause, recording.id if recording is not None else None, {"detail": detail or ""}
        )
        self._open_gap_attempts = 0

    def _stopped(self, cause: GapCause | None, at: datetime) -> None:
        self._end_recording(None, None, at, [])
        start = self._last_end or at
        if self._open_gap is not None:
            # A camera that was failing: its own gap ends here, the recorder's (if any) begins.
            self._close_gaps(at)
            start = at
        if cause is not None:
            self._open_gap = self._try_open_gap(start, cause, None, {"detail": "the recorder was stopped"})

    def _connection_failed(self, cause: GapCause, detail: str, at: datetime) -> None:
        if self._inherited_gap:
            # The gap left by the previous recorder (stopped or dead) ends when this one starts trying;
            # from here on the camera's own failure is the cause.
            self._close_gaps(at)
        if self._open_gap is None:
            self._open_gap = self._try_open_gap(self._last_end or at, cause, None, {"detail": detail, "attempts": 1})
            self._open_gap_attempts = 1
            return
        self._open_gap_attempts += 1
        self._try_update(
            self._open_gap,
            {"attempts": self._open_gap_attempts, "last_cause": cause.value, "last_error": detail},
        )

    def _close_gaps(self, at: datetime) -> None:
        try:
            gaps.close_open_gaps(self.vault.catalog, self.source.id, at)
            self._open_gap = None
            self._inherited_gap = False
        except STORAGE_ERRORS as error:
            log.error("camera %s: cannot close gap: %s", self.source.name, error)

    def _checkpoint(self) -> None:
        try:
            self.vault.checkpoint(self.source)
            self._last_checkpoint = time.monotonic()
        except STORAGE_ERRORS as error:
            log.error("camera %s: checkpoint failed: %s", self.source.name, error)

    def _try_open_gap(
        self, start: datetime, cause: GapCause, recording_id: str | None, details: dict[str, Any]
    ) -> int | None:
        if self._unwritten_gap is not None:  # an earlier gap the catalog refused: it started first
            start, cause, recording_id, details = self._unwritten_gap
        try:
            gap_id = gaps.open_gap(
                self.vault.catalog, self.source.id, start, cause, recording_id=recording_id, details=details
            )
            self._unwritten_gap = None
            return gap_id
        except STORAGE_ERRORS as error:
            # The catalog itself is down: the next successful store writes this gap, closed.
            log.error("camera %s: cannot record gap (%s): %s", self.source.name, cause.value, error)
            if self._unwritten_gap is None:
                self._unwritten_gap = (start, cause, recording_id, details)
            return None

    def _try_update(self, gap_id: int | None, details: dict[str, Any]) -> None:
        if gap_id is None:
            return
        try:
            gaps.update_details(self.vault.catalog, gap_id, details)
        except STORAGE_ERRORS as error:
            log.error("camera %s: cannot update gap %s: %s", self.source.name, gap_id, error)


def wall_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
