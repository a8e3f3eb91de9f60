"""Where officers were is personal data too: a track goes when its footage goes.

The vault purges segments at the end of their retention (R241-4: one month, six for firefighters)
unless a legal hold keeps them. Once every segment of a body-cam recording is purged, this removes
its GPS points and its place-and-time index entries, keeping only the track's file hash and counts
(so the register and the tombstones still tell what existed). Call it after each ``vigie purge``.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from vigie.catalog.bodycam_models import BodycamRecording, BodycamTrack
from vigie.catalog.models import Segment
from vigie.ingest.bodycam import spatial


def purge_tracks_of_purged_footage(session: Session) -> int:
    """Forget the points of tracks whose recording has no unpurged segment left; how many were forgotten."""
    live_segment = exists().where(Segment.recording_id == BodycamRecording.recording_id, Segment.purged_at.is_(None))
    any_segment = exists().where(Segment.recording_id == BodycamRecording.recording_id)
    rows = session.execute(
        select(BodycamTrack)
        .join(BodycamRecording, BodycamRecording.track_id == BodycamTrack.id)
        .where(BodycamTrack.point_count > 0, any_segment, ~live_segment)
    ).scalars()
    count = 0
    for track in list(rows):
        spatial.remove_track(session, track.id)
        track.samples = b""
        track.point_count = 0
        track.anomalies = [*track.anomalies, "points removed with the purged footage"]
        count += 1
    return count
