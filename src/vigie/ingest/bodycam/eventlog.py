"""A device's event log (JSON lines, device clock) → typed events, and what in it contradicts itself.

One object per line, ``t`` (ISO 8601 with zone) and ``type`` always present::

    {"t": "2026-11-21T08:00:00Z", "type": "power-on"}
    {"t": "2026-11-21T08:12:03Z", "type": "record-start", "seq": 41, "trigger": "manual"}
    {"t": "2026-11-21T08:14:40Z", "type": "record-stop", "seq": 41, "sha256": "…", "bytes": 123456}
    {"t": "2026-11-21T12:00:00Z", "type": "battery", "percent": 64}
    {"t": "2026-11-21T18:01:00Z", "type": "dock"}
    {"t": "2026-11-21T18:01:00Z", "type": "power-off"}

A self-contradicting log (a stop before its start, a sequence number reused with other times,
time running backwards) is evidence too: every contradiction becomes an anomaly, the events are
kept, and nothing raises.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KNOWN_TYPES = frozenset(
    {"power-on", "power-off", "record-start", "record-stop", "dock", "undock", "battery", "clock", "error", "gps"}
)
RECORD_TYPES = frozenset({"record-start", "record-stop"})


@dataclass(frozen=True)
class DeviceEvent:
    line_no: int
    line_hash: str  # of the canonical JSON: the same event re-sent by a later docking is stored once
    at: datetime
    kind: str
    sequence: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class LogAnomaly:
    kind: str
    detail: str
    sequence: int | None = None
    line_no: int | None = None


@dataclass
class ParsedLog:
    events: list[DeviceEvent] = field(default_factory=list)
    anomalies: list[LogAnomaly] = field(default_factory=list)
    lines: int = 0


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _sequence(value: Any) -> int | None:
    # bool is an int in Python: true/false are not sequence numbers.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def parse_event_log(text: str) -> ParsedLog:
    parsed = ParsedLog()
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parsed.lines += 1
        try:
            item = json.loads(line)
        except ValueError:
            parsed.anomalies.append(LogAnomaly("log-unreadable-line", f"line {line_no} is not JSON", line_no=line_no))
            continue
        if not isinstance(item, dict):
            parsed.anomalies.append(
                LogAnomaly("log-unreadable-line", f"line {line_no} is not an object", line_no=line_no)
            )
            continue
        at = parse_time(item.get("t"))
        kind = item.get("type")
        if at is None or not isinstance(kind, str) or not kind:
            parsed.anomalies.append(
                LogAnomaly("log-unreadable-line", f"line {line_no} lacks a zoned time 't' or a 'type'", line_no=line_no)
            )
            continue
        kind = kind[:40]
        sequence = _sequence(item.get("seq"))
        if kind not in KNOWN_TYPES:
            parsed.anomalies.append(
                LogAnomaly("log-unknown-event", f"line {line_no}: unknown type {kind!r}", line_no=line_no)
            )
        if kind in RECORD_TYPES and sequence is None:
            parsed.anomalies.append(
                LogAnomaly(
                    "log-record-without-sequence", f"line {line_no}: {kind} without a sequence number", line_no=line_no
                )
            )
        canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        parsed.events.append(
            DeviceEvent(line_no, hashlib.sha256(canonical.encode()).hexdigest(), at, kind, sequence, item)
        )
    parsed.anomalies.extend(contradictions(parsed.events))
    return parsed


def contradictions(events: list[DeviceEvent]) -> list[LogAnomaly]:
    """What a log says against itself, read in the device's own order."""
    found: list[LogAnomaly] = []
    previous: DeviceEvent | None = None
    open_start: DeviceEvent | None = None
    starts: dict[int, DeviceEvent] = {}
    last_started: int | None = None
    for event in events:
        if previous is not None and event.at < previous.at:
            found.append(
                LogAnomaly(
                    "log-time-backwards",
                    f"line {event.line_no} ({event.at.isoformat()}) is earlier than line {previous.line_no} "
                    f"({previous.at.isoformat()})",
                    event.sequence,
                    event.line_no,
                )
            )
        previous = event
        if event.kind == "record-start" and event.sequence is not None:
            seq = event.sequence
            if open_start is not None:
                found.append(
                    LogAnomaly(
                        "log-start-while-recording",
                        f"sequence {seq} starts while {open_start.sequence} was never stopped",
                        seq,
                        event.line_no,
                    )
                )
            earlier = starts.get(seq)
            if earlier is not None and earlier.at != event.at:
                found.append(
                    LogAnomaly(
                        "log-duplicate-sequence",
                        f"sequence {seq} started at {earlier.at.isoformat()} and again at {event.at.isoformat()}",
                        seq,
                        event.line_no,
                    )
                )
            elif last_started is not None and seq < last_started and earlier is None:
                found.append(
                    LogAnomaly(
                        "log-sequence-backwards", f"sequence {seq} comes after {last_started}", seq, event.line_no
                    )
                )
            starts.setdefault(seq, event)
            last_started = seq if last_started is None else max(last_started, seq)
            open_start = event
        elif event.kind == "record-stop" and event.sequence is not None:
            seq = event.sequence
            start = starts.get(seq)
            if start is None or open_start is None or open_start.sequence != seq:
                found.append(
                    LogAnomaly(
                        "log-stop-without-start", f"sequence {seq} stops without being started", seq, event.line_no
                    )
                )
            if start is not None and event.at < start.at:
                found.append(
                    LogAnomaly(
                        "log-stop-before-start",
                        f"sequence {seq} stops at {event.at.isoformat()}, before its start {start.at.isoformat()}",
                        seq,
                        event.line_no,
                    )
                )
            if open_start is not None and open_start.sequence == seq:
                open_start = None
        elif event.kind in ("power-off", "dock") and open_start is not None:
            # Recording cannot go on through a power-off: the stop line is missing.
            found.append(
                LogAnomaly(
                    "log-start-without-stop",
                    f"sequence {open_start.sequence} was never stopped before {event.kind}",
                    open_start.sequence,
                    event.line_no,
                )
            )
            open_start = None
    return found
