"""The installation's keys: one AES key that wraps every blob's data key, one Ed25519 signing key.

Both are created at first run with mode 0600. Their paths come from the settings so that the keys
can live apart from the data (another disk, an HSM-backed mount). The signing public key is
written beside the private key: it is public and ships with every export.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class KeyError_(RuntimeError):
    """A key file is missing, unreadable or of the wrong kind."""


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def key_id(material: bytes) -> str:
    return hashlib.sha256(material).hexdigest()[:16]


class InstallationKey:
    """The key-encryption key (KEK) of the vault."""

    def __init__(self, material: bytes) -> None:
        if len(material) != 32:
            raise KeyError_("installation key must be 32 bytes (AES-256)")
        self.material = material
        self.id = key_id(material)

    @classmethod
    def load_or_create(cls, path: Path, *, create: bool = True) -> InstallationKey:
        if not path.exists():
            if not create:
                raise KeyError_(f"installation key {path} does not exist")
            _write_secret(path, secrets.token_bytes(32))
        try:
            return cls(path.read_bytes())
        except OSError as error:
            raise KeyError_(f"cannot read installation key {path}: {error.strerror}") from error


def public_key_path(private_path: Path) -> Path:
    return private_path.with_name(private_path.stem + ".pub.pem")


class SigningKey:
    """Ed25519 key signing checkpoints, tombstones, recording seals and audit heads."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self.private = private
        self.public = private.public_key()
        self.public_raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.id = key_id(self.public_raw)

    @classmethod
    def load_or_create(cls, path: Path, *, create: bool = True) -> SigningKey:
        if not path.exists():
            if not create:
                raise KeyError_(f"signing key {path} does not exist")
            key = Ed25519PrivateKey.generate()
            _write_secret(
                path,
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
            )
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as error:
            raise KeyError_(f"cannot load signing key {path}: {error}") from error
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyError_(f"signing key {path} is not an Ed25519 key")
        signer = cls(private)
        public_path = public_key_path(path)
        if not public_path.exists():
            public_path.write_bytes(signer.public_pem())
        return signer

    def public_pem(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, payload: bytes) -> str:
        return self.private.sign(payload).hex()

    def verify(self, payload: bytes, signature_hex: str) -> bool:
        return verify_signature(self.public, payload, signature_hex)


def verify_signature(public: Ed25519PublicKey, payload: bytes, signature_hex: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature_hex), payload)
    except (InvalidSignature, ValueError):
        return False
    return True
