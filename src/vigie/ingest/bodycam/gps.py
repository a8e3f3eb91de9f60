"""GPS tracks as devices write them (GPX or NMEA 0183) → clean, time-ordered points.

A track is evidence of *where*, so nothing is guessed: a point without a time, with coordinates out
of range or not numbers, with a failed NMEA checksum or a void fix is dropped and counted. A file
that is garbage as a whole gives no points and an anomaly; parsing never raises.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum

import gpxpy
import gpxpy.gpx
import pynmea2

from vigie.ingest.bodycam.geo import valid_position

# Times outside this window are a receiver without a fix (1980 GPS epoch, 2000 defaults) or garbage.
EARLIEST_PLAUSIBLE = datetime(2010, 1, 1, tzinfo=UTC).timestamp()
LATEST_AHEAD_SECONDS = 86_400.0  # tolerate a day of device clock error ahead of the server
# GPX gives dilution of precision, not metres: metres ≈ HDOP × user equivalent range error (~5 m).
UERE_METRES = 5.0


class TrackFormat(StrEnum):
    GPX = "gpx"
    NMEA = "nmea"


@dataclass(frozen=True)
class TrackPoint:
    t: float  # unix seconds, UTC
    lat: float
    lon: float
    accuracy_m: float | None = None

    def as_row(self) -> list[float]:
        """``[t, lat, lon]`` or ``[t, lat, lon, accuracy]``: all numbers, so search reads tracks as arrays."""
        row = [round(self.t, 3), round(self.lat, 7), round(self.lon, 7)]
        return row if self.accuracy_m is None else [*row, self.accuracy_m]


@dataclass
class ParsedTrack:
    format: TrackFormat
    points: list[TrackPoint] = field(default_factory=list)
    dropped: int = 0
    anomalies: list[str] = field(default_factory=list)

    def drop(self, why: str) -> None:
        self.dropped += 1
        # One line per kind of problem, with a count, keeps a garbage file's anomaly list short.
        for index, text in enumerate(self.anomalies):
            prefix, _, count = text.rpartition(" ×")
            if prefix == why and count.isdigit():
                self.anomalies[index] = f"{why} ×{int(count) + 1}"
                return
        self.anomalies.append(f"{why} ×1")


def guess_format(file_name: str | None, data: bytes) -> TrackFormat:
    name = (file_name or "").lower()
    if name.endswith(".gpx"):
        return TrackFormat.GPX
    if name.endswith((".nmea", ".nma", ".txt", ".log")):
        return TrackFormat.NMEA
    return TrackFormat.GPX if data.lstrip()[:1] == b"<" else TrackFormat.NMEA


def parse_track(data: bytes, track_format: TrackFormat, *, now: float | None = None) -> ParsedTrack:
    latest = (now if now is not None else datetime.now(UTC).timestamp()) + LATEST_AHEAD_SECONDS
    parsed = ParsedTrack(track_format)
    raw = _parse_gpx(data, parsed) if track_format is TrackFormat.GPX else _parse_nmea(data, parsed)
    _clean(raw, parsed, latest)
    return parsed


def _accept(parsed: ParsedTrack, t: float | None, lat: float | None, lon: float | None, latest: float) -> bool:
    if t is None or not math.isfinite(t):
        parsed.drop("point without a valid time")
        return False
    if lat is None or lon is None or not valid_position(lat, lon):
        parsed.drop("point with coordinates out of range or not numbers")
        return False
    if not EARLIEST_PLAUSIBLE <= t <= latest:
        parsed.drop("point with an implausible time")
        return False
    return True


def _clean(
    raw: list[tuple[float | None, float | None, float | None, float | None]], parsed: ParsedTrack, latest: float
) -> None:
    points = [
        TrackPoint(t, lat, lon, acc)
        for t, lat, lon, acc in raw
        if _accept(parsed, t, lat, lon, latest) and t is not None and lat is not None and lon is not None
    ]
    ordered = sorted(points, key=lambda point: point.t)
    if ordered != points:
        parsed.anomalies.append("points out of time order (sorted)")
    kept: list[TrackPoint] = []
    for point in ordered:
        if kept and point.t == kept[-1].t:
            parsed.drop("second point at the same instant")
            continue
        kept.append(point)
    parsed.points = kept


# -- GPX -------------------------------------------------------------------------------------------

Raw = list[tuple[float | None, float | None, float | None, float | None]]


def _parse_gpx(data: bytes, parsed: ParsedTrack) -> Raw:
    try:
        document = gpxpy.parse(data.decode("utf-8", errors="replace"))
    except gpxpy.gpx.GPXXMLSyntaxException:
        parsed.anomalies.append("GPX is not well-formed XML: points salvaged one by one")
        return _salvage_gpx(data, parsed)
    except (gpxpy.gpx.GPXException, ValueError, TypeError, AttributeError):
        # One bad attribute makes gpxpy give up on the whole file: read it point by point instead.
        parsed.anomalies.append("GPX has invalid values: read point by point")
        return _tolerant_gpx(data, parsed)
    raw: Raw = []
    for track in document.tracks:
        for segment in track.segments:
            raw.extend(_gpx_point(point) for point in segment.points)
    for route in document.routes:
        raw.extend(_gpx_point(point) for point in route.points)
    if not raw:
        raw.extend(_gpx_point(point) for point in document.waypoints)
    return raw


def _gpx_point(
    point: gpxpy.gpx.GPXTrackPoint | gpxpy.gpx.GPXRoutePoint | gpxpy.gpx.GPXWaypoint,
) -> tuple[float | None, float | None, float | None, float | None]:
    moment = point.time
    t = moment.timestamp() if moment is not None and moment.tzinfo is not None else None
    hdop = point.horizontal_dilution
    accuracy = round(float(hdop) * UERE_METRES, 1) if hdop is not None and math.isfinite(float(hdop)) else None
    return t, _number(point.latitude), _number(point.longitude), accuracy


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _iso_seconds(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _tolerant_gpx(data: bytes, parsed: ParsedTrack) -> Raw:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return _salvage_gpx(data, parsed)
    raw: Raw = []
    for element in root.iter():
        if _local(element.tag) not in ("trkpt", "rtept"):
            continue
        when = next((child.text for child in element if _local(child.tag) == "time"), None)
        hdop = next((child.text for child in element if _local(child.tag) == "hdop"), None)
        accuracy = _number(hdop)
        raw.append(
            (
                _iso_seconds(when),
                _number(element.get("lat")),
                _number(element.get("lon")),
                round(accuracy * UERE_METRES, 1) if accuracy is not None else None,
            )
        )
    return raw


_TRKPT = re.compile(rb"<(?:\w+:)?(?:trkpt|rtept)\b([^>]*)>(.*?)</(?:\w+:)?(?:trkpt|rtept)>", re.S)
_ATTR = re.compile(rb"""\b(lat|lon)\s*=\s*["']([^"']*)["']""")
_TIME = re.compile(rb"<(?:\w+:)?time>([^<]*)</(?:\w+:)?time>")


def _salvage_gpx(data: bytes, parsed: ParsedTrack) -> Raw:
    """A truncated or damaged file (a dock unplugged mid-write): keep every complete point element."""
    raw: Raw = []
    for match in _TRKPT.finditer(data):
        attributes = {name.decode(): value.decode("utf-8", "replace") for name, value in _ATTR.findall(match[1])}
        when = _TIME.search(match[2])
        raw.append(
            (
                _iso_seconds(when[1].decode("utf-8", "replace")) if when else None,
                _number(attributes.get("lat")),
                _number(attributes.get("lon")),
                None,
            )
        )
    if not raw:
        parsed.anomalies.append("no GPS point could be read from the file")
    return raw


# -- NMEA 0183 -------------------------------------------------------------------------------------


def _parse_nmea(data: bytes, parsed: ParsedTrack) -> Raw:
    """RMC sentences give date, time and position; GGA adds HDOP (and positions once a date is known)."""
    by_time: dict[float, list[float | None]] = {}
    current_date: date | None = None
    for line in data.decode("ascii", errors="replace").splitlines():
        line = line.strip()
        if not line or not line.startswith(("$", "!")):
            if line:
                parsed.drop("line that is not an NMEA sentence")
            continue
        try:
            sentence = pynmea2.parse(line, check=False)  # a present but wrong checksum still fails
        except (pynmea2.ParseError, ValueError, TypeError, AttributeError, IndexError):
            parsed.drop("NMEA sentence unreadable or with a wrong checksum")
            continue
        try:
            if isinstance(sentence, pynmea2.types.talker.RMC):
                if sentence.status != "A":
                    parsed.drop("NMEA fix marked void")
                    continue
                moment = sentence.datetime
                current_date = moment.date()
                t = moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()
                entry = by_time.setdefault(t, [t, None, None, None])
                entry[1], entry[2] = _number(sentence.latitude), _number(sentence.longitude)
            elif isinstance(sentence, pynmea2.types.talker.GGA):
                if not sentence.gps_qual or int(sentence.gps_qual) == 0:
                    parsed.drop("NMEA fix marked void")
                    continue
                if current_date is None or not isinstance(sentence.timestamp, time):
                    continue  # no date yet: its RMC twin (if any) carries the position
                moment = datetime.combine(current_date, sentence.timestamp.replace(tzinfo=None), tzinfo=UTC)
                t = moment.timestamp()
                entry = by_time.setdefault(t, [t, _number(sentence.latitude), _number(sentence.longitude), None])
                hdop = _number(sentence.horizontal_dil)
                entry[3] = round(hdop * UERE_METRES, 1) if hdop is not None else None
        except (ValueError, TypeError, AttributeError, IndexError):
            parsed.drop("NMEA sentence with unreadable fields")
    return [(entry[0], entry[1], entry[2], entry[3]) for entry in by_time.values()]
