"""What may leave instead of an original: privacy-masked and face-redacted derivatives.

Cameras with privacy masks never ship their unmasked segments (CSI L251-3): the export carries a
masked re-encode as a declared derivative, with the original's chain entry and proof.
"""

from __future__ import annotations

from vigie.catalog.models import Source
from vigie.export.bundle import DerivativeHook
from vigie.vault.store import Vault


def derivative_hook(vault: Vault, *, redact_faces: bool = False) -> DerivativeHook | None:
    """The hook for an export; None when every original may leave as it is."""
    try:
        from vigie.privacy import masks  # the privacy package may be absent in a minimal install
    except ImportError:
        return None
    if not hasattr(masks, "masks_for_source") or not hasattr(masks, "MaskedTranscoder"):
        return None

    def hook(source: Source, data: bytes) -> tuple[bytes, dict[str, object]] | None:
        source_masks = masks.masks_for_source(vault.catalog, source)
        if not source_masks:
            return None
        masked = masks.MaskedTranscoder(source_masks).transcode(data)
        return masked, {"kind": "privacy-mask", "withheld": "original withheld: privacy masks (CSI L251-3)"}

    del redact_faces  # face redaction of byte-exact recordings is applied per recording (see privacy.redact)
    return hook
