"""Read a recording's plaintext out of the vault as a seekable file, without writing it to disk.

Body-cam files are stored byte-exact in fixed-size chunks; an MP4 keeps its index at either end,
so the decoder seeks. This reader maps every offset to its chunk, opens (decrypts) chunks on demand
and keeps the last few in memory: no plaintext footage lands in a temporary file.
"""

from __future__ import annotations

import bisect
import io
from collections import OrderedDict
from typing import Any

from vigie.catalog.models import Recording
from vigie.vault.store import Vault, VaultError


class RecordingReader(io.RawIOBase):
    def __init__(self, vault: Vault, recording: Recording, *, cached_chunks: int = 3) -> None:
        super().__init__()
        self.vault = vault
        self.segments = vault.segments(recording)
        for segment in self.segments:
            if segment.purged_at is not None:
                raise VaultError(f"segment {segment.seq} of recording {recording.id} was purged by retention")
        self._starts: list[int] = []
        position = 0
        for segment in self.segments:
            self._starts.append(position)
            position += segment.size
        self.size = position
        self._position = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cached_chunks = cached_chunks

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def _chunk(self, index: int) -> bytes:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        data = self.vault.read(self.segments[index])
        self._cache[index] = data
        if len(self._cache) > self._cached_chunks:
            self._cache.popitem(last=False)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self.size or not view.nbytes:
            return 0
        index = bisect.bisect_right(self._starts, self._position) - 1
        chunk = self._chunk(index)
        start = self._position - self._starts[index]
        count = min(view.nbytes, len(chunk) - start)
        view[:count] = chunk[start : start + count]
        self._position += count
        return count
