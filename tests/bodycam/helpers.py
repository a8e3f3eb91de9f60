"""Helpers of the body-cam tests: tiny real clips, GPS tracks, a tus dock driven through TestClient."""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from vigie.access.audit import Actor
from vigie.catalog.bodycam_models import BodycamRecording, BodycamTrack
from vigie.catalog.models import Recording
from vigie.ingest.bodycam import samples, spatial
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.geo import minute_boxes
from vigie.ingest.bodycam.registry import DeviceView
from vigie.ingest.bodycam.tus import encode_metadata
from vigie.sim import SceneSpec, generate

ADMIN = Actor(name="tester", role="local-admin", client="pytest")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
LYON = (45.7600, 4.8400)
UPLOADS = "/api/bodycam/uploads"
TUS = {"Tus-Resumable": "1.0.0"}


def make_clip(folder: Path, seconds: int = 3, seed: int = 0) -> bytes:
    path = folder / f"clip-{seconds}-{seed}.mp4"
    generate(
        SceneSpec("walkers", width=160, height=96, fps=5, seconds=seconds, seed=seed),
        path,
        write_truth=False,
        crf=35,
        preset="ultrafast",
    )
    return path.read_bytes()


def unique(clip: bytes, tag: str) -> bytes:
    """The clip with a trailing ISO-BMFF free box: plays the same, hashes differently."""
    payload = tag.encode()
    return clip + struct.pack(">I4s", 8 + len(payload), b"free") + payload


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gpx(points: list[tuple[datetime, float, float]]) -> bytes:
    rows = "".join(
        f'<trkpt lat="{lat}" lon="{lon}"><time>{when.isoformat().replace("+00:00", "Z")}</time></trkpt>'
        for when, lat, lon in points
    )
    return (
        '<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{rows}</trkseg></trk></gpx>"
    ).encode()


def walk(
    start: datetime, seconds: int, lat: float = LYON[0], lon: float = LYON[1]
) -> list[tuple[datetime, float, float]]:
    return [(start + timedelta(seconds=s), lat + s * 1e-5, lon + s * 1e-5) for s in range(seconds + 1)]


def event_line(moment: datetime, kind: str, **fields: Any) -> str:
    import json

    return json.dumps({"t": moment.isoformat().replace("+00:00", "Z"), "type": kind, **fields})


@dataclass
class TusDock:
    """A dock speaking tus through a TestClient (or any httpx-like client)."""

    client: TestClient | httpx.Client
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def dock(self, device: str, clock: datetime | None = None) -> str:
        response = self.client.post(
            "/api/bodycam/dockings",
            json={"device": device, "device_clock": (clock or datetime.now(UTC)).isoformat()},
            headers=self.auth,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def track(self, docking: str, sequence: int, data: bytes, name: str = "track.gpx") -> httpx.Response:
        return self.client.put(
            f"/api/bodycam/dockings/{docking}/tracks/{sequence}",
            params={"name": name},
            content=data,
            headers=self.auth,
        )

    def metadata(
        self,
        device: str,
        sequence: int,
        data: bytes,
        *,
        start: datetime = T0,
        seconds: int = 3,
        officer: str | None = "PN-000001",
        docking: str | None = None,
        digest: str | None = None,
        track: str = "track.gpx",
    ) -> dict[str, str]:
        pairs = {
            "device": device,
            "sequence": str(sequence),
            "start": start.isoformat(),
            "end": (start + timedelta(seconds=seconds)).isoformat(),
            "trigger": "manual",
            "sha256": digest or sha256(data),
            "track": track,
            "filename": f"{sequence:06d}.mp4",
        }
        if officer:
            pairs["officer"] = officer
        if docking:
            pairs["docking"] = docking
        return pairs

    def create(self, length: int, metadata: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post(
            UPLOADS,
            headers={
                **TUS,
                **self.auth,
                "Upload-Length": str(length),
                "Upload-Metadata": encode_metadata(metadata),
                **(headers or {}),
            },
        )

    def head(self, url: str) -> httpx.Response:
        return self.client.head(url, headers={**TUS, **self.auth})

    def patch(
        self, url: str, offset: int, data: bytes, *, checksum: str | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        extra = {"Upload-Checksum": checksum} if checksum else {}
        return self.client.patch(
            url,
            content=data,
            headers={
                **TUS,
                **self.auth,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                **extra,
                **(headers or {}),
            },
        )

    def events(self, docking: str, lines: list[str]) -> httpx.Response:
        return self.client.post(
            f"/api/bodycam/dockings/{docking}/events", content="\n".join(lines) + "\n", headers=self.auth
        )

    def upload_whole(self, device: str, sequence: int, data: bytes, docking: str, **kwargs: Any) -> httpx.Response:
        """Track, creation and one PATCH: the plain path."""
        start = kwargs.pop("start", T0)
        assert self.track(docking, sequence, gpx(walk(start, 3))).status_code in (200, 201)
        created = self.create(len(data), self.metadata(device, sequence, data, docking=docking, start=start, **kwargs))
        if created.status_code != 201:
            return created
        return self.patch(created.headers["location"], 0, data)


def checksum_header(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def stored_bytes(context: BodycamContext, recording_id: str) -> bytes:
    recording = context.vault.recording(recording_id)
    return b"".join(data for _, data in context.vault.iter_plaintext(recording))


def index_track(
    context: BodycamContext,
    device: DeviceView,
    sequence: int,
    points: list[tuple[float, float, float]],
    officer: str = "PN-000001",
) -> str:
    """A recording with a GPS track, straight into the catalog and the index (no video: search tests only)."""
    start = datetime.fromtimestamp(points[0][0], tz=UTC)
    end = datetime.fromtimestamp(points[-1][0], tz=UTC)
    source = context.vault.source(device.source_name)
    recording = context.vault.begin_recording(source, start=start, media_info={"officer": officer})
    context.vault.finish(source, recording, end=end)
    with context.catalog.session() as session:
        track = BodycamTrack(
            device_id=device.id,
            sequence=sequence,
            format="gpx",
            file_sha256="0" * 64,
            samples=samples.pack_rows(points),
            point_count=len(points),
            start=start,
            end=end,
            indexed=True,
        )
        session.add(track)
        session.flush()
        session.add(
            BodycamRecording(
                device_id=device.id,
                sequence=sequence,
                recording_id=recording.id,
                officer_matricule=officer,
                trigger="manual",
                start=start,
                end=end,
                device_sha256="0" * 64,
                track_id=track.id,
            )
        )
        spatial.add_boxes(session, spatial.flavour(session), track.id, minute_boxes(points))
        assert session.get(Recording, recording.id) is not None
    return recording.id


# One minute at the same spot in Lyon, one point a second, from T0.
BASE_POINTS = [(T0.timestamp() + second, LYON[0] + second * 1e-6, LYON[1]) for second in range(60)]


def spool_is_empty(context: BodycamContext) -> bool:
    """No ciphertext and no plaintext left (finished uploads' files are deleted off the request path)."""
    from vigie.ingest.bodycam.spool import wait_for_pending_deletions

    wait_for_pending_deletions()
    return not any(context.spool.directory.iterdir())
