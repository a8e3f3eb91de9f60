"""Chaining segments of many sources in one transaction, and the recorder's group-commit writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import SQLAlchemyError

from vigie.catalog.models import Recording, Segment, Source
from vigie.vault.store import SegmentAppend, SegmentPlacement, Vault, VaultError
from vigie.vault.verify import verify_vault
from vigie.vault.writer import SegmentWriter

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def cameras(vault: Vault, count: int) -> list[tuple[Source, Recording]]:
    sources = [vault.ensure_source(f"cam-{index}", kind="camera") for index in range(count)]
    return [(source, vault.begin_recording(source, start=T0)) for source in sources]


def staged_append(vault: Vault, source: Source, recording: Recording, index: int) -> SegmentAppend:
    data = f"{source.name} segment {index}".encode() * 100
    staged = vault.stage(source, recording, vault.prepare(data))
    start = T0 + timedelta(seconds=4 * index)
    return SegmentAppend(source, recording, SegmentPlacement(staged, start, start + timedelta(seconds=4), "fmp4"))


def test_one_transaction_chains_several_sources_in_order(vault: Vault) -> None:
    (a, rec_a), (b, rec_b) = cameras(vault, 2)
    first = vault.chain([staged_append(vault, a, rec_a, 0)])
    # Interleaved sources in one batch: each chain stays in the order given.
    batch = [staged_append(vault, a, rec_a, 1), staged_append(vault, b, rec_b, 0), staged_append(vault, a, rec_a, 2)]
    segments = vault.chain(batch)
    assert [(s.source_id, s.seq) for s in segments] == [(a.id, 2), (b.id, 1), (a.id, 3)]
    assert segments[0].prev_hash == first[0].entry_hash
    assert segments[2].prev_hash == segments[0].entry_hash
    assert (rec_a.segment_count, rec_a.end) == (3, T0 + timedelta(seconds=12))
    assert rec_a.size == sum(item.placement.staged.size for item in [*batch[::2]]) + first[0].size
    assert (rec_b.segment_count, rec_b.end) == (1, T0 + timedelta(seconds=4))
    stored = vault.segments(rec_a)
    assert [s.entry_hash for s in stored] == [first[0].entry_hash, segments[0].entry_hash, segments[2].entry_hash]
    for source, recording in ((a, rec_a), (b, rec_b)):
        vault.finish(source, recording)
    assert verify_vault(vault).intact
    assert vault.recording(rec_a.id).segment_count == 3


def test_a_failed_batch_writes_nothing(vault: Vault) -> None:
    (a, rec_a), (b, rec_b) = cameras(vault, 2)
    good = staged_append(vault, a, rec_a, 0)
    ghost = Recording(id="no-such-recording", source_id=b.id, kind="camera", start=T0, status="recording")
    bad = staged_append(vault, b, ghost, 0)
    with pytest.raises((VaultError, SQLAlchemyError)):  # the foreign key, or the recording's missing row
        vault.chain([good, bad])
    assert vault.segments(rec_a) == [] and rec_a.segment_count == 0
    # The chain heads did not move: the same segment now chains at position 1.
    assert vault.chain([good])[0].seq == 1
    vault.discard([bad.placement.staged])
    vault.finish(a, rec_a)
    vault.abort(b, rec_b)
    assert verify_vault(vault).intact


class SlowVault:
    """A vault whose first commit is slow, so that segments handed over meanwhile queue up together."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.calls: list[int] = []
        self.first = True

    def __getattr__(self, name: str) -> object:
        return getattr(self.vault, name)

    def chain(self, appends: Sequence[SegmentAppend]) -> list[Segment]:
        self.calls.append(len(appends))
        if self.first:
            self.first = False
            time.sleep(0.3)
        return self.vault.chain(appends)


def test_writer_groups_concurrent_segments_and_keeps_each_chain_in_order(vault: Vault) -> None:
    slow = SlowVault(vault)
    writer = SegmentWriter(slow)  # type: ignore[arg-type]
    pairs = cameras(vault, 6)
    results: dict[str, list[Segment]] = {source.name: [] for source, _ in pairs}

    def camera(source: Source, recording: Recording) -> None:
        for index in range(4):
            data = f"{source.name}/{index}".encode() * 50
            start = T0 + timedelta(seconds=4 * index)
            segment = writer.append(
                source, recording, vault.prepare(data), start=start, end=start + timedelta(seconds=4), kind="fmp4"
            )
            results[source.name].append(segment)

    threads = [threading.Thread(target=camera, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    writer.close()
    assert sum(slow.calls) == 24 and max(slow.calls) > 1  # a group commit happened
    assert writer.segments == 24 and writer.batches == len(slow.calls)
    for source, recording in pairs:
        assert [segment.seq for segment in results[source.name]] == [1, 2, 3, 4]
        assert recording.segment_count == 4
        vault.finish(source, recording)
    assert verify_vault(vault).intact


def test_writer_isolates_a_bad_segment_and_chains_directly_once_closed(vault: Vault) -> None:
    slow = SlowVault(vault)
    writer = SegmentWriter(slow)  # type: ignore[arg-type]
    (a, rec_a), (b, rec_b), (c, rec_c) = cameras(vault, 3)
    ghost = Recording(id="no-such-recording", source_id=b.id, kind="camera", start=T0, status="recording")
    outcomes: dict[str, object] = {}

    def camera(name: str, source: Source, recording: Recording) -> None:
        prepared, end = vault.prepare(name.encode()), T0 + timedelta(seconds=4)
        try:
            outcomes[name] = writer.append(source, recording, prepared, start=T0, end=end, kind="fmp4")
        except (VaultError, SQLAlchemyError) as error:
            outcomes[name] = error

    first = threading.Thread(target=camera, args=("a", a, rec_a))
    first.start()
    time.sleep(0.1)  # the first commit is under way: the next two wait together
    others = [threading.Thread(target=camera, args=args) for args in (("b", b, ghost), ("c", c, rec_c))]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(30)
    assert isinstance(outcomes["a"], Segment) and isinstance(outcomes["c"], Segment)
    assert isinstance(outcomes["b"], VaultError | SQLAlchemyError)
    writer.close()
    late = writer.append(a, rec_a, vault.prepare(b"late"), start=T0, end=T0 + timedelta(seconds=8), kind="fmp4")
    assert late.seq == 2 and rec_a.segment_count == 2
    for source, recording in ((a, rec_a), (c, rec_c)):
        vault.finish(source, recording)
    vault.abort(b, rec_b)
    assert verify_vault(vault).intact  # the bad segment's blob was discarded: no orphan
