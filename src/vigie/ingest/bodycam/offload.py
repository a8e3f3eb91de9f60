"""The dock side: offload what docked devices hold to a Vigie server, resumably (tus, via tuspy).

A dock directory holds one folder per device (as ``vigie simulate bodycams`` writes them)::

    <serial>/device.json                    serial, clock offset the device has, battery
    <serial>/events.jsonl                   the device's event log
    <serial>/recordings/<seq>.json          manifest: sequence, officer, start, end, trigger, sha256, files
    <serial>/recordings/<seq>.mp4 | .gpx | .nmea

Per device: open a docking (the clock check), then per recording send its GPS track and its video
(tus, with a sha256 per PATCH), then the event log, last, so reconciliation sees every upload.
Upload URLs are remembered in ``.offload-state.json`` beside the device folders: an offload cut
at any byte resumes where it stopped when run again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError
from tusclient.fingerprint.interface import Fingerprint
from tusclient.storage.filestorage import FileStorage
from tusclient.uploader.uploader import Uploader

UPLOADS_PATH = "/api/bodycam/uploads"
DOCKINGS_PATH = "/api/bodycam/dockings"
STATE_FILE = ".offload-state.json"
DEFAULT_CHUNK = 4 << 20


class OffloadError(RuntimeError):
    """The server refused the dock itself (bad token, unreachable): nothing can be offloaded."""


class Sha256Uploader(Uploader):
    """tuspy's uploader with the tus checksum extension on sha256 (tuspy's default is sha1)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


class RecordingFingerprint(Fingerprint):
    """Resume key of one recording. tuspy's default (first 64 KiB + size) confuses files that differ only at the end."""

    def __init__(self, key: str) -> None:
        self.key = key

    def get_fingerprint(self, fs: Any) -> str:
        return self.key


@dataclass
class DeviceOffload:
    device: str
    docking: str | None = None
    clock_offset_seconds: float | None = None
    clock_flagged: bool = False
    uploaded: int = 0
    already_received: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    bytes: int = 0
    events: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class OffloadReport:
    devices: list[DeviceOffload] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def uploaded(self) -> int:
        return sum(device.uploaded for device in self.devices)

    @property
    def bytes(self) -> int:
        return sum(device.bytes for device in self.devices)

    def as_json(self) -> dict[str, Any]:
        return {
            "devices": [device.__dict__ for device in self.devices],
            "uploaded": self.uploaded,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
        }


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"{response.status_code} {body.get('code')}: {body.get('detail')}"
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"


def _code_of(content: Any) -> str | None:
    try:
        data = json.loads(content) if content else {}
    except (ValueError, TypeError):
        return None
    return str(data.get("code")) if isinstance(data, dict) and data.get("code") else None


class DockClient:
    def __init__(
        self,
        server: str,
        token: str,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        state_file: Path | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.chunk_size = chunk_size
        self.progress = progress
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.Client(base_url=self.server, headers=self.headers, timeout=120.0)
        self.tus = TusClient(self.server + UPLOADS_PATH, headers=dict(self.headers))
        self.storage = FileStorage(str(state_file)) if state_file else None  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self.http.close()
        if self.storage is not None:
            self.storage.close()  # type: ignore[no-untyped-call]

    # -- the steps of one docking ------------------------------------------------------------------
    def open_docking(self, serial: str, device_clock: datetime, battery: float | None = None) -> dict[str, Any]:
        response = self.http.post(
            DOCKINGS_PATH, json={"device": serial, "device_clock": device_clock.isoformat(), "battery_percent": battery}
        )
        if response.status_code in (401, 403):
            raise OffloadError(f"the server refused this dock: {_problem(response)}")
        if response.status_code != 201:
            raise RuntimeError(f"docking refused: {_problem(response)}")
        return dict(response.json())

    def send_track(self, docking: str, sequence: int, path: Path) -> dict[str, Any]:
        response = self.http.put(
            f"{DOCKINGS_PATH}/{docking}/tracks/{sequence}",
            params={"name": path.name},
            content=path.read_bytes(),
            headers={"Content-Type": "application/gpx+xml" if path.suffix == ".gpx" else "text/plain"},
        )
        if response.status_code not in (200, 201):
            raise RuntimeError(f"track of sequence {sequence} refused: {_problem(response)}")
        return dict(response.json())

    def send_events(self, docking: str, path: Path) -> dict[str, Any]:
        response = self.http.post(
            f"{DOCKINGS_PATH}/{docking}/events",
            content=path.read_bytes(),
            headers={"Content-Type": "application/x-ndjson"},
        )
        if response.status_code != 200:
            raise RuntimeError(f"event log refused: {_problem(response)}")
        return dict(response.json())

    def upload(self, path: Path, metadata: dict[str, str]) -> tuple[str, str | None]:
        """Send one recording; ('uploaded' | 'already' | 'refused', server code)."""
        key = f"{metadata['device']}:{metadata['sequence']}:{metadata['sha256']}"
        fingerprint = RecordingFingerprint(key)
        try:
            uploader = self._uploader(path, metadata, fingerprint)
        except TusCommunicationError:
            # The remembered upload is gone (expired, refused): start it again from zero.
            if self.storage is not None:
                self.storage.remove_item(key)
            uploader = self._uploader(path, metadata, fingerprint)
        try:
            while True:
                if not uploader.url:
                    uploader.set_url(uploader.create_url())
                    uploader.offset = 0
                if uploader.offset >= uploader.get_file_size():  # type: ignore[no-untyped-call]
                    break
                before = uploader.offset
                uploader.upload_chunk()  # type: ignore[no-untyped-call]
                if self.progress:
                    self.progress(uploader.offset - before)
        except TusCommunicationError as error:
            code = _code_of(error.response_content)
            if self.storage is not None and error.status_code not in (423, None):
                self.storage.remove_item(key)
            if error.status_code == 409 and code == "already_received":
                return "already", code
            if error.status_code in (400, 409, 410, 413, 422, 460):
                return "refused", code or str(error.status_code)
            raise
        if self.storage is not None:
            self.storage.remove_item(key)
        return "uploaded", None

    def _uploader(self, path: Path, metadata: dict[str, str], fingerprint: Fingerprint) -> Sha256Uploader:
        return Sha256Uploader(
            file_path=str(path),
            client=self.tus,
            chunk_size=self.chunk_size,
            metadata=metadata,
            retries=3,
            retry_delay=1,
            store_url=self.storage is not None,
            url_storage=self.storage,
            fingerprinter=fingerprint,
            upload_checksum=True,
        )

    # -- a whole device ----------------------------------------------------------------------------
    def offload_device(
        self, folder: Path, *, now: Callable[[], datetime] | None = None, wipe: bool = False
    ) -> DeviceOffload:
        """Offload one device folder. ``wipe`` deletes each recording's files once the server holds them
        (LAW.md A.6: files leave the device once their hash is confirmed)."""
        info = json.loads((folder / "device.json").read_text())
        serial = str(info["serial"])
        result = DeviceOffload(device=serial)
        clock = (now or (lambda: datetime.now(UTC)))() + timedelta(seconds=float(info.get("clock_offset_seconds", 0)))
        docking = self.open_docking(serial, clock, info.get("battery_percent"))
        result.docking = str(docking["id"])
        result.clock_offset_seconds = float(docking["clock_offset_seconds"])
        result.clock_flagged = bool(docking["clock_flagged"])
        for manifest_path in sorted((folder / "recordings").glob("*.json")):
            manifest = json.loads(manifest_path.read_text())
            video = manifest_path.with_name(manifest["file"])
            track = manifest_path.with_name(manifest["track"])
            self.send_track(result.docking, int(manifest["sequence"]), track)
            metadata = {
                "device": serial,
                "sequence": str(manifest["sequence"]),
                "officer": str(manifest.get("officer") or ""),
                "start": str(manifest["start"]),
                "end": str(manifest["end"]),
                "trigger": str(manifest["trigger"]),
                "sha256": str(manifest["sha256"]),
                "track": track.name,
                "filename": video.name,
                "docking": result.docking,
            }
            outcome, code = self.upload(video, {key: value for key, value in metadata.items() if value})
            if outcome == "uploaded":
                result.uploaded += 1
                result.bytes += video.stat().st_size
            elif outcome == "already":
                result.already_received += 1
            else:
                result.refused.append({"sequence": int(manifest["sequence"]), "code": code})
            if wipe and outcome in ("uploaded", "already"):
                for path in (video, track, manifest_path):
                    path.unlink(missing_ok=True)
        events = folder / "events.jsonl"
        if events.exists():
            result.events = self.send_events(result.docking, events)
        return result


def device_folders(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if path.is_dir() and (path / "device.json").exists())


def offload_directory(
    directory: Path,
    server: str,
    token: str,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
    devices: list[str] | None = None,
    wipe: bool = False,
) -> OffloadReport:
    started = time.monotonic()
    report = OffloadReport()
    client = DockClient(server, token, chunk_size=chunk_size, state_file=directory / STATE_FILE, progress=progress)
    try:
        for folder in device_folders(directory):
            if devices and folder.name not in devices:
                continue
            try:
                report.devices.append(client.offload_device(folder, wipe=wipe))
            except OffloadError:
                raise
            except (RuntimeError, TusCommunicationError, httpx.HTTPError, KeyError, ValueError) as error:
                report.devices.append(DeviceOffload(device=folder.name, error=str(error).splitlines()[0][:300]))
    finally:
        client.close()
    report.seconds = time.monotonic() - started
    return report
