"""Device event logs that contradict themselves are recorded as anomalies, never a crash."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from vigie.ingest.bodycam.eventlog import parse_event_log


def line(t: str, kind: str, **fields: object) -> str:
    return json.dumps({"t": t, "type": kind, **fields})


def kinds(text: str) -> list[str]:
    return sorted(anomaly.kind for anomaly in parse_event_log(text).anomalies)


def test_a_consistent_log_has_no_anomaly() -> None:
    text = "\n".join(
        [
            line("2026-11-20T08:00:00Z", "power-on"),
            line("2026-11-20T08:10:00Z", "record-start", seq=1, trigger="manual"),
            line("2026-11-20T08:12:00Z", "record-stop", seq=1, sha256="a" * 64),
            line("2026-11-20T09:00:00Z", "record-start", seq=2),
            line("2026-11-20T09:01:00Z", "record-stop", seq=2),
            line("2026-11-20T16:00:00Z", "dock"),
        ]
    )
    parsed = parse_event_log(text)
    assert parsed.anomalies == [] and len(parsed.events) == 6
    assert [event.sequence for event in parsed.events if event.kind == "record-start"] == [1, 2]


def test_contradictions_are_named() -> None:
    assert kinds(
        "\n".join(
            [
                line("2026-11-20T08:10:00Z", "record-start", seq=1),
                line("2026-11-20T08:09:00Z", "record-stop", seq=1),
            ]
        )
    ) == ["log-stop-before-start", "log-time-backwards"]
    assert kinds(
        "\n".join(
            [
                line("2026-11-20T08:10:00Z", "record-start", seq=4),
                line("2026-11-20T08:11:00Z", "record-stop", seq=4),
                line("2026-11-20T08:20:00Z", "record-start", seq=4),
                line("2026-11-20T08:21:00Z", "record-stop", seq=4),
            ]
        )
    ) == ["log-duplicate-sequence"]
    assert kinds(
        "\n".join(
            [
                line("2026-11-20T08:10:00Z", "record-start", seq=5),
                line("2026-11-20T08:11:00Z", "record-start", seq=6),
                line("2026-11-20T08:12:00Z", "record-stop", seq=9),
                line("2026-11-20T08:13:00Z", "power-off"),
            ]
        )
    ) == ["log-start-while-recording", "log-start-without-stop", "log-stop-without-start"]
    assert kinds(
        "\n".join(
            [
                line("2026-11-20T08:10:00Z", "record-start", seq=8),
                line("2026-11-20T08:11:00Z", "record-stop", seq=8),
                line("2026-11-20T08:12:00Z", "record-start", seq=3),
                line("2026-11-20T08:13:00Z", "record-stop", seq=3),
            ]
        )
    ) == ["log-sequence-backwards"]


def test_unreadable_lines() -> None:
    text = "\n".join(
        [
            "not json",
            "[1, 2]",
            json.dumps({"type": "power-on"}),
            json.dumps({"t": "2026-11-20T08:00:00", "type": "power-on"}),  # no zone
            line("2026-11-20T08:00:00Z", "teleport"),
            line("2026-11-20T08:01:00Z", "record-start", seq="one"),
            line("2026-11-20T08:02:00Z", "record-start", seq=True),
        ]
    )
    parsed = parse_event_log(text)
    assert kinds(text) == [
        "log-record-without-sequence",
        "log-record-without-sequence",
        "log-unknown-event",
        *["log-unreadable-line"] * 4,
    ]
    assert len(parsed.events) == 3 and parsed.lines == 7


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000))
def test_any_text_is_read_without_crashing(text: str) -> None:
    parse_event_log(text)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(["record-start", "record-stop", "power-off", "dock"]),
            st.integers(0, 6),
        ),
        max_size=40,
    )
)
def test_any_sequence_of_events_is_read_without_crashing(rows: list[tuple[int, str, int]]) -> None:
    from datetime import UTC, datetime, timedelta

    base = datetime(2026, 11, 20, tzinfo=UTC)
    text = "\n".join(line((base + timedelta(seconds=s)).isoformat(), kind, seq=seq) for s, kind, seq in rows)
    parsed = parse_event_log(text)
    assert len(parsed.events) == len(rows)
