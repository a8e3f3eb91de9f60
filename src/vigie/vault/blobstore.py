"""Where encrypted blobs live. Callers see opaque keys, never paths.

The local-directory store is the embedded default; an S3 store implements the same protocol.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)*$")


# What a blob is written from: whole objects, or views into reusable buffers (bulk imports).
BlobPart = bytes | bytearray | memoryview
# Direct I/O wants buffers, lengths and file offsets in multiples of the device's block size.
ALIGNMENT = 4096


class BlobStoreError(RuntimeError):
    """A blob cannot be written or read (full disk, permissions, missing blob)."""


class BlobMissing(BlobStoreError):
    pass


class BlobStore(Protocol):
    def put(self, key: str, *parts: BlobPart) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def iter_keys(self) -> Iterator[str]: ...


def aligned_buffer(capacity: int) -> memoryview:
    """A reusable, page-aligned, writable buffer of at least ``capacity`` bytes (for :func:`put_buffer`)."""
    return memoryview(mmap.mmap(-1, _round_up(capacity)))


class BufferPool:
    """Aligned buffers kept between bulk transfers (imports follow one another on an intake node).

    Mapping a fresh buffer costs a page fault per page on first touch (on a virtual machine, a
    trip to the host), and an import uses a dozen 8 MiB buffers: reused, they cost nothing.
    Keeps at most ``keep_bytes``; buffers beyond are simply dropped.
    """

    def __init__(self, keep_bytes: int = 128 << 20) -> None:
        self.keep_bytes = keep_bytes
        self._free: list[memoryview] = []
        self._lock = threading.Lock()

    def take(self, capacity: int) -> memoryview:
        wanted = _round_up(capacity)
        with self._lock:
            for index, buffer in enumerate(self._free):
                if len(buffer) == wanted:
                    return self._free.pop(index)
        return aligned_buffer(wanted)

    def give(self, buffer: memoryview) -> None:
        with self._lock:
            if sum(len(kept) for kept in self._free) + len(buffer) <= self.keep_bytes:
                self._free.append(buffer)

    @contextlib.contextmanager
    def lend(self, capacity: int) -> Iterator[memoryview]:
        buffer = self.take(capacity)
        try:
            yield buffer
        finally:
            self.give(buffer)


BUFFERS = BufferPool()


def put_buffer(store: BlobStore, key: str, buffer: memoryview, size: int) -> None:
    """Write ``buffer[:size]`` as a blob; a local store writes an aligned buffer with direct I/O."""
    if isinstance(store, LocalBlobStore):
        store.put_aligned(key, buffer, size)
    else:
        store.put(key, buffer[:size])


def get_buffer(store: BlobStore, key: str, buffer: memoryview) -> BlobPart:
    """A blob's bytes; a local store reads them into an aligned buffer with direct I/O.

    The result may be a view into ``buffer``: valid until the buffer is reused.
    """
    if isinstance(store, LocalBlobStore):
        return store.get_aligned(key, buffer)
    return store.get(key)


def _round_up(size: int) -> int:
    return -(-size // ALIGNMENT) * ALIGNMENT


def check_key(key: str) -> str:
    """Blob keys are relative, slash-separated names of safe characters (no '..', no absolute paths)."""
    if not _KEY.match(key) or ".." in key:
        raise BlobStoreError(f"invalid blob key {key!r}")
    return key


class LocalBlobStore:
    """Blobs as files under one directory, written atomically (temporary file, fsync, rename)."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _new_blob(self, key: str) -> tuple[Path, Path]:
        """(final path, temporary path) of a blob about to be written; blobs are never overwritten."""
        path = self._path(key)
        if path.exists():
            raise BlobStoreError(f"blob {key} exists already: blobs are immutable")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path, path.with_name(f".{path.name}.{os.getpid()}.tmp")

    def put(self, key: str, *parts: BlobPart) -> None:
        """Write the concatenation of ``parts`` as one immutable blob."""
        path, temporary = self._new_blob(key)
        try:
            with open(temporary, "wb") as handle:
                for part in parts:
                    handle.write(part)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(temporary, path)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise BlobStoreError(f"cannot write blob {key}: {error.strerror or error}") from error

    def put_aligned(self, key: str, buffer: memoryview, size: int) -> None:
        """Write ``buffer[:size]`` as one blob with direct I/O (``buffer`` from :func:`aligned_buffer`).

        Bulk imports bypass the page cache: no copy of every byte into the kernel, and gigabytes of
        footage do not evict the catalog's pages. The file is written in whole blocks and cut back
        to ``size``; where the filesystem refuses direct I/O (tmpfs), this is a plain :meth:`put`.
        """
        padded = _round_up(size)
        path, temporary = self._new_blob(key)
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DIRECT, 0o600)
        except OSError as error:
            if error.errno != errno.EINVAL:
                raise BlobStoreError(f"cannot write blob {key}: {error.strerror or error}") from error
            self.put(key, buffer[:size])
            return
        try:
            try:
                buffer[size:padded] = bytes(padded - size)  # the block's tail: zeros, not a former blob's bytes
                written = 0
                while written < padded:
                    count = os.write(descriptor, buffer[written:padded])
                    if count <= 0 or count % ALIGNMENT:
                        raise OSError(errno.EIO, f"short direct write ({written + max(count, 0)} of {padded} bytes)")
                    written += count
                os.ftruncate(descriptor, size)
                if self.fsync:
                    os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(temporary, path)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise BlobStoreError(f"cannot write blob {key}: {error.strerror or error}") from error

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as error:
            raise BlobMissing(f"blob {key} is missing") from error
        except OSError as error:
            raise BlobStoreError(f"cannot read blob {key}: {error.strerror}") from error

    def get_aligned(self, key: str, buffer: memoryview) -> BlobPart:
        """Read a blob into ``buffer`` (:func:`aligned_buffer`) with direct I/O, bypassing the page cache.

        Verifying a vault reads every blob once: through the page cache that would cost a copy of
        each byte and evict what the catalog needs. A blob larger than ``buffer`` (one planted or
        grown by tampering), or a filesystem without direct I/O, is read the ordinary way.
        """
        path = self._path(key)
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_DIRECT)
        except FileNotFoundError as error:
            raise BlobMissing(f"blob {key} is missing") from error
        except OSError as error:
            if error.errno == errno.EINVAL:
                return self.get(key)
            raise BlobStoreError(f"cannot read blob {key}: {error.strerror}") from error
        try:
            size = os.fstat(descriptor).st_size
            if _round_up(size) > len(buffer):
                return self.get(key)
            done = 0
            while done < size:
                count = os.readv(descriptor, [buffer[done : _round_up(size)]])
                if count <= 0:
                    raise OSError(errno.EIO, f"short direct read ({done} of {size} bytes)")
                done += count
            return buffer[:size]
        except OSError as error:
            raise BlobStoreError(f"cannot read blob {key}: {error.strerror or error}") from error
        finally:
            os.close(descriptor)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def iter_keys(self) -> Iterator[str]:
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                yield path.relative_to(self.root).as_posix()

    def sweep_temporary(self) -> int:
        """Remove temporary files a crash left behind (they were never referenced)."""
        removed = 0
        for path in self.root.rglob(".*.tmp"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
        return removed
