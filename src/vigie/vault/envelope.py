"""Envelope encryption of blobs: AES-256-GCM under a fresh data key, wrapped by the installation key.

Blob layout (all of it authenticated, the header as associated data)::

    b"VGB1" | kek id (8 bytes) | wrapped data key (40 bytes, RFC 3394 key wrap) | nonce (12) | ciphertext+tag

A blob is self-contained: it can be moved or copied and still opened with the installation key,
so verification can tell a blob swapped with another (its plaintext hash belongs elsewhere)
from a blob altered in place (authentication fails).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from vigie.vault.keys import InstallationKey

MAGIC = b"VGB1"
_HEADER = len(MAGIC) + 8 + 40 + 12


class EnvelopeError(RuntimeError):
    """A blob cannot be opened: altered, truncated, or sealed under another installation key."""


def _fresh_header(kek: InstallationKey) -> tuple[bytes, bytes, bytes]:
    """(data key, nonce, header) for one new blob: every blob has its own data key."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    return data_key, nonce, MAGIC + bytes.fromhex(kek.id) + aes_key_wrap(kek.material, data_key) + nonce


def seal_parts(plaintext: bytes, kek: InstallationKey) -> tuple[bytes, bytes]:
    """(header, ciphertext): written one after the other, they are the blob (no 8 MiB concatenation)."""
    data_key, nonce, header = _fresh_header(kek)
    return header, AESGCM(data_key).encrypt(nonce, plaintext, header)


def seal_into(plaintext: bytes | bytearray | memoryview, kek: InstallationKey, out: memoryview) -> int:
    """Seal ``plaintext`` into ``out`` as one contiguous blob; returns the blob's length.

    Bulk imports seal chunk after chunk into one reusable (page-aligned) buffer: no 8 MiB object
    is allocated per chunk, and the buffer can be written with direct I/O as it is.
    """
    data_key, nonce, header = _fresh_header(kek)
    size = sealed_size(len(plaintext))
    out[:_HEADER] = header
    AESGCM(data_key).encrypt_into(nonce, plaintext, header, out[_HEADER:size])
    return size


def seal(plaintext: bytes, kek: InstallationKey) -> bytes:
    return b"".join(seal_parts(plaintext, kek))


def open_sealed(blob: bytes | bytearray | memoryview, kek: InstallationKey) -> bytes:
    data_key, nonce, header = _open_header(blob, kek)
    try:
        return AESGCM(data_key).decrypt(nonce, memoryview(blob)[_HEADER:], header)
    except InvalidTag as error:
        raise EnvelopeError("blob failed authentication (altered or corrupted)") from error


def open_sealed_into(blob: bytes | bytearray | memoryview, kek: InstallationKey, out: memoryview) -> memoryview:
    """Open ``blob`` into ``out`` (a reusable buffer); returns the plaintext's part of it.

    Verification opens gigabytes blob after blob: a fresh 8 MiB object per blob would be fresh
    memory each time, which a virtual machine pays for in page faults.
    """
    data_key, nonce, header = _open_header(blob, kek)
    size = len(blob) - _HEADER - 16
    if size > len(out):
        raise ValueError(f"a {len(out)}-byte buffer cannot hold a {size}-byte plaintext")
    try:
        AESGCM(data_key).decrypt_into(nonce, memoryview(blob)[_HEADER:], header, out[:size])
    except InvalidTag as error:
        raise EnvelopeError("blob failed authentication (altered or corrupted)") from error
    return out[:size]


def _open_header(blob: bytes | bytearray | memoryview, kek: InstallationKey) -> tuple[bytes, bytes, bytes]:
    """(data key, nonce, header) of a sealed blob, checked against this installation key."""
    header = bytes(blob[:_HEADER])
    if len(blob) < _HEADER + 16 or not header.startswith(MAGIC):
        raise EnvelopeError("not a Vigie blob (bad header or truncated)")
    blob_kek_id = header[4:12].hex()
    if blob_kek_id != kek.id:
        raise EnvelopeError(f"blob sealed under installation key {blob_kek_id}, this key is {kek.id}")
    try:
        data_key = aes_key_unwrap(kek.material, header[12:52])
    except InvalidUnwrap as error:
        raise EnvelopeError("blob failed authentication (altered or corrupted)") from error
    return data_key, header[52:64], header


def sealed_size(plaintext_size: int) -> int:
    return _HEADER + plaintext_size + 16
