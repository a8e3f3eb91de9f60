"""What may leave instead of an original: privacy-masked and face-redacted derivatives.

Cameras with privacy masks never ship their unmasked segments (CSI L251-3): the export carries a
masked re-encode as a declared derivative, with the original's chain entry and proof. With
``--redact faces`` every recording ships as its approved face-redacted derivative; a recording
without an approved redaction stops the export (nothing unreviewed leaves).
"""

from __future__ import annotations

import hashlib
from typing import Any

from vigie.catalog.models import Recording, Source
from vigie.export.bundle import DerivativeHook, RedactionHook
from vigie.export.cases import CaseError
from vigie.privacy.masks import masks_for_source
from vigie.privacy.redactions import approved_redaction
from vigie.privacy.transcode import MaskedTranscoder
from vigie.vault.store import Vault


def mask_hook(vault: Vault) -> DerivativeHook:
    """Segments of masked cameras leave masked; others leave as recorded."""

    def hook(source: Source, data: bytes) -> tuple[bytes, dict[str, Any]] | None:
        if source.kind != "camera":
            return None
        masks = masks_for_source(vault.catalog, source)
        if not masks:
            return None
        return MaskedTranscoder(masks).segment(data), {
            "kind": "privacy-mask",
            "masks": [mask.name for mask in masks],
            "withheld": "original withheld: privacy masks applied (CSI L251-3)",
        }

    return hook


def redaction_hook(vault: Vault) -> RedactionHook:
    """The approved face-redacted copy of a recording, or a refusal naming the recording."""

    def hook(recording: Recording) -> tuple[bytes, dict[str, Any]]:
        redaction = approved_redaction(vault.catalog, recording.id)
        if redaction is None:
            raise CaseError(
                f"recording {recording.id} has no approved face redaction: run 'vigie redact {recording.id}', "
                "review it, then 'vigie redact approve'"
            )
        data = vault.get_derived(redaction.video_key)
        if hashlib.sha256(data).hexdigest() != redaction.sha256:
            raise CaseError(f"redaction {redaction.id} does not match its recorded sha256: run 'vigie verify'")
        return data, {
            "kind": "face-redaction",
            "redaction": redaction.id,
            "detector": f"{redaction.detector} {redaction.detector_version}",
            "faces_found": redaction.faces_found,
            "approved_by": redaction.reviewed_by,
            "approved_at": redaction.reviewed_at.isoformat() if redaction.reviewed_at else None,
            "parent_sha256": redaction.parent_sha256,
        }

    return hook
