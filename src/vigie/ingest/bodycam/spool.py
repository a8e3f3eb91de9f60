"""Partial uploads on disk, encrypted: an abandoned half-upload is never readable footage.

Why encrypted and not just a 0600 file: an upload can wait days for its dock to come back, and
spool directories end up in backups and on disks that are swapped out. Each upload gets its own
AES-256 key, sealed under the installation key in the upload's catalog row; the spool file holds
only ciphertext. CTR mode keeps byte *i* of the ciphertext at byte *i* of the file, so the tus
offset is the file size and an append can start at any byte. CTR alone does not authenticate:
integrity comes from the device's sha256, checked over the decrypted bytes before anything is
accepted (an altered spool file fails that check like a corrupted transfer).

Plaintext exists only while a completed upload is imported: decrypted into a private 0700
directory, hashed on the way, and removed as soon as the import ends, whatever its outcome.
The spool directory is 0700 and every file in it 0600 all the same.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

BLOCK = 16
_DELETER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigie-spool-delete")
READ_CHUNK = 4 << 20
_SAFE_NAME = "".join(chr(c) for c in range(0x30, 0x3A)) + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-"


class SpoolBusy(RuntimeError):
    """Another request holds this upload (a dropped PATCH still draining, or two clients at once)."""


@dataclass(frozen=True)
class SpoolKey:
    key: bytes  # 32 bytes
    nonce: bytes  # 16 bytes: the counter block of byte 0

    @classmethod
    def new(cls) -> SpoolKey:
        return cls(secrets.token_bytes(32), secrets.token_bytes(16))

    def pack(self) -> str:
        return (self.key + self.nonce).hex()

    @classmethod
    def unpack(cls, text: str) -> SpoolKey:
        raw = bytes.fromhex(text)
        if len(raw) != 48:
            raise ValueError("spool key must be 48 bytes")
        return cls(raw[:32], raw[32:])

    def cipher_at(self, offset: int) -> CipherContext:
        """A CTR keystream positioned at byte ``offset`` (encryption and decryption are the same)."""
        counter = (int.from_bytes(self.nonce, "big") + offset // BLOCK) % (1 << 128)
        context = Cipher(algorithms.AES(self.key), modes.CTR(counter.to_bytes(16, "big"))).encryptor()
        context.update(b"\0" * (offset % BLOCK))  # skip into the block
        return context


def wait_for_pending_deletions() -> None:
    """Return once every deletion queued by :meth:`Spool.delete_later` so far is done (tests, shutdown)."""
    _DELETER.submit(lambda: None).result()


def safe_file_name(name: str | None, fallback: str) -> str:
    """A device-given file name reduced to something harmless in a path (no separators, no dot-dot)."""
    cleaned = "".join(ch if ch in _SAFE_NAME else "_" for ch in (name or "").strip())[:120].lstrip(".")
    return cleaned or fallback


class Spool:
    def __init__(self, directory: Path, *, fsync: bool = True) -> None:
        self.directory = directory
        self.fsync = fsync
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)  # also when it existed with a laxer mode

    def path(self, upload_id: str) -> Path:
        if not upload_id or any(ch not in _SAFE_NAME or ch == "." for ch in upload_id):
            raise ValueError("bad upload id")
        return self.directory / f"{upload_id}.part"

    def create(self, upload_id: str) -> None:
        descriptor = os.open(self.path(upload_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(descriptor)

    def exists(self, upload_id: str) -> bool:
        return self.path(upload_id).exists()

    def delete(self, upload_id: str) -> None:
        self.path(upload_id).unlink(missing_ok=True)
        self.delete_plaintext(upload_id)

    def delete_later(self, upload_id: str) -> None:
        """Delete a finished upload's ciphertext off the request path (unlinking gigabytes takes a while).

        Only ciphertext is ever deleted late; plaintext goes at once (:meth:`delete_plaintext`). A file
        left by a crash before this ran is removed by :meth:`sweep_orphans`.
        """
        _DELETER.submit(self.path(upload_id).unlink, missing_ok=True)

    def sweep_orphans(self, live: set[str]) -> int:
        """Remove spool files and plaintext folders of uploads that are not ``live`` (still receiving)."""
        removed = 0
        for entry in self.directory.iterdir():
            upload_id = entry.name.split(".", 1)[0]
            if upload_id in live:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
        return removed

    def delete_plaintext(self, upload_id: str) -> None:
        shutil.rmtree(self.directory / f"{upload_id}.plain", ignore_errors=True)

    def size(self, upload_id: str) -> int:
        return self.path(upload_id).stat().st_size

    @contextmanager
    def locked(self, upload_id: str, wait_seconds: float, *, exclusive: bool = True) -> Iterator[BinaryIO]:
        """The spool file opened for append under an advisory lock (across processes and threads)."""
        handle = open(self.path(upload_id), "r+b")  # noqa: SIM115 - closed in the finally below
        try:
            deadline = time.monotonic() + wait_seconds
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            while True:
                try:
                    fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise SpoolBusy("this upload is busy with another request") from None
                    time.sleep(0.02)
            yield handle
        finally:
            handle.close()  # also releases the lock


class SpoolWriter:
    """Appends plaintext at the spool file's end, encrypting on the way; ``rollback`` undoes this request's bytes."""

    def __init__(self, handle: BinaryIO, key: SpoolKey, *, fsync: bool) -> None:
        self.handle = handle
        self.start = handle.seek(0, os.SEEK_END)
        self.offset = self.start
        self.fsync = fsync
        self._cipher = key.cipher_at(self.start)

    def write(self, plaintext: bytes) -> None:
        if plaintext:
            self.handle.write(self._cipher.update(plaintext))
            self.offset += len(plaintext)

    def commit(self) -> int:
        self.handle.flush()
        if self.fsync:
            os.fsync(self.handle.fileno())
        return self.offset

    def rollback(self) -> int:
        self.handle.flush()
        self.handle.truncate(self.start)
        self.offset = self.start
        if self.fsync:
            os.fsync(self.handle.fileno())
        return self.start


def decrypt_to_private_file(spool: Spool, upload_id: str, key: SpoolKey, file_name: str) -> tuple[Path, str]:
    """Decrypt a complete upload into ``<spool>/<id>.plain/<file_name>`` (0700 dir, 0600 file); returns its sha256.

    The caller removes it with :meth:`Spool.delete_plaintext` as soon as the import is over.
    """
    folder = spool.directory / f"{upload_id}.plain"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    target = folder / file_name
    digest = hashlib.sha256()
    cipher = key.cipher_at(0)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(spool.path(upload_id), "rb") as source, os.fdopen(descriptor, "wb") as sink:
        while block := source.read(READ_CHUNK):
            plain = cipher.update(block)
            digest.update(plain)
            sink.write(plain)
    return target, digest.hexdigest()
