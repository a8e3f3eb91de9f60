"""Scoring rules: the matching window, one-to-one matching, duplicates and rates."""

from __future__ import annotations

import pytest

from vigie.analytics import EventType
from vigie.analytics.evaluate import TOLERANCE, ClipOutcome, Occurrence, format_table, match_clip, score

FIRE = EventType.FIRE


def outcome(truth: list[float], detected: list[float], seconds: float = 60.0) -> ClipOutcome:
    return ClipOutcome(
        "clip",
        seconds,
        frozenset({FIRE}),
        tuple(Occurrence(FIRE, t) for t in truth),
        tuple(Occurrence(FIRE, d) for d in detected),
    )


@pytest.mark.parametrize(
    ("detected", "matched"),
    [(10.0, True), (9.0, True), (8.9, False), (10.0 + TOLERANCE[FIRE], True), (10.1 + TOLERANCE[FIRE], False)],
)
def test_matching_window(detected: float, matched: bool) -> None:
    result = match_clip(outcome([10.0], [detected]))
    assert bool(result.matched) is matched
    assert bool(result.missed) is not matched
    assert bool(result.false_alarms) is not matched


def test_duplicates_are_false_alarms_and_types_must_agree() -> None:
    clip = ClipOutcome(
        "clip", 60.0, frozenset({FIRE, EventType.PERSON_DOWN}), (Occurrence(FIRE, 10.0),),
        (Occurrence(FIRE, 11.0), Occurrence(FIRE, 12.0), Occurrence(EventType.PERSON_DOWN, 10.5)),
    )  # fmt: skip
    result = match_clip(clip)
    assert len(result.matched) == 1 and result.matched[0][1].start == 11.0
    assert sorted(alarm.start for alarm in result.false_alarms) == [10.5, 12.0]


def test_scores_per_detector() -> None:
    totals = {item.type: item for item in score([outcome([10.0], [11.0, 40.0], 1800.0), outcome([], [], 1800.0)])}
    fire = totals[FIRE]
    assert (fire.truth_events, fire.detections, fire.true_positives, fire.false_alarms) == (1, 2, 1, 1)
    assert fire.precision == 0.5 and fire.recall == 1.0 and fire.mean_delay == 1.0
    assert fire.false_alarms_per_hour == pytest.approx(1.0)
    assert totals[EventType.ABANDONED_OBJECT].seconds == 0  # it did not run on these clips
    assert "fire" in format_table(list(totals.values()))


def test_a_missed_event_found_too_late_is_marked_late() -> None:
    clip = ClipOutcome(
        "clip",
        60.0,
        frozenset({FIRE}),
        (Occurrence(FIRE, 10.0, 30.0),),
        (Occurrence(FIRE, 20.0), Occurrence(FIRE, 40.0)),
    )
    result = match_clip(clip)
    assert result.missed and len(result.false_alarms) == 2
    assert [alarm.start for alarm in result.late] == [20.0]  # 40 s is after the fire ended: a plain false alarm
