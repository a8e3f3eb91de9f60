"""Fixed cameras over HTTP: the registry with health, each camera's timeline, playback and snapshots.

The registry routes reuse :class:`~vigie.ingest.cameras.registry.CameraRegistry` (the CLI's own
service): same validation, same audit entries, retention refused above the legal month. Scope is
the policy's: a person sees the cameras of their unit; fixed-camera footage is never an officer's
own recording (L241-1), so officers get none of it.

Footage leaves in two forms, both behind a stated reason and written to the register before the
first byte: ``/playback`` streams the stored segments of a time range as one fragmented MP4 (no
re-encode unless the camera has privacy masks), ``/snapshot`` one JPEG of the latest keyframe.
Masks are applied to both (``MaskedTranscoder``): the vault keeps the camera's original bytes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import av
import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from vigie.access import policy
from vigie.access.errors import AccessRefusal
from vigie.access.policy import Action, Person
from vigie.catalog.camera_models import CameraHealth
from vigie.catalog.models import Segment, Source
from vigie.catalog.privacy_models import PrivacyMaskRecord
from vigie.catalog.types import iso, utcnow
from vigie.config import RetentionPeriod
from vigie.ingest.cameras.live import LiveUnavailable
from vigie.ingest.cameras.registry import CameraError, CameraRecord, CameraSpec, UnknownCamera
from vigie.ingest.cameras.timeline import camera_timeline
from vigie.privacy.masks import PrivacyMask
from vigie.privacy.transcode import MaskedTranscoder, TranscodeError
from vigie.vault.store import Vault
from vigie.web import i18n
from vigie.web.errors import problem
from vigie.web.layout import h, shell
from vigie.web.security import Access, Target, require, services_of
from vigie.web.services import Services

router = APIRouter(prefix="/api/cameras", tags=["cameras"])
pages = APIRouter(include_in_schema=False)
log = logging.getLogger("vigie.web")

# One playback request covers at most this much time: a longer one would hold a server thread (and,
# for masked cameras, an encoder) for as long; players ask range after range instead.
MAX_PLAYBACK = timedelta(hours=2)
SNAPSHOT_WAIT_SECONDS = 3.0
# Output of a playback: fragments at keyframes, the moov first and empty (streamable as it is made).
PLAYBACK_MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"
FOOTAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"video/mp4": {}}, "description": "Fragmented MP4 (written to the register before it is sent)."},
}
SNAPSHOT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "The latest keyframe, privacy masks applied."},
}


# -- response and request models -------------------------------------------------------------------------


class CameraHealthOut(BaseModel):
    state: str = Field(description="online, connecting, offline, standby, stopped, unknown or never-recorded.")
    cause: str | None = Field(None, description="Why it is not online (a gap cause), or a storage problem.")
    detail: str | None = None
    since: datetime | None = None
    fps: float | None = Field(None, description="Frames per second measured over the last seconds.")
    bitrate: float | None = Field(None, description="Bits per second measured over the last seconds.")
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    last_keyframe_at: datetime | None = None
    last_keyframe_age_seconds: float | None = None
    updated_at: datetime | None = None


class LiveOut(BaseModel):
    relayed: bool = Field(description="This server relays the camera live (its recorder runs in this process).")
    streaming: bool = Field(description="The relay receives the camera's stream now.")


class CameraOut(BaseModel):
    name: str
    unit: str | None
    enabled: bool
    removed: bool
    main_url: str = Field(description="Stream URL without credentials.")
    sub_url: str | None
    credentials: bool = Field(description="The camera's account is stored, sealed under the installation key.")
    latitude: float | None
    longitude: float | None
    heading: float | None
    authorisation: str | None = Field(description="Reference of the prefect's authorisation (L252-1).")
    retention: str | None = Field(description="ISO 8601 period; null: the installation's period (≤ 1 month).")
    created_at: datetime
    masks: int = Field(description="Privacy masks in force (applied to every image that leaves).")
    health: CameraHealthOut
    live: LiveOut


class CameraIn(BaseModel):
    """A camera to register: the fields of ``vigie camera add``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100, description="Letters, digits, '.', '_' or '-' (it appears in URLs).")
    main_url: str = Field(max_length=2000, description="rtsp:// URL of the main (HD) stream; credentials are sealed.")
    sub_url: str | None = Field(None, max_length=2000, description="rtsp:// URL of the low-resolution substream.")
    latitude: float | None = Field(None, description="WGS 84 degrees.")
    longitude: float | None = Field(None, description="WGS 84 degrees.")
    heading: float | None = Field(None, description="Degrees clockwise from north.")
    retention_days: int | None = Field(
        None, ge=1, le=366, description="As the prefect's authorisation sets; above one month is refused."
    )
    unit: str | None = Field(None, max_length=120, description="Unit (commune, service) the camera belongs to.")
    authorisation: str | None = Field(None, max_length=120, description="Reference of the prefect's authorisation.")


class CameraPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = Field(None, description="false: stop recording (no gap is counted while disabled).")
    reason: str | None = Field(None, max_length=500, description="Why (audited).")


# -- targets ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraRef:
    record: CameraRecord
    source: Source


def _fixed_camera_in_scope(source: Source) -> Any:
    def in_scope(user: Person) -> bool:
        # Fixed-camera footage has no wearer: officers (own recordings only, L241-1) never match.
        return policy.can_access_recording(user, source, None)

    return in_scope


def camera_target(request: Request, services: Services) -> Target:
    """The camera named in the path (removed ones too: their footage stays under retention), or 404."""
    name = str(request.path_params.get("camera", ""))
    try:
        record = services.cameras.get(name, include_removed=True)
    except UnknownCamera:
        raise AccessRefusal("not_found", f"no camera {name!r}", 404) from None
    with services.catalog.session() as session:
        source = session.get(Source, record.source_id)
        assert source is not None
    return Target("camera", (record.name,), _fixed_camera_in_scope(source), CameraRef(record, source))


def _instant(text: str | None, what: str) -> datetime:
    if not text:
        raise ValueError(f"'{what}' is required (ISO 8601, e.g. 2026-11-21T10:00:00Z)")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{what}' {text!r} is not an ISO 8601 time (e.g. 2026-11-21T10:00:00Z)") from None
    if moment.tzinfo is None:
        raise ValueError(f"'{what}' {text!r} has no time zone (add Z or +01:00)")
    return moment.astimezone(UTC)


def _range(request: Request, *, limit: timedelta | None) -> tuple[datetime, datetime]:
    start = _instant(request.query_params.get("from"), "from")
    end = _instant(request.query_params.get("to"), "to")
    if end <= start:
        raise ValueError("'to' must come after 'from'")
    if limit is not None and end - start > limit:
        raise ValueError(f"at most {limit.total_seconds() / 3600:g} h per request: ask range after range")
    return start, end


@dataclass(frozen=True)
class PlaybackPlan:
    camera: CameraRef
    start: datetime
    end: datetime
    segments: tuple[Segment, ...]
    masks: tuple[PrivacyMask, ...]


def playback_target(request: Request, services: Services) -> Target:
    """The camera, and the stored segments overlapping the asked range (checked after scope)."""
    target = camera_target(request, services)
    ref: CameraRef = target.value
    try:
        start, end = _range(request, limit=MAX_PLAYBACK)
    except ValueError as error:
        return replace(target, unavailable=AccessRefusal("invalid_range", str(error), 400))
    with services.catalog.session() as session:
        rows = list(
            session.execute(
                select(Segment)
                .where(Segment.source_id == ref.source.id, Segment.end > start, Segment.start < end)
                .order_by(Segment.start, Segment.seq)
            ).scalars()
        )
    kept = tuple(segment for segment in rows if segment.purged_at is None)
    details: dict[str, Any] = {"from": iso(start), "to": iso(end)}
    if not kept:
        refusal = (
            AccessRefusal("gone", "the footage of this range was deleted by retention; its tombstones remain", 410)
            if rows
            else AccessRefusal("no_footage", f"camera {ref.record.name} recorded nothing in this range", 404)
        )
        return replace(target, unavailable=refusal, details=details)
    masks = services.masks.masks_since(ref.source.id, kept[0].start)
    recordings = tuple(dict.fromkeys(segment.recording_id for segment in kept))
    details.update(
        footage_from=iso(kept[0].start), footage_to=iso(kept[-1].end), segments=len(kept), masked=bool(masks)
    )
    return replace(
        target,
        object_ids=(ref.record.name, *recordings),
        value=PlaybackPlan(ref, start, end, kept, masks),
        details=details,
    )


@dataclass(frozen=True)
class SnapshotPlan:
    camera: CameraRef
    live: bool  # from the live relay; else the first frame of the latest stored segment
    latest: Segment | None


def snapshot_target(request: Request, services: Services) -> Target:
    target = camera_target(request, services)
    ref: CameraRef = target.value
    live = any(status.camera == ref.record.name and status.live for status in services.hub.cameras())
    with services.catalog.session() as session:
        latest = session.execute(
            select(Segment)
            .where(Segment.source_id == ref.source.id, Segment.purged_at.is_(None))
            .order_by(Segment.start.desc(), Segment.seq.desc())
            .limit(1)
        ).scalar_one_or_none()
    if not live and latest is None:
        refusal = AccessRefusal("no_footage", f"camera {ref.record.name} is not streaming and has no footage", 404)
        return replace(target, unavailable=refusal)
    return replace(
        target, value=SnapshotPlan(ref, live, latest), details={"source": "live" if live else "recording"}
    )


# -- health ------------------------------------------------------------------------------------------------


def _health(row: CameraHealth | None, lease_seconds: float, now: datetime) -> CameraHealthOut:
    if row is None:
        return CameraHealthOut(state="never-recorded")
    state = row.state
    if row.recorder_id is not None and (
        row.heartbeat_at is None or now - row.heartbeat_at > timedelta(seconds=lease_seconds)
    ):
        state = "unknown"  # the recorder holding it stopped reporting (crashed, or its host is down)
    online = state == "online"
    return CameraHealthOut(
        state=state,
        cause=row.cause,
        detail=row.detail,
        since=row.state_since,
        fps=row.fps if online else None,
        bitrate=row.bitrate if online else None,
        codec=row.codec,
        width=row.width,
        height=row.height,
        last_keyframe_at=row.last_keyframe_at,
        last_keyframe_age_seconds=round((now - row.last_keyframe_at).total_seconds(), 1)
        if row.last_keyframe_at
        else None,
        updated_at=row.updated_at,
    )


def _mask_counts(services: Services) -> dict[int, int]:
    with services.catalog.session() as session:
        rows = session.execute(
            select(PrivacyMaskRecord.source_id, func.count())
            .where(PrivacyMaskRecord.removed_at.is_(None))
            .group_by(PrivacyMaskRecord.source_id)
        ).all()
    return {int(source_id): int(count) for source_id, count in rows}


def _camera_out(
    record: CameraRecord, health: CameraHealthOut, masks: int, streaming: dict[str, bool]
) -> CameraOut:
    return CameraOut(
        name=record.name,
        unit=record.unit,
        enabled=record.enabled,
        removed=record.removed,
        main_url=record.main_url,
        sub_url=record.sub_url,
        credentials=record.has_credentials,
        latitude=record.latitude,
        longitude=record.longitude,
        heading=record.heading,
        authorisation=record.authorisation,
        retention=record.retention,
        created_at=record.created_at,
        masks=masks,
        health=health,
        live=LiveOut(relayed=record.name in streaming, streaming=streaming.get(record.name, False)),
    )


def _describe(services: Services, records: list[CameraRecord]) -> list[CameraOut]:
    health = services.cameras.health()
    masks = _mask_counts(services)
    streaming = {status.camera: status.live for status in services.hub.cameras()}
    now = utcnow()
    lease = services.settings.recorder.lease_seconds
    return [
        _camera_out(record, _health(health.get(record.id), lease, now), masks.get(record.source_id, 0), streaming)
        for record in records
    ]


def _camera_problem(error: CameraError) -> JSONResponse:
    text = str(error)
    status = 404 if isinstance(error, UnknownCamera) else 409 if "exists already" in text or "was " in text else 400
    return problem(status, "camera_error", text)


def _ref(access: Access) -> CameraRef:
    assert access.target is not None and isinstance(access.target.value, CameraRef)
    return access.target.value


# -- the registry ------------------------------------------------------------------------------------------


@router.get("")
def list_cameras(
    request: Request,
    access: Annotated[Access, Depends(require(Action.CAMERAS_READ))],
    include_removed: Annotated[bool, Query(alias="all", description="Include removed cameras.")] = False,
) -> list[CameraOut]:
    """Cameras within the caller's scope, with health: state and cause, measured fps and bitrate, last keyframe."""
    services = services_of(request)
    records = [
        record
        for record in services.cameras.cameras(include_removed=include_removed)
        if policy.unit_in_scope(access.user.unit, record.unit)
    ]
    return _describe(services, records)


@router.post("", status_code=201, response_model=CameraOut, responses={400: {}, 409: {}})
def add_camera(
    request: Request,
    access: Annotated[Access, Depends(require(Action.CAMERAS_MANAGE))],
    body: Annotated[CameraIn, Body()],
) -> Any:
    """Register a camera (``vigie camera add``); a recorder picks it up within its registry poll period."""
    services = services_of(request)
    if not policy.unit_in_scope(access.user.unit, body.unit):
        raise AccessRefusal("out_of_scope", "you may only add cameras to your own unit", 403)
    spec = CameraSpec(
        name=body.name,
        main_url=body.main_url,
        sub_url=body.sub_url,
        latitude=body.latitude,
        longitude=body.longitude,
        heading=body.heading,
        retention=RetentionPeriod(days=body.retention_days) if body.retention_days is not None else None,
        unit=body.unit,
        authorisation=body.authorisation,
    )
    try:
        record = services.cameras.add(spec, access.actor())
    except CameraError as error:
        return _camera_problem(error)
    return _describe(services, [record])[0]


@router.patch("/{camera}", response_model=CameraOut, responses={404: {}, 409: {}})
def change_camera(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.CAMERAS_MANAGE, target=camera_target))],
    body: Annotated[CameraPatch, Body()],
) -> Any:
    """Enable or disable a camera (``vigie camera enable|disable``)."""
    services = services_of(request)
    record = _ref(access).record
    try:
        if body.enabled is not None:
            record = services.cameras.set_enabled(record.name, body.enabled, access.actor(), reason=body.reason)
    except CameraError as error:
        return _camera_problem(error)
    return _describe(services, [record])[0]


@router.delete("/{camera}", response_model=CameraOut, responses={404: {}, 409: {}})
def remove_camera(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.CAMERAS_MANAGE, target=camera_target))],
    reason: Annotated[str | None, Query(max_length=500, description="Why (audited).")] = None,
) -> Any:
    """Stop recording and hide the camera. Its footage is not deleted: it expires with its retention."""
    services = services_of(request)
    try:
        record = services.cameras.remove(_ref(access).record.name, access.actor(), reason=reason)
    except CameraError as error:
        return _camera_problem(error)
    return _describe(services, [record])[0]


@router.get("/{camera}/timeline", responses={400: {}, 404: {}})
def timeline(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.CAMERAS_READ, target=camera_target))],
    start: Annotated[str | None, Query(alias="from", description="ISO 8601, e.g. 2026-11-21T10:00:00Z.")] = None,
    end: Annotated[str | None, Query(alias="to", description="ISO 8601.")] = None,
) -> Any:
    """``{"segments": [{"start", "end", "recording", "segments"}], "gaps": [{"start", "end", "cause"}]}``.

    Times are ISO 8601 UTC with ``Z``; the same contract as ``vigie timeline --json``.
    """
    services = services_of(request)
    try:
        since = _instant(start, "from") if start else None
        until = _instant(end, "to") if end else None
        result = camera_timeline(services.catalog, _ref(access).record.name, since, until)
    except ValueError as error:
        return problem(400, "invalid_range", str(error))
    return result.as_json()


# -- footage -------------------------------------------------------------------------------------------------


class _StreamSink:
    """A write-only file: PyAV then sees an unseekable output and writes fragments as it goes."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def playback_stream(vault: Vault, plan: PlaybackPlan) -> Iterator[bytes]:
    """The plan's segments as ONE fragmented MP4, each segment decrypted (and masked) only when needed.

    Packets are copied (no re-encode) unless the camera has masks. Timestamps are rebased so the
    output starts at 0 and runs on without holes: a gap in the recording is closed up, which the
    timeline shows (a player would otherwise freeze for the gap's length).
    """
    transcoder = MaskedTranscoder(plan.masks)
    sink = _StreamSink()
    output: Any = av.open(sink, "w", format="mp4", options={"movflags": PLAYBACK_MOVFLAGS})
    out_stream: Any = None
    extradata: bytes | None = None
    elapsed = 0.0  # seconds of output written so far
    try:
        for segment in plan.segments:
            data = transcoder.segment(vault.read(segment))
            with av.open(io.BytesIO(data), "r") as source:
                stream = source.streams.video[0]
                if out_stream is None:
                    out_stream = output.add_stream_from_template(stream)
                    extradata = stream.codec_context.extradata
                elif stream.codec_context.extradata != extradata:
                    # The camera changed its encoding (resolution, profile): one MP4 track cannot hold both.
                    log.warning("playback of %s stops at %s: the stream's encoding changed", plan.camera.record.name,
                                iso(segment.start))
                    break
                first: int | None = None
                reach = 0
                time_base = stream.time_base
                assert time_base is not None
                shift = 0
                for packet in source.demux(stream):
                    if packet.dts is None or packet.pts is None:
                        continue
                    if first is None:
                        first = int(packet.dts)
                        shift = round(elapsed / time_base) - first
                    reach = max(reach, int(packet.pts) + int(packet.duration or 0))
                    packet.pts, packet.dts = int(packet.pts) + shift, int(packet.dts) + shift
                    packet.stream = out_stream
                    output.mux(packet)
                if first is not None:
                    elapsed += float((reach - first) * time_base)
            chunk = sink.take()
            if chunk:
                yield chunk
        output.close()
        output = None
        chunk = sink.take()
        if chunk:
            yield chunk
    finally:
        if output is not None:
            try:
                output.close()
            except Exception:  # a client gone mid-stream leaves a half-written muxer: nothing to keep
                log.debug("playback muxer close failed", exc_info=True)


@router.get("/{camera}/playback", response_class=Response, responses=FOOTAGE_RESPONSES)
def playback(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.FOOTAGE_VIEW, target=playback_target))],
    start: Annotated[str | None, Query(alias="from", description="ISO 8601 start of the range.")] = None,
    end: Annotated[str | None, Query(alias="to", description="ISO 8601 end (at most 2 h after the start).")] = None,
) -> Response:
    """Recorded footage of a range as fragmented MP4. Needs a reason; in the register before a byte leaves.

    Whole segments overlapping the range are sent (each starts on a keyframe); ``X-Vigie-Start``
    says when the first one starts. Privacy masks in force since then are applied.
    """
    services = services_of(request)
    assert access.target is not None
    plan = access.target.value
    assert isinstance(plan, PlaybackPlan)
    headers = {
        "Cache-Control": "no-store",
        "X-Vigie-Start": iso(plan.segments[0].start),
        "X-Vigie-End": iso(plan.segments[-1].end),
        "X-Vigie-Masked": "1" if plan.masks else "0",
        "X-Vigie-Segments": str(len(plan.segments)),
    }
    return StreamingResponse(playback_stream(services.vault, plan), media_type="video/mp4", headers=headers)


def first_frame(fmp4: bytes) -> npt.NDArray[np.uint8]:
    """The first decodable frame of an MP4/fMP4 piece, as BGR (a segment starts on a keyframe)."""
    with av.open(io.BytesIO(fmp4), "r") as container:
        for frame in container.decode(video=0):
            return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
    raise TranscodeError("no decodable frame")


def _live_keyframe(services: Services, camera: str) -> tuple[bytes, float] | None:
    """init + the current GOP's keyframe fragment from the live relay, and when it arrived."""
    try:
        subscription = services.hub.subscribe(camera, timeout=SNAPSHOT_WAIT_SECONDS)
    except LiveUnavailable:
        return None
    with subscription:
        while (fragment := subscription.get(timeout=SNAPSHOT_WAIT_SECONDS)) is not None:
            if fragment.kind == "media" and fragment.keyframe:
                return subscription.init + fragment.data, fragment.received_at
    return None


@router.get("/{camera}/snapshot", response_class=Response, responses=SNAPSHOT_RESPONSES)
def snapshot(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.LIVE_VIEW, target=snapshot_target))],
) -> Response:
    """One JPEG of the latest keyframe (live relay, else the last stored segment), privacy masks applied."""
    services = services_of(request)
    assert access.target is not None
    plan = access.target.value
    assert isinstance(plan, SnapshotPlan)
    name = plan.camera.record.name
    live = _live_keyframe(services, name) if plan.live else None
    if live is not None:
        data, taken = live
        masks: tuple[PrivacyMask, ...] = services.masks.masks(name).masks
        taken_at = datetime.fromtimestamp(taken, UTC)
    elif plan.latest is not None:
        data = services.vault.read(plan.latest)
        masks = services.masks.masks_since(plan.camera.source.id, plan.latest.start)
        taken_at = plan.latest.start
    else:
        return problem(503, "not_live", f"camera {name} sent no keyframe in time")
    jpeg = MaskedTranscoder(masks).snapshot(first_frame(data))
    return Response(
        jpeg,
        media_type="image/jpeg",
        headers={
            "Cache-Control": "no-store", "X-Vigie-Taken-At": iso(taken_at), "X-Vigie-Masked": str(int(bool(masks)))
        },
    )


# -- pages ---------------------------------------------------------------------------------------------------


def _t(request: Request) -> i18n.Translator:
    return i18n.translator(request, services_of(request).settings.web.default_language)


@pages.get("/cameras")
def cameras_page(
    request: Request, access: Annotated[Access, Depends(require(Action.CAMERAS_READ, page=True))]
) -> Response:
    t = _t(request)
    role = access.user.role
    can_manage = policy.allows(role, Action.CAMERAS_MANAGE)
    form = ""
    if can_manage:
        fields = (
            ("name", "cameras.name", 'required pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{0,99}"'),
            ("main_url", "cameras.main_url", 'required placeholder="rtsp://…"'),
            ("sub_url", "cameras.sub_url", 'placeholder="rtsp://…"'),
            ("latitude", "cameras.latitude", 'inputmode="decimal"'),
            ("longitude", "cameras.longitude", 'inputmode="decimal"'),
            ("heading", "cameras.heading", 'inputmode="decimal"'),
            ("retention_days", "cameras.retention_days", 'type="number" min="1" max="31"'),
            ("unit", "cameras.unit", ""),
            ("authorisation", "cameras.authorisation", ""),
        )
        inputs = "".join(
            f'<label>{h(t(label))}<input name="{name}" autocomplete="off" {extra}></label>'
            for name, label, extra in fields
        )
        form = (
            f'<details class="card"><summary>{h(t("cameras.add"))}</summary>'
            f'<form id="camera-add" class="grid-form">{inputs}'
            f'<div><button type="submit" class="button primary">{h(t("cameras.add"))}</button></div>'
            '</form><p class="alert error" id="camera-error" hidden></p></details>'
        )
    columns = ("name", "state", "fps", "bitrate", "keyframe", "position", "authorisation", "unit", "retention",
               "masks", "actions")
    head = "".join(f'<th scope="col">{h(t("cameras.col." + name))}</th>' for name in columns)
    content = (
        f'<p class="muted">{h(t("cameras.intro"))}</p>{form}'
        '<div class="table-wrap"><table class="data" id="cameras-table" '
        f'data-manage="{int(can_manage)}" data-live="{int(policy.allows(role, Action.LIVE_STREAM))}">'
        f"<thead><tr>{head}</tr></thead><tbody></tbody></table></div>"
    )
    return shell(request, access, t, title=t("cameras.title"), content=content, scripts=("cameras.js",))


@pages.get("/cameras/{camera}/timeline")
def timeline_page(
    camera: str,
    request: Request,
    access: Annotated[Access, Depends(require(Action.CAMERAS_READ, target=camera_target, page=True))],
) -> Response:
    t = _t(request)
    ref = _ref(access)
    can_play = policy.allows(access.user.role, Action.FOOTAGE_VIEW) and _fixed_camera_in_scope(ref.source)(access.user)
    purposes = f'<option value="">{h(t("recordings.purpose.none"))}</option>' + "".join(
        f'<option value="{p.value}">{h(t("recordings.purpose." + p.value))}</option>' for p in policy.Purpose
    )
    spans = "".join(
        f'<option value="{hours}"{" selected" if hours == 1 else ""}>{h(t(f"timeline.span.{hours}"))}</option>'
        for hours in (1, 6, 24, 168)
    )
    player = ""
    if can_play:
        player = (
            '<dialog id="player" class="card"><form id="play-form" method="dialog" class="stack">'
            f'<p id="play-range" class="muted"></p>'
            f'<label>{h(t("recordings.reason"))}<input name="reason" required minlength="8" autocomplete="off"></label>'
            f'<label>{h(t("recordings.purpose"))}<select name="purpose">{purposes}</select></label>'
            '<p class="alert error" id="play-error" hidden></p>'
            f'<div class="toolbar"><button type="submit" class="button primary">{h(t("recordings.play"))}</button>'
            f'<button type="button" class="button" id="player-close">{h(t("common.close"))}</button></div>'
            '</form><video id="player-video" controls muted playsinline hidden></video></dialog>'
        )
    content = (
        f'<p class="muted">{h(t("timeline.intro"))}</p>'
        '<form id="timeline-controls" class="card filters">'
        f'<label>{h(t("timeline.until"))}<input type="datetime-local" name="until" step="60"></label>'
        f'<label>{h(t("timeline.span"))}<select name="span">{spans}</select></label>'
        f'<button type="submit" class="button primary">{h(t("timeline.show"))}</button>'
        '<span class="spacer"></span>'
        f'<span class="legend"><i class="swatch recorded"></i>{h(t("timeline.recorded"))}'
        f'<i class="swatch gap"></i>{h(t("timeline.gap"))}</span>'
        "</form>"
        f'<section class="card timeline-card" id="timeline" data-camera="{h(ref.record.name)}" '
        f'data-play="{int(can_play)}" aria-live="polite"><p class="muted">{h(t("common.loading"))}</p></section>'
        f'<p class="muted" id="timeline-summary"></p>{player}'
    )
    title = f"{t('timeline.title')} — {ref.record.name}"
    return shell(request, access, t, title=title, content=content, scripts=("playback.js", "timeline.js"))
