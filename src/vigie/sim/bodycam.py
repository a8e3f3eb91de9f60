"""The dock simulator: what body-worn cameras hold when they come back from their shifts.

For each device and day it writes small real MP4s (a few tiny clips encoded once, each copy made
unique by a trailing ISO-BMFF ``free`` box, so every recording has its own sha256 and still plays),
a GPS track per recording (GPX, or NMEA for some device models) walking the streets of a grid city
around a configurable centre, the device's event log (device clock, which may drift), and a
manifest per recording. Some recordings are deliberately withheld (``missing_rate``): their files
are absent while the log still says they were recorded; a quarter of those also vanish from the log,
leaving a hole in the sequence numbers. ``truth.json`` lists every withheld recording as
``{"device": serial, "sequence": n}``, sorted, and nothing else: it is what a completeness check
must find.

Layout of the output directory::

    truth.json, devices.json, assignments.json
    <serial>/device.json, <serial>/events.jsonl
    <serial>/recordings/<seq>.json | .mp4 | .gpx | .nmea
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import shutil
import struct
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from vigie.sim.scene import SceneSpec, Variant
from vigie.sim.writer import generate

# The base clips: short, tiny and low-rate so a month of a city's devices is still quick to write.
CLIP_SECONDS = (8, 15, 30)
CLIP_SIZE = (160, 96)
CLIP_FPS = 5
FORCES = (("police", 0.45), ("gendarmerie", 0.25), ("municipal", 0.2), ("firefighters", 0.05), ("prison", 0.05))
FORCE_PREFIX = {"police": "PN", "gendarmerie": "GN", "municipal": "PM", "firefighters": "SP", "prison": "AP"}
TRIGGERS = (("manual", 0.7), ("holster", 0.1), ("vehicle", 0.1), ("taser", 0.05), ("remote", 0.05))
STREET_SPACING_M = 110.0
METRES_PER_DEGREE_LAT = 111_195.0
SHIFTS = ((6, 14), (14, 22))  # UTC hours of the two day shifts


@dataclass(frozen=True)
class BodycamSimSpec:
    devices: int = 5
    days: int = 1
    missing_rate: float = 0.0
    seed: int = 0
    centre_lat: float = 45.7600
    centre_lon: float = 4.8400
    city_radius_m: float = 1500.0
    first_day: date | None = None  # default: the `days` days before today (UTC)
    recordings_per_shift: tuple[int, int] = (2, 5)
    nmea_share: float = 0.25  # devices whose model writes NMEA instead of GPX
    drifting_clock_share: float = 0.15  # devices whose clock is off by more than a docking threshold
    serial_prefix: str = "BWC"

    def __post_init__(self) -> None:
        if self.devices < 1 or self.days < 1:
            raise ValueError("devices and days must be at least 1")
        if not 0.0 <= self.missing_rate <= 1.0:
            raise ValueError("missing_rate must be between 0 and 1")
        if not (-90 < self.centre_lat < 90 and -180 <= self.centre_lon <= 180):
            raise ValueError("centre is not a position")
        low, high = self.recordings_per_shift
        if not 1 <= low <= high:
            raise ValueError("recordings_per_shift must be (low, high) with 1 <= low <= high")


@dataclass
class SimulatedRecording:
    device: str
    sequence: int
    officer: str
    start: datetime  # true time
    seconds: int
    trigger: str
    withheld: bool = False
    erased_from_log: bool = False


@dataclass
class SimulationResult:
    directory: Path
    devices: list[dict[str, Any]]
    recordings: list[SimulatedRecording] = field(default_factory=list)
    withheld: list[dict[str, Any]] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(1 for recording in self.recordings if not recording.withheld)


def _weighted(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([name for name, _ in table], weights=[weight for _, weight in table])[0]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StreetGrid:
    """A grid city: north-south and east-west streets every ~110 m around the centre."""

    def __init__(self, lat: float, lon: float, radius_m: float) -> None:
        self.lat, self.lon = lat, lon
        self.dlat = STREET_SPACING_M / METRES_PER_DEGREE_LAT
        self.dlon = STREET_SPACING_M / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat)))
        self.half = max(1, int(radius_m // STREET_SPACING_M))

    def position(self, i: float, j: float) -> tuple[float, float]:
        return self.lat + i * self.dlat, self.lon + j * self.dlon

    def walk(
        self, rng: random.Random, seconds: int, speed_mps: float, start: tuple[int, int]
    ) -> list[tuple[float, float]]:
        """One position per second along the streets, turning at some crossings, never leaving the city."""
        i, j = float(start[0]), float(start[1])
        di, dj = rng.choice(((1, 0), (-1, 0), (0, 1), (0, -1)))
        step = speed_mps / STREET_SPACING_M  # grid cells per second
        positions = []
        for _ in range(seconds + 1):
            positions.append(self.position(i, j))
            if di:
                i, di, dj, j = self._advance(rng, i, di, j, step)
            else:
                j, dj, di, i = self._advance(rng, j, dj, i, step)
        return positions

    def _advance(
        self, rng: random.Random, along: float, direction: int, across: float, step: float
    ) -> tuple[float, int, int, float]:
        """Move along one axis; at a crossing maybe turn onto the cross street. (along, dir, cross dir, across)."""
        moved = along + direction * step
        if abs(moved) > self.half:
            return along - direction * step, -direction, 0, across
        crossing = math.floor(moved) if direction > 0 else math.ceil(moved)
        passed = (math.floor(moved) > math.floor(along)) if direction > 0 else (math.ceil(moved) < math.ceil(along))
        if passed and rng.random() < 0.35:
            return float(crossing), 0, rng.choice((1, -1)), across
        return moved, direction, 0, across


def _gpx(points: list[tuple[datetime, float, float, float]]) -> str:
    rows = "\n".join(
        f'      <trkpt lat="{lat:.7f}" lon="{lon:.7f}"><time>{_iso(when)}</time><hdop>{hdop:.1f}</hdop></trkpt>'
        for when, lat, lon, hdop in points
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="vigie-sim" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"  <trk><name>bodycam</name><trkseg>\n{rows}\n  </trkseg></trk>\n</gpx>\n"
    )


def _nmea_checksum(body: str) -> str:
    value = 0
    for char in body:
        value ^= ord(char)
    return f"{value:02X}"


def _nmea_coordinate(value: float, positive: str, negative: str, width: int) -> tuple[str, str]:
    hemisphere = positive if value >= 0 else negative
    value = abs(value)
    degrees = int(value)
    minutes = (value - degrees) * 60
    return f"{degrees:0{width}d}{minutes:07.4f}", hemisphere


def _nmea(points: list[tuple[datetime, float, float, float]]) -> str:
    lines = []
    for when, lat, lon, hdop in points:
        lat_text, ns = _nmea_coordinate(lat, "N", "S", 2)
        lon_text, ew = _nmea_coordinate(lon, "E", "W", 3)
        clock = when.strftime("%H%M%S.") + f"{when.microsecond // 10000:02d}"
        day = when.strftime("%d%m%y")
        rmc = f"GPRMC,{clock},A,{lat_text},{ns},{lon_text},{ew},0.8,0.0,{day},,,A"
        gga = f"GPGGA,{clock},{lat_text},{ns},{lon_text},{ew},1,08,{hdop:.1f},170.0,M,47.0,M,,"
        lines.append(f"${rmc}*{_nmea_checksum(rmc)}")
        lines.append(f"${gga}*{_nmea_checksum(gga)}")
    return "\r\n".join(lines) + "\r\n"


def _free_box(payload: bytes) -> bytes:
    """A top-level ISO-BMFF ``free`` box: players skip it, so the copy plays like the original."""
    return struct.pack(">I4s", 8 + len(payload), b"free") + payload


def _base_clips(folder: Path, seed: int) -> dict[int, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    clips = {}
    for index, seconds in enumerate(CLIP_SECONDS):
        path = folder / f"base-{seconds}s.mp4"
        variant: Variant = "night" if index == 1 else "day"
        spec = SceneSpec(
            "walkers",
            width=CLIP_SIZE[0],
            height=CLIP_SIZE[1],
            fps=CLIP_FPS,
            seconds=seconds,
            seed=seed + index,
            variant=variant,
        )
        generate(spec, path, write_truth=False, crf=35, preset="ultrafast")
        clips[seconds] = path.read_bytes()
    return clips


def simulate_bodycams(spec: BodycamSimSpec, out: Path) -> SimulationResult:
    rng = random.Random(spec.seed)
    out.mkdir(parents=True, exist_ok=True)
    scratch = out / ".base-clips"
    clips = _base_clips(scratch, spec.seed)
    grid = StreetGrid(spec.centre_lat, spec.centre_lon, spec.city_radius_m)
    first_day = spec.first_day or (datetime.now(UTC).date() - timedelta(days=spec.days))

    devices: list[dict[str, Any]] = []
    officers_by_unit: dict[str, list[str]] = {}
    for index in range(spec.devices):
        force = _weighted(rng, FORCES)
        unit = f"lyon/{force}/unit-{rng.randint(1, 3)}"
        serial = f"{spec.serial_prefix}{index + 1:05d}"
        clock_offset = (
            rng.choice((-1, 1)) * rng.uniform(3.0, 25.0)
            if rng.random() < spec.drifting_clock_share
            else rng.uniform(-0.8, 0.8)
        )
        devices.append(
            {
                "serial": serial,
                "force": force,
                "unit": unit,
                "model": "VB-N" if rng.random() < spec.nmea_share else "VB-G",
                "clock_offset_seconds": round(clock_offset, 3),
                "battery_percent": rng.randint(8, 70),
            }
        )
        # One officer per device plus a spare per unit: devices are pooled and handed out per shift.
        pool = officers_by_unit.setdefault(unit, [f"{FORCE_PREFIX[force]}-{rng.randint(100000, 999999)}"])
        pool.append(f"{FORCE_PREFIX[force]}-{rng.randint(100000, 999999)}")
    # Who carries which device each day: distinct officers within a unit (one camera per person).
    rota: dict[tuple[str, int], str] = {}
    for day in range(spec.days):
        for unit, pool in officers_by_unit.items():
            carriers = rng.sample(pool, len(pool))
            for device, officer in zip((d for d in devices if d["unit"] == unit), carriers, strict=False):
                rota[(device["serial"], day)] = officer

    result = SimulationResult(out, devices)
    assignments: list[dict[str, Any]] = []
    for device in devices:
        serial, offset = device["serial"], timedelta(seconds=device["clock_offset_seconds"])
        folder = out / serial / "recordings"
        folder.mkdir(parents=True, exist_ok=True)
        track_format = "nmea" if device["model"] == "VB-N" else "gpx"
        events: list[tuple[datetime, dict[str, Any]]] = []
        recordings: list[SimulatedRecording] = []
        sequence = 0
        for day in range(spec.days):
            shift_start_hour, shift_end_hour = rng.choice(SHIFTS)
            day_start = datetime.combine(first_day + timedelta(days=day), datetime.min.time(), tzinfo=UTC)
            shift_start = day_start + timedelta(hours=shift_start_hour)
            shift_end = day_start + timedelta(hours=shift_end_hour)
            officer = rota[(serial, day)]
            assignments.append(
                {
                    "device": serial,
                    "officer": officer,
                    "start": _iso(shift_start - timedelta(minutes=15)),
                    "end": _iso(shift_end + timedelta(minutes=15)),
                }
            )
            events.append((shift_start, {"type": "power-on"}))
            events.append((shift_start + timedelta(seconds=1), {"type": "undock"}))
            count = rng.randint(*spec.recordings_per_shift)
            slots = sorted(rng.sample(range(1, max(count + 1, (shift_end_hour - shift_start_hour) * 12)), count))
            for slot in slots:
                start = shift_start + timedelta(minutes=5 * slot, seconds=rng.randint(0, 200))
                seconds = rng.choice(CLIP_SECONDS)
                sequence += 1
                recordings.append(
                    SimulatedRecording(serial, sequence, officer, start, seconds, _weighted(rng, TRIGGERS))
                )
            for hour in range(shift_start_hour + 2, shift_end_hour, 2):
                events.append(
                    (
                        day_start + timedelta(hours=hour),
                        {"type": "battery", "percent": max(5, 100 - 11 * (hour - shift_start_hour))},
                    )
                )
            events.append((shift_end, {"type": "dock"}))
            events.append((shift_end + timedelta(seconds=2), {"type": "power-off"}))

        # Withhold some: files lost; a quarter of those (inside the numbering) also erased from the log.
        for position, recording in enumerate(recordings):
            if rng.random() >= spec.missing_rate:
                continue
            recording.withheld = True
            interior = 0 < position < len(recordings) - 1
            recording.erased_from_log = interior and rng.random() < 0.25
        # Never two erased neighbours: the numbering must still show the hole on both sides.
        for before, after in itertools.pairwise(recordings):
            if before.erased_from_log and after.erased_from_log:
                after.erased_from_log = False

        for recording in recordings:
            end = recording.start + timedelta(seconds=recording.seconds)
            if not recording.erased_from_log:
                events.append(
                    (
                        recording.start,
                        {
                            "type": "record-start",
                            "seq": recording.sequence,
                            "trigger": recording.trigger,
                            "officer": recording.officer,
                        },
                    )
                )
            name = f"{recording.sequence:06d}"
            payload = f"vigie-sim {serial} {recording.sequence} {spec.seed}".encode()
            data = clips[recording.seconds] + _free_box(payload)
            digest = hashlib.sha256(data).hexdigest()
            if not recording.erased_from_log:
                events.append(
                    (end, {"type": "record-stop", "seq": recording.sequence, "sha256": digest, "bytes": len(data)})
                )
            result.recordings.append(recording)
            if recording.withheld:
                result.withheld.append({"device": serial, "sequence": recording.sequence})
                continue
            start_cell = (rng.randint(-grid.half, grid.half), rng.randint(-grid.half, grid.half))
            speed = 1.4 if rng.random() < 0.7 else 8.0
            positions = grid.walk(rng, recording.seconds, speed, start_cell)
            points = []
            for second, (lat, lon) in enumerate(positions):
                noise = 4.0 / METRES_PER_DEGREE_LAT
                points.append(
                    (
                        recording.start + timedelta(seconds=second),
                        lat + rng.gauss(0, noise),
                        lon + rng.gauss(0, noise * 1.4),
                        rng.uniform(0.7, 2.5),
                    )
                )
            track_name = f"{name}.{track_format}"
            (folder / track_name).write_text(_gpx(points) if track_format == "gpx" else _nmea(points))
            (folder / f"{name}.mp4").write_bytes(data)
            manifest = {
                "device": serial,
                "sequence": recording.sequence,
                "officer": recording.officer,
                "start": _iso(recording.start + offset),  # the device's clock
                "end": _iso(end + offset),
                "trigger": recording.trigger,
                "sha256": digest,
                "bytes": len(data),
                "file": f"{name}.mp4",
                "track": track_name,
            }
            (folder / f"{name}.json").write_text(json.dumps(manifest, indent=1))

        events.sort(key=lambda item: item[0])
        with open(out / serial / "events.jsonl", "w") as handle:
            for moment, event in events:
                handle.write(json.dumps({"t": _iso(moment + offset), **event}) + "\n")
        (out / serial / "device.json").write_text(json.dumps(device, indent=1))

    shutil.rmtree(scratch, ignore_errors=True)
    result.withheld.sort(key=lambda item: (item["device"], item["sequence"]))
    (out / "truth.json").write_text(json.dumps(result.withheld, indent=1) + "\n")
    (out / "devices.json").write_text(json.dumps(devices, indent=1) + "\n")
    (out / "assignments.json").write_text(json.dumps(assignments, indent=1) + "\n")
    return result
