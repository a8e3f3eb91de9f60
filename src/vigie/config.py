"""The one settings model of Vigie.

Every tunable lives here: environment variables ``VIGIE_*`` (nested with ``__``), an optional YAML
file (``VIGIE_CONFIG`` or ``$VIGIE_HOME/vigie.yaml``), then defaults that run embedded (SQLite and a
local vault under ``VIGIE_HOME``). Legal caps are checked here so a configuration above the law is
refused before anything runs.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

_PERIOD = re.compile(r"^P(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?$")


class RetentionPeriod(BaseModel):
    """A retention length as the law writes it: whole calendar months or days (ISO 8601 ``P1M``, ``P15D``).

    The law says "un mois", not "30 days": months are calendar months, added to the start date.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    months: int = Field(0, ge=0, title="Months", description="Calendar months.")
    days: int = Field(0, ge=0, title="Days", description="Days added after the months.")

    @classmethod
    def parse(cls, text: str) -> RetentionPeriod:
        match = _PERIOD.match(text.strip().upper())
        if not match or not (match["months"] or match["days"]):
            raise ValueError(f"retention period {text!r} is not of the form P1M, P15D or P1M10D")
        return cls(months=int(match["months"] or 0), days=int(match["days"] or 0))

    def iso(self) -> str:
        return "P" + (f"{self.months}M" if self.months else "") + (f"{self.days}D" if self.days else "")

    def add_to(self, start: datetime) -> datetime:
        return add_months(start, self.months) + timedelta(days=self.days)

    def clearly_exceeds(self, cap: RetentionPeriod) -> bool:
        """True when this period is longer than the cap whatever the start date.

        Borderline periods (``P31D`` against one month) are accepted and clamped by
        :func:`expiry_within_cap`, so the cap is never exceeded at run time either.
        """
        return self.months > cap.months or self.months * 28 + self.days > cap.months * 31 + cap.days


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar-month addition, clamping to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    if months == 0:
        return moment
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


class RetentionProfile(StrEnum):
    """Who filmed, which decides the legal maximum retention."""

    CAMERA = "camera"  # vidéoprotection, CSI L252-5
    BODYCAM_POLICE = "bodycam_police"  # R241-4 since décret 2022-605
    BODYCAM_GENDARMERIE = "bodycam_gendarmerie"  # R241-4
    BODYCAM_MUNICIPAL = "bodycam_municipal"  # R241-4 since décret 2022-1395
    BODYCAM_FIREFIGHTERS = "bodycam_firefighters"  # six months still apply
    BODYCAM_PRISON = "bodycam_prison"  # same one-month rule as police in practice


LEGAL_CAPS: dict[RetentionProfile, RetentionPeriod] = {
    RetentionProfile.CAMERA: RetentionPeriod(months=1),
    RetentionProfile.BODYCAM_POLICE: RetentionPeriod(months=1),
    RetentionProfile.BODYCAM_GENDARMERIE: RetentionPeriod(months=1),
    RetentionProfile.BODYCAM_MUNICIPAL: RetentionPeriod(months=1),
    RetentionProfile.BODYCAM_FIREFIGHTERS: RetentionPeriod(months=6),
    RetentionProfile.BODYCAM_PRISON: RetentionPeriod(months=1),
}


def check_under_cap(profile: RetentionProfile, period: RetentionPeriod) -> RetentionPeriod:
    cap = LEGAL_CAPS[profile]
    if period.clearly_exceeds(cap):
        raise ValueError(
            f"retention {period.iso()} for {profile.value} exceeds the legal maximum {cap.iso()}"
        )
    return period


def expiry_within_cap(profile: RetentionProfile, period: RetentionPeriod, start: datetime) -> datetime:
    """When footage that started at ``start`` must be gone: the configured period, never past the legal cap."""
    return min(period.add_to(start), LEGAL_CAPS[profile].add_to(start))


class VaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    directory: Path | None = Field(
        None, title="Vault directory", description="Where encrypted blobs live. Default: $VIGIE_HOME/vault."
    )
    installation_key_file: Path | None = Field(
        None,
        title="Installation key file",
        description="32-byte AES key wrapping every blob's data key (mode 0600). Keep it apart from the data "
        "in production. Default: $VIGIE_HOME/keys/installation.key.",
    )
    signing_key_file: Path | None = Field(
        None,
        title="Signing key file",
        description="Ed25519 private key (PEM) that signs checkpoints and tombstones. "
        "Default: $VIGIE_HOME/keys/signing.pem; the public key is written beside it.",
    )
    segment_seconds: float = Field(
        4.0, gt=0.5, le=30, title="Camera segment length", description="Target fMP4 segment length, cut at keyframes."
    )
    chunk_bytes: int = Field(
        8 << 20, ge=64 << 10, title="Byte-exact chunk size", description="Body-cam files are stored in chunks this big."
    )
    checkpoint_seconds: int = Field(
        3600, ge=60, title="Checkpoint period", description="A signed checkpoint per source per period while recording."
    )


class RetentionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    periods: dict[RetentionProfile, RetentionPeriod] = Field(
        default_factory=lambda: dict(LEGAL_CAPS),
        title="Retention per profile",
        description="Never above the legal cap (fixed cameras: 1 month, body-cams: 1 month, firefighters: 6 months).",
    )

    @field_validator("periods", mode="before")
    @classmethod
    def _parse_periods(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: RetentionPeriod.parse(v) if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _under_caps(self) -> RetentionSettings:
        for profile, period in self.periods.items():
            check_under_cap(profile, period)
        for profile, cap in LEGAL_CAPS.items():
            self.periods.setdefault(profile, cap)
        return self


class Settings(BaseSettings):
    """Vigie's configuration. Embedded defaults: everything under ``home``."""

    model_config = SettingsConfigDict(env_prefix="VIGIE_", env_nested_delimiter="__", extra="forbid")
    yaml_file: ClassVar[Path | None] = None

    home: Path = Field(Path("vigie-data"), title="Home", description="Catalog, vault and keys of this installation.")
    database_url: str | None = Field(
        None,
        title="Catalog database URL",
        description="SQLAlchemy URL. Default: SQLite at $VIGIE_HOME/catalog.sqlite. "
        "At scale: postgresql+psycopg://user@host/db.",
    )
    vault: VaultSettings = Field(default_factory=VaultSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    operator: str = Field(
        default_factory=lambda: os.environ.get("USER") or "cli",
        title="CLI operator",
        description="Who the audit log names for command-line actions (until users exist, the OS account).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    # Resolved paths: every consumer asks here, nobody rebuilds them.
    @property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'catalog.sqlite').resolve()}"

    @property
    def vault_dir(self) -> Path:
        return self.vault.directory or self.home / "vault"

    @property
    def installation_key_file(self) -> Path:
        return self.vault.installation_key_file or self.home / "keys" / "installation.key"

    @property
    def signing_key_file(self) -> Path:
        return self.vault.signing_key_file or self.home / "keys" / "signing.pem"

    def retention_for(self, profile: RetentionProfile) -> RetentionPeriod:
        return self.retention.periods[profile]


class _YamlSource(PydanticBaseSettingsSource):
    """Reads ``VIGIE_CONFIG`` or ``$VIGIE_HOME/vigie.yaml`` when present."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover - unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        explicit = os.environ.get("VIGIE_CONFIG")
        home = Path(os.environ.get("VIGIE_HOME", "vigie-data"))
        path = Path(explicit) if explicit else home / "vigie.yaml"
        if not path.exists():
            if explicit:
                raise ValueError(f"configuration file {path} does not exist")
            return {}
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"configuration file {path} must hold a mapping")
        return data


def load_settings(home: Path | None = None) -> Settings:
    if home is not None:
        os.environ["VIGIE_HOME"] = str(home)
        return Settings(home=home)
    return Settings()
