"""Group commit: one thread chains the segments of many concurrent writers, one transaction per batch.

Each writer (a camera's archive thread) hashes, seals and writes its own blob — blob stores and
disks take parallel writes well — then hands the catalog row to the :class:`SegmentWriter` and
waits until it is committed. So a segment is reported stored only once it is durable, and a
camera's next step (its next segment, a gap) never overtakes it: each chain is appended in order.
Rows handed over while a transaction runs go together in the next one, so batches grow by
themselves with load (many cameras, a slow commit) and cost no waiting when there is none. One
thread and one connection also mean no connection-pool churn and, on SQLite, no writers spinning
on the database lock.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from datetime import datetime

from vigie.catalog.models import Recording, Segment, Source
from vigie.vault.store import PreparedBlob, SegmentAppend, Vault, VaultError

log = logging.getLogger(__name__)

_Item = tuple[SegmentAppend, "Future[Segment]"]


def _stopped() -> VaultError:
    # A VaultError, so that the camera counts the segment as lost (a gap), like any failed write.
    return VaultError("the segment writer stopped before committing this segment")


class SegmentWriter:
    """Chains segments for many threads. :meth:`append` blocks until the segment is committed."""

    def __init__(self, vault: Vault, *, max_batch: int = 64, name: str = "segment-writer") -> None:
        self.vault = vault
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders "closed?" checks against the closing sentinel
        self._closed = False
        self.batches = 0
        self.segments = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def append(
        self,
        source: Source,
        recording: Recording,
        prepared: PreparedBlob,
        *,
        start: datetime,
        end: datetime,
        kind: str,
    ) -> Segment:
        """Like :meth:`Vault.append`: the blob is written here, in the caller's thread, then chained."""
        return self.vault.append(source, recording, prepared, start=start, end=end, kind=kind, chain_with=self.chain)

    def chain(self, item: SegmentAppend) -> Segment:
        """Chain one staged blob; returns once committed, raises what the catalog raised."""
        future: Future[Segment] = Future()
        with self._lock:
            if not self._closed:
                self._queue.put((item, future))
                queued = True
            else:
                queued = False
        if not queued:
            # A late writer (its camera still closing): no thread to hand over to, so chain it here.
            return self.vault.chain([item])[0]
        return future.result()

    def close(self, timeout: float | None = None) -> None:
        """Commit what is queued, then stop the thread; later :meth:`append` calls chain directly."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout)

    # -- the writer thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                closing = False
                while len(batch) < self.max_batch:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        closing = True
                        break
                    batch.append(item)
                self._commit(batch)
                if closing:
                    return
        finally:
            # Should this thread ever die, later writers chain directly and nobody waits on a dead queue.
            with self._lock:
                self._closed = True
            while True:
                try:
                    left = self._queue.get_nowait()
                except queue.Empty:
                    break
                if left is not None and not left[1].done():
                    left[1].set_exception(_stopped())

    def _commit(self, batch: list[_Item]) -> None:
        try:
            try:
                segments = self.vault.chain([item for item, _ in batch])
            except Exception as error:
                if len(batch) == 1:
                    batch[0][1].set_exception(error)
                    return
                # One bad row must not cost the others their segment: each alone, with its own outcome.
                log.warning("group commit of %d segments failed (%s); committing them one by one", len(batch), error)
                for item, future in batch:
                    try:
                        future.set_result(self.vault.chain([item])[0])
                    except Exception as alone:
                        future.set_exception(alone)
                return
            self.batches += 1
            self.segments += len(segments)
            for (_, future), segment in zip(batch, segments, strict=True):
                future.set_result(segment)
        finally:
            # Whatever happened (even a BaseException), no writer may wait forever.
            for _, future in batch:
                if not future.done():
                    future.set_exception(_stopped())
