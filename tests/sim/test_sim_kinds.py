"""Each scene kind shows what its truth says, at the time the truth says it."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from vigie.sim import GroundTruth, foot_point, ground_truth
from vigie.sim.effects import SMOKE_GREY

from .helpers import crop, inside_frame, rendered, small


def _frame(truth: GroundTruth, t: float) -> int:
    return round(t * truth.spec.fps)


def _track_boxes(truth: GroundTruth, track: int) -> dict[int, tuple[int, int, int, int]]:
    return {
        index: box
        for index, (boxes, tracks) in enumerate(zip(truth.frames, truth.track_ids, strict=True))
        for box, other in zip(boxes, tracks, strict=True)
        if other == track
    }


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_walkers_only_walk(seed: int) -> None:
    truth = ground_truth(small("walkers", seed=seed, seconds=20.0))
    assert truth.events == []
    assert truth.zones == []
    people = {track for tracks in truth.track_ids for track in tracks}
    assert 3 <= len(people) <= 8
    assert sum(1 for boxes in truth.frames if boxes) > 0.5 * truth.frame_count


def test_people_shrink_towards_the_horizon() -> None:
    truth = ground_truth(small("walkers", seed=3, seconds=20.0, people=8))
    spec = truth.spec
    whole = [
        (y + h, h)
        for boxes in truth.frames
        for x, y, w, h in boxes
        if x > 0 and x + w < spec.width and y + h < spec.height
    ]
    rows, heights = np.array(whole, dtype=float).T
    assert len(whole) > 50
    assert np.corrcoef(rows, heights)[0, 1] > 0.9  # lower in the frame = nearer = taller


def test_walkers_move_across_the_frame() -> None:
    truth = ground_truth(small("walkers", seed=1, seconds=20.0))
    for track in {track for tracks in truth.track_ids for track in tracks}:
        boxes = _track_boxes(truth, track)
        if len(boxes) > 10:
            xs = [x + w / 2 for x, _, w, _ in boxes.values()]
            assert max(xs) - min(xs) > truth.spec.width / 4


def test_abandoned_bag_stays_put_after_the_owner_leaves() -> None:
    spec = small("abandoned", seconds=8.0, abandoned_after=1.5)
    truth, frames = rendered(spec)
    (event,) = truth.events
    extra = event.extra
    assert isinstance(extra["since"], float) and isinstance(extra["dropped_at"], float)
    assert extra["dropped_at"] == pytest.approx(spec.event_time)
    assert extra["dropped_at"] < extra["since"]
    assert event.start == pytest.approx(extra["since"] + spec.abandoned_after)
    assert event.end is None
    owner = extra["owner_track_id"]
    assert isinstance(owner, int)
    owner_frames = _track_boxes(truth, owner)
    gone = _frame(truth, extra["since"])
    assert max(owner_frames) == gone - 1  # the owner was last seen just before `since`

    assert event.box is not None and inside_frame(event.box, spec)
    bag = [crop(frame, event.box) for frame in frames]
    dropped = _frame(truth, extra["dropped_at"])
    for later in bag[gone:]:
        assert np.array_equal(later, bag[gone])  # not a single pixel of the bag changes
    # ...and it really is a bag: it was not there before being put down.
    assert np.abs(bag[gone].astype(int) - bag[0].astype(int)).mean() > 20
    assert not np.array_equal(bag[dropped - 1], bag[dropped])


def test_abandonment_that_would_start_after_the_clip_is_not_reported() -> None:
    assert ground_truth(small("abandoned", seconds=8.0, abandoned_after=30.0)).events == []


def test_crowd_mills_then_runs() -> None:
    spec = small("crowd_disperse", seconds=6.0)
    truth = ground_truth(spec)
    (event,) = truth.events
    assert event.start == pytest.approx(spec.event_time)
    start = _frame(truth, event.start)
    assert len(truth.frames[start]) >= 20
    assert event.extra["people"] == 25

    def mean_speed(first: int, last: int) -> float:
        """Mean foot displacement per frame of the people visible throughout [first, last]."""
        moves = []
        for index in range(first + 1, last + 1):
            before = dict(zip(truth.track_ids[index - 1], truth.frames[index - 1], strict=True))
            now = dict(zip(truth.track_ids[index], truth.frames[index], strict=True))
            for track in before.keys() & now.keys():
                (ax, ay), (bx, by) = foot_point(before[track]), foot_point(now[track])
                moves.append(math.hypot(bx - ax, by - ay))
        return float(np.mean(moves))

    milling = mean_speed(0, start)
    running = mean_speed(start, start + 5)
    assert milling < 1.5
    assert running > 4 * milling
    assert len(truth.frames[-1]) < len(truth.frames[start]) / 2  # they are scattering out of view


def test_crowd_density_event_when_the_zone_count_passes_the_threshold() -> None:
    spec = small("crowd_thickens", seconds=8.0, density_threshold=6)
    truth = ground_truth(spec)
    zone = truth.zone("square")
    assert zone.role == "density"
    counts = [sum(zone.contains(foot_point(box)) for box in boxes) for boxes in truth.frames]
    (event,) = truth.events
    start = _frame(truth, event.start)
    assert counts[start] > 6 >= max(counts[:start])
    assert event.extra == {"count": counts[start], "threshold": 6, "zone": "square"}
    assert event.box == zone.bounding_box()
    assert event.start == pytest.approx(spec.event_time, abs=0.5)


def test_intruder_enters_the_forbidden_zone_at_the_truth_time() -> None:
    spec = small("zone_intrusion", seconds=6.0)
    truth = ground_truth(spec)
    zone = truth.zone("tracks")
    assert zone.role == "forbidden" and len(zone.polygon) >= 3
    (event,) = truth.events
    assert event.start == pytest.approx(spec.event_time, abs=0.2)
    intruder = event.extra["track_id"]
    assert isinstance(intruder, int)
    boxes = _track_boxes(truth, intruder)
    start = _frame(truth, event.start)
    assert boxes[start] == event.box
    assert zone.contains(foot_point(boxes[start]))
    assert not any(zone.contains(foot_point(box)) for index, box in boxes.items() if index < start)
    for index, (frame_boxes, tracks) in enumerate(zip(truth.frames, truth.track_ids, strict=True)):
        for box, track in zip(frame_boxes, tracks, strict=True):
            if track != intruder:
                assert not zone.contains(foot_point(box)), f"bystander {track} in the zone at frame {index}"


def test_one_walker_goes_against_the_corridor() -> None:
    spec = small("wrong_way", seconds=10.0)
    truth = ground_truth(spec)
    zone = truth.zone("corridor")
    assert zone.role == "one_way" and zone.direction == (1.0, 0.0)
    (event,) = truth.events
    offender = event.extra["track_id"]
    assert isinstance(offender, int)
    assert event.start == pytest.approx(spec.event_time, abs=0.2)
    assert event.end is not None and event.end > event.start
    tracks = {track for frame_tracks in truth.track_ids for track in frame_tracks}
    assert len(tracks) >= 4
    for track in tracks:
        boxes = _track_boxes(truth, track)
        first, last = min(boxes), max(boxes)
        if last - first < 5:
            continue
        drift = foot_point(boxes[last])[0] - foot_point(boxes[first])[0]
        assert (drift < 0) == (track == offender)
    start = _frame(truth, event.start)
    assert zone.contains(foot_point(_track_boxes(truth, offender)[start]))


def test_fallen_person_goes_from_tall_to_wide_and_stays_down() -> None:
    spec = small("fall", seconds=5.0)
    truth = ground_truth(spec)
    (event,) = truth.events
    victim = event.extra["track_id"]
    assert isinstance(victim, int)
    fall_started = event.extra["fall_started"]
    assert fall_started == pytest.approx(spec.event_time)
    assert isinstance(fall_started, float) and fall_started < event.start <= fall_started + 1.0
    boxes = _track_boxes(truth, victim)
    start = _frame(truth, event.start)
    assert boxes[start] == event.box
    before = [box for index, box in boxes.items() if index < _frame(truth, fall_started)]
    after = [box for index, box in boxes.items() if index >= start]
    assert before and all(h > 1.5 * w for _, _, w, h in before)
    assert len(after) == truth.frame_count - start
    assert all(w > 2 * h for _, _, w, h in after)
    assert len({box for box in after}) == 1  # lying still


def _orange(pixels: np.ndarray) -> np.ndarray:
    b, g, r = (pixels[..., c].astype(int) for c in range(3))
    return (r > 180) & (r > b + 60) & (g > b)


def test_fire_region_turns_orange_after_ignition() -> None:
    spec = small("fire", seconds=6.0)
    truth, frames = rendered(spec)
    (event,) = truth.events
    assert event.start == pytest.approx(spec.event_time)
    assert event.box is not None
    ignition = _frame(truth, event.start)
    grown = _frame(truth, event.start + float(event.extra["growth_seconds"]))
    for index in range(ignition):
        assert _orange(crop(frames[index], event.box)).mean() < 0.01
    for index in range(grown, truth.frame_count):
        region = _orange(crop(frames[index], event.box))
        assert region.mean() > 0.25
        assert region[-region.shape[0] // 4 :].mean() > 0.6  # the base burns solid
    # Smoke: above the flames, the street behind turns towards smoke grey (people masked out).
    x, y, w, _ = event.box
    above = (max(0, x - w), 0, 3 * w, y)
    still = np.ones((spec.height, spec.width), dtype=bool)
    for index in (ignition - 1, truth.frame_count - 1):
        for bx, by, bw, bh in truth.frames[index]:
            still[by : by + bh, bx : bx + bw] = False
    before = np.abs(crop(frames[ignition - 1], above).astype(float) - SMOKE_GREY).mean(axis=2)
    after = np.abs(crop(frames[-1], above).astype(float) - SMOKE_GREY).mean(axis=2)
    greyer = (after < before - 8)[crop(still, above)].mean()
    assert greyer > 0.25


@pytest.mark.parametrize("noise", [0.0, None])
def test_covered_camera_goes_flat_and_dark(noise: float | None) -> None:
    spec = small("tamper", seconds=4.0, noise=noise)
    truth, frames = rendered(spec)
    (event,) = truth.events
    assert event.box is None and event.extra == {"mode": "cover"}
    start = _frame(truth, event.start)
    assert start == round(spec.event_time * spec.fps)
    grey = frames.astype(float).mean(axis=3)
    for index in range(start):
        assert grey[index].std() > 20
    for index in range(start, truth.frame_count):
        assert grey[index].std() < 3.0
        assert grey[index].mean() < 30
        assert truth.frames[index] == []  # nobody can be seen through a covered lens


def test_defocused_camera_loses_its_detail() -> None:
    spec = small("tamper", seconds=4.0, tamper_mode="defocus")
    truth, frames = rendered(spec)
    (event,) = truth.events
    assert event.extra == {"mode": "defocus"}
    start = _frame(truth, event.start)

    def sharpness(frame: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())

    assert sharpness(frames[start]) < sharpness(frames[start - 1]) / 20
