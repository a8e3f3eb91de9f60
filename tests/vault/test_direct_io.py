"""Bulk blobs go to and from the local store with direct I/O, and come back exactly as written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vigie.vault.blobstore import (
    ALIGNMENT,
    BlobMissing,
    BufferPool,
    LocalBlobStore,
    aligned_buffer,
    get_buffer,
    put_buffer,
)


@pytest.mark.parametrize("size", [1, ALIGNMENT - 1, ALIGNMENT, 3 * ALIGNMENT + 17])
def test_a_directly_written_blob_has_exactly_its_bytes(tmp_path: Path, size: int) -> None:
    store = LocalBlobStore(tmp_path / "vault")
    buffer = aligned_buffer(4 * ALIGNMENT)
    buffer[: 4 * ALIGNMENT] = b"\xaa" * (4 * ALIGNMENT)  # a former blob's bytes: none may leak past `size`
    data = os.urandom(size)
    buffer[:size] = data
    put_buffer(store, "a/b", buffer, size)
    assert store.get("a/b") == data
    assert (tmp_path / "vault" / "a" / "b").stat().st_size == size
    assert [p.name for p in (tmp_path / "vault" / "a").iterdir()] == ["b"]  # no temporary left behind
    assert bytes(get_buffer(store, "a/b", aligned_buffer(size))) == data


def test_a_blob_larger_than_the_read_buffer_is_read_whole(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "vault")
    data = os.urandom(3 * ALIGNMENT)
    store.put("grown", data)
    assert bytes(get_buffer(store, "grown", aligned_buffer(ALIGNMENT))) == data
    with pytest.raises(BlobMissing):
        get_buffer(store, "absent", aligned_buffer(ALIGNMENT))


def test_the_buffer_pool_hands_back_what_it_kept_and_keeps_no_more_than_asked() -> None:
    pool = BufferPool(keep_bytes=2 * ALIGNMENT)
    first = pool.take(100)
    assert len(first) == ALIGNMENT
    pool.give(first)
    assert pool.take(ALIGNMENT) is first  # reused, not mapped again
    big = pool.take(3 * ALIGNMENT)
    pool.give(big)  # over the limit: dropped
    assert pool.take(3 * ALIGNMENT) is not big
