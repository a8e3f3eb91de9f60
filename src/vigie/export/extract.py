"""Write a recording's plaintext out of the vault: the byte-exact original, or the camera segments joined."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vigie.catalog.models import Recording
from vigie.ingest.segmenter import join_segments
from vigie.vault.store import Vault, VaultError


def extract_recording(vault: Vault, recording: Recording, out: Path) -> str:
    """Returns the sha256 of what was written. Byte-exact recordings are checked against their hash."""
    if out.exists():
        raise VaultError(f"{out} exists already: refusing to overwrite")
    temporary = out.with_name(out.name + ".partial")
    digest = hashlib.sha256()
    try:
        if recording.kind == "bodycam":
            with open(temporary, "wb") as handle:
                for _segment, data in vault.iter_plaintext(recording):
                    digest.update(data)
                    handle.write(data)
            if recording.sha256 and digest.hexdigest() != recording.sha256:
                raise VaultError("extracted bytes do not match the recording's sha256: run 'vigie verify'")
        else:
            join_segments((data for _segment, data in vault.iter_plaintext(recording)), str(temporary))
            digest.update(temporary.read_bytes())
        temporary.replace(out)
    finally:
        temporary.unlink(missing_ok=True)
    return digest.hexdigest()
