"""Why the body-cam intake refuses something: an HTTP status, a stable code, one clear sentence."""

from __future__ import annotations


class BodycamRefusal(Exception):
    """Bad input from a dock or a device. ``code`` is stable (docks and scripts rely on it)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# tus checksum extension: "460 Checksum Mismatch" (also used when the whole file's sha256 differs).
CHECKSUM_MISMATCH = 460
