"""Where encrypted blobs live. Callers see opaque keys, never paths.

The local-directory store is the embedded default; an S3 store implements the same protocol.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)*$")


class BlobStoreError(RuntimeError):
    """A blob cannot be written or read (full disk, permissions, missing blob)."""


class BlobMissing(BlobStoreError):
    pass


class BlobStore(Protocol):
    def put(self, key: str, *parts: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def iter_keys(self) -> Iterator[str]: ...


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

    def put(self, key: str, *parts: bytes) -> None:
        """Write the concatenation of ``parts`` as one immutable blob."""
        path = self._path(key)
        if path.exists():
            raise BlobStoreError(f"blob {key} exists already: blobs are immutable")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
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

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as error:
            raise BlobMissing(f"blob {key} is missing") from error
        except OSError as error:
            raise BlobStoreError(f"cannot read blob {key}: {error.strerror}") from error

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
