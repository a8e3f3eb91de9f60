"""Interrupt an upload at any byte, any number of times, and resume: the stored file is the original.

Two levels: the protocol through TestClient (partial bodies, stale offsets, corrupted chunks, in
any order, property-based), and real dropped connections against a live uvicorn on 127.0.0.1
(a raw socket that sends part of a PATCH body and hangs up), resumed with tuspy.
"""

from __future__ import annotations

import itertools
import socket
import time
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from vigie.catalog.bodycam_models import BodycamRecording
from vigie.cli.bodycam_commands import loopback_server
from vigie.ingest.bodycam.context import BodycamContext
from vigie.ingest.bodycam.offload import DockClient
from vigie.ingest.bodycam.registry import DeviceView

from .helpers import T0, TusDock, checksum_header, gpx, stored_bytes, unique, walk

_sequences = itertools.count(1)
STEP = st.sampled_from(["partial", "whole", "whole-checksum", "stale-offset", "corrupt-checksum", "head"])


def recording_of(context: BodycamContext, sequence: int) -> str:
    with context.catalog.session() as session:
        row = session.execute(
            select(BodycamRecording.recording_id).where(BodycamRecording.sequence == sequence)
        ).scalar_one()
    assert row is not None
    return str(row)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_interrupted_anywhere_and_resumed_the_stored_file_is_the_original(
    dock: TusDock, device: DeviceView, context: BodycamContext, clip: bytes, data: st.DataObject
) -> None:
    sequence = next(_sequences)
    original = unique(clip, f"resume-{sequence:08d}")
    size = len(original)
    docking = dock.dock(device.serial)
    assert dock.track(docking, sequence, gpx(walk(T0, 3))).status_code in (200, 201)
    url = dock.create(size, dock.metadata(device.serial, sequence, original, docking=docking)).headers["location"]
    offset = 0
    for _ in range(40):
        if offset == size:
            break
        step = data.draw(STEP)
        if step == "head":
            assert int(dock.head(url).headers["Upload-Offset"]) == offset
            continue
        end = data.draw(st.integers(min_value=offset + 1, max_value=size))
        chunk = original[offset:end]
        if step == "partial":
            # The connection dropped after some bytes: the server keeps exactly those.
            cut = data.draw(st.integers(min_value=offset, max_value=end))
            response = dock.patch(url, offset, original[offset:cut])
            assert response.status_code == 204, response.text
            offset = cut
        elif step == "stale-offset":
            wrong = data.draw(st.sampled_from([o for o in (offset - 1, offset + 1, 0, size) if o != offset and o >= 0]))
            assert dock.patch(url, wrong, original[wrong:end] or b"x").status_code in (400, 409)
        elif step == "corrupt-checksum":
            bad = checksum_header(chunk + b"!")
            assert dock.patch(url, offset, chunk, checksum=bad).status_code == 460
        else:
            checksum = checksum_header(chunk) if step == "whole-checksum" else None
            response = dock.patch(url, offset, chunk, checksum=checksum)
            assert response.status_code == 204, response.text
            offset = end
        assert int(dock.head(url).headers["Upload-Offset"]) == offset
    if offset < size:
        assert dock.patch(url, offset, original[offset:]).status_code == 204
    assert stored_bytes(context, recording_of(context, sequence)) == original


def _dropped_patch(base_url: str, path: str, token: str, offset: int, body: bytes, declared: int) -> None:
    """Send a PATCH announcing ``declared`` bytes, send only ``body``, and hang up."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        ).encode()
        connection.sendall(head + body)
        time.sleep(0.05)
        connection.shutdown(socket.SHUT_RDWR)


@hypothesis_settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=3))
def test_real_dropped_connections_then_tuspy_resumes(
    app: object,
    dock: TusDock,
    device: DeviceView,
    context: BodycamContext,
    clip: bytes,
    tmp_path: Path,
    cuts: list[float],
) -> None:
    sequence = next(_sequences) + 10_000
    original = unique(clip, f"dropped-{sequence:08d}")
    size = len(original)
    docking = dock.dock(device.serial)
    dock.track(docking, sequence, gpx(walk(T0, 3)))
    metadata = dock.metadata(device.serial, sequence, original, docking=docking)
    path = dock.create(size, metadata).headers["location"]
    with loopback_server(app) as base_url:
        offset = 0
        for fraction in sorted(cuts):
            target = max(offset, int(size * fraction * 0.99))
            _dropped_patch(base_url, path, dock.token, offset, original[offset:target], size - offset)
            # The server keeps what arrived; HEAD waits for the dropped PATCH to finish draining.
            deadline = time.monotonic() + 10
            while True:
                reported = int(dock.head(path).headers["Upload-Offset"])
                if reported == target or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert reported == target
            offset = target
        file = tmp_path / f"{sequence}.mp4"
        file.write_bytes(original)
        client = DockClient(base_url, dock.token, chunk_size=4096, state_file=tmp_path / "state.json")
        try:
            client.storage.set_item(f"{device.serial}:{sequence}:{metadata['sha256']}", base_url + path)  # type: ignore[union-attr]
            assert client.upload(file, metadata) == ("uploaded", None)
        finally:
            client.close()
    assert stored_bytes(context, recording_of(context, sequence)) == original
