"""Blobs opened into a reusable buffer authenticate exactly like blobs opened into a new object."""

from __future__ import annotations

import os
import secrets

import pytest

from vigie.vault.blobstore import aligned_buffer
from vigie.vault.envelope import EnvelopeError, open_sealed, open_sealed_into, seal, seal_into, sealed_size
from vigie.vault.keys import InstallationKey


@pytest.fixture
def kek() -> InstallationKey:
    return InstallationKey(secrets.token_bytes(32))


def test_a_blob_opens_into_a_reused_buffer_with_its_exact_plaintext(kek: InstallationKey) -> None:
    plaintext = os.urandom(100_000)
    sealed = aligned_buffer(sealed_size(len(plaintext)))
    size = seal_into(plaintext, kek, sealed)
    out = aligned_buffer(200_000)
    out[:] = b"\xaa" * len(out)  # a former plaintext: the view handed back must not reach it
    opened = open_sealed_into(sealed[:size], kek, out)
    assert bytes(opened) == plaintext == open_sealed(sealed[:size], kek)
    assert len(opened) == len(plaintext)


def test_an_altered_blob_fails_authentication_into_a_buffer(kek: InstallationKey) -> None:
    blob = bytearray(seal(b"evidence" * 1000, kek))
    blob[500] ^= 1
    with pytest.raises(EnvelopeError, match="authentication"):
        open_sealed_into(blob, kek, aligned_buffer(8000))
    with pytest.raises(EnvelopeError, match="installation key"):
        open_sealed_into(seal(b"x", kek), InstallationKey(secrets.token_bytes(32)), aligned_buffer(16))
    with pytest.raises(EnvelopeError, match="not a Vigie blob"):
        open_sealed_into(b"VGB1short", kek, aligned_buffer(16))


def test_a_buffer_too_small_for_the_plaintext_is_refused(kek: InstallationKey) -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        open_sealed_into(seal(b"x" * 5000, kek), kek, memoryview(bytearray(4096)))
