"""Small secrets kept in the catalog (TOTP seeds) are sealed under the installation key.

A copy of the database alone then gives no second factor: the key lives apart from the data.
"""

from __future__ import annotations

import base64

from vigie.vault.envelope import open_sealed, seal
from vigie.vault.keys import InstallationKey


class SecretBox:
    def __init__(self, key: InstallationKey) -> None:
        self.key = key

    def seal(self, secret: str) -> str:
        return base64.b64encode(seal(secret.encode(), self.key)).decode("ascii")

    def open(self, sealed: str) -> str:
        return open_sealed(base64.b64decode(sealed), self.key).decode()
