"""Scoring detections against ground truth: precision, recall, detection delay, false alarms per hour.

Pure functions over plain records, so any labelled source can be scored (the synthetic suite of
`vigie.sim`, or real clips whose truth is "nothing happens").

**Matching rule.** A detection matches a truth event of the same type when it is raised within
``[truth.start - EARLY_SECONDS, truth.start + TOLERANCE[type]]``. Each truth event matches at most one
detection (the earliest) and each detection at most one truth event; every detection left over is a
false alarm, duplicates of an already matched occurrence included (analytics must debounce). A
false alarm raised while a missed truth event of its type was still going on is also counted as
*late* (the event was found, after its tolerance): shown apart, still a false alarm in the rates.

**Tolerances** are the time each detector legitimately needs after the moment the truth marks,
by the definition of what it reports:

========================  ======  =============================================================
type                      late s  why
========================  ======  =============================================================
abandoned_object          5       the truth starts when the owner's unattended clock runs out;
                                  we must first see the object settle and its owner go
crowd_movement            3       ~1 s of sustained unusual flow, plus frames to measure it
crowd_density             5       the count must stay above the bar ~2 s; estimates lag arrivals
zone_intrusion            3       a track is confirmed (~0.4 s) and present (~0.4 s); rain slows it
wrong_way                 3       a minimum distance travelled against the direction
person_down               5       "stays on the ground": we wait ``down_seconds`` (2 s) after the
                                  body is down, which itself follows the truth's fall end
fire                      5       flicker and persistence over a ~2 s window from the first flame
camera_tamper             4       the view must stay lost ~1.5 s (2-3 s for defocus or a move)
motion                    1       immediate
========================  ======  =============================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from vigie.analytics.events import EventType

EARLY_SECONDS = 1.0
TOLERANCE: Mapping[EventType, float] = MappingProxyType(
    {
        EventType.ABANDONED_OBJECT: 5.0,
        EventType.CROWD_MOVEMENT: 3.0,
        EventType.CROWD_DENSITY: 5.0,
        EventType.ZONE_INTRUSION: 3.0,
        EventType.WRONG_WAY: 3.0,
        EventType.PERSON_DOWN: 5.0,
        EventType.FIRE: 5.0,
        EventType.CAMERA_TAMPER: 4.0,
        EventType.MOTION: 1.0,
    }
)


@dataclass(frozen=True)
class Occurrence:
    """A truth event or a detection, reduced to what scoring needs (``end``: None while it lasts)."""

    type: EventType
    start: float
    end: float | None = None


@dataclass(frozen=True)
class ClipOutcome:
    """One analysed clip: what was true, what was detected, which detectors ran, for how long."""

    name: str
    duration: float  # seconds analysed
    detectors: frozenset[EventType]
    truth: tuple[Occurrence, ...]
    detected: tuple[Occurrence, ...]
    real: bool = False  # real footage (its truth is "nothing of the scored types happens")


@dataclass(frozen=True)
class ClipScore:
    name: str
    matched: tuple[tuple[Occurrence, Occurrence], ...]  # (truth, detection)
    missed: tuple[Occurrence, ...]
    false_alarms: tuple[Occurrence, ...]
    late: tuple[Occurrence, ...] = ()  # false alarms that are a missed event found too late


@dataclass
class DetectorScore:
    type: EventType
    truth_events: int = 0
    detections: int = 0
    true_positives: int = 0
    false_alarms: int = 0
    late: int = 0  # of the false alarms: real events found after the tolerance
    seconds: float = 0.0  # footage this detector analysed
    delays: list[float] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.detections if self.detections else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.truth_events if self.truth_events else None

    @property
    def mean_delay(self) -> float | None:
        return sum(self.delays) / len(self.delays) if self.delays else None

    @property
    def false_alarms_per_hour(self) -> float | None:
        return self.false_alarms / (self.seconds / 3600.0) if self.seconds > 0 else None

    def as_dict(self) -> dict[str, float | int | str | None]:
        return {
            "detector": self.type.value,
            "truth_events": self.truth_events,
            "detections": self.detections,
            "true_positives": self.true_positives,
            "precision": _rounded(self.precision),
            "recall": _rounded(self.recall),
            "mean_delay_s": _rounded(self.mean_delay),
            "false_alarms": self.false_alarms,
            "late_detections": self.late,
            "false_alarms_per_hour": _rounded(self.false_alarms_per_hour, 1),
            "hours": round(self.seconds / 3600.0, 4),
        }


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def match_clip(outcome: ClipOutcome) -> ClipScore:
    """Pair detections with truth events of the same type (earliest first, one-to-one)."""
    matched: list[tuple[Occurrence, Occurrence]] = []
    missed: list[Occurrence] = []
    used: set[int] = set()
    detections = sorted(enumerate(outcome.detected), key=lambda item: item[1].start)
    for truth in sorted(outcome.truth, key=lambda event: event.start):
        if truth.type not in outcome.detectors:
            continue
        late = TOLERANCE[truth.type]
        found = None
        for index, detection in detections:
            if index in used or detection.type is not truth.type:
                continue
            if truth.start - EARLY_SECONDS <= detection.start <= truth.start + late:
                found = index
                break
        if found is None:
            missed.append(truth)
        else:
            used.add(found)
            matched.append((truth, outcome.detected[found]))
    false_alarms = tuple(d for index, d in enumerate(outcome.detected) if index not in used)
    found_late = tuple(
        alarm
        for alarm in false_alarms
        if any(
            truth.type is alarm.type and truth.start < alarm.start and (truth.end is None or alarm.start < truth.end)
            for truth in missed
        )
    )
    return ClipScore(outcome.name, tuple(matched), tuple(missed), false_alarms, found_late)


def score(outcomes: Iterable[ClipOutcome], types: Sequence[EventType] | None = None) -> list[DetectorScore]:
    """Per-detector totals over a set of clips (only clips where that detector ran count for it)."""
    chosen = list(types) if types is not None else [t for t in EventType if t is not EventType.MOTION]
    totals = {event_type: DetectorScore(event_type) for event_type in chosen}
    for outcome in outcomes:
        clip = match_clip(outcome)
        for event_type, total in totals.items():
            if event_type not in outcome.detectors:
                continue
            total.seconds += outcome.duration
            total.truth_events += sum(1 for t in outcome.truth if t.type is event_type)
            total.detections += sum(1 for d in outcome.detected if d.type is event_type)
        for truth, detection in clip.matched:
            if truth.type in totals:
                totals[truth.type].true_positives += 1
                totals[truth.type].delays.append(detection.start - truth.start)
        for alarm in clip.false_alarms:
            if alarm.type in totals:
                totals[alarm.type].false_alarms += 1
        for alarm in clip.late:
            if alarm.type in totals:
                totals[alarm.type].late += 1
    return list(totals.values())


def format_table(scores: Sequence[DetectorScore]) -> str:
    """A plain-text table (fixed width) of per-detector scores."""
    header = (
        f"{'detector':<18}{'truth':>6}{'det.':>6}{'TP':>5}{'precision':>11}{'recall':>8}{'delay s':>9}"
        f"{'FA':>5}{'late':>6}{'FA/h':>9}"
    )
    lines = [header, "-" * len(header)]

    def cell(value: float | None, width: int, digits: int = 2) -> str:
        return f"{'—' if value is None else f'{value:.{digits}f}':>{width}}"

    for item in scores:
        lines.append(
            f"{item.type.value:<18}{item.truth_events:>6}{item.detections:>6}{item.true_positives:>5}"
            f"{cell(item.precision, 11)}{cell(item.recall, 8)}{cell(item.mean_delay, 9)}"
            f"{item.false_alarms:>5}{item.late:>6}{cell(item.false_alarms_per_hour, 9, 1)}"
        )
    return "\n".join(lines)
