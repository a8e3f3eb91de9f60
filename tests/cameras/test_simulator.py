"""The RTSP camera simulator: H.264 main and substreams that loop seamlessly, stamps, control API."""

from __future__ import annotations

import itertools
import time

import av
import pytest

from vigie.sim.rtsp import CameraSimulator, SimulatorError, read_stamp


def read_packets(url: str, count: int) -> tuple[list[av.Packet], tuple[int, int]]:
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(5, 5)) as container:
        stream = container.streams.video[0]
        size = (stream.codec_context.width, stream.codec_context.height)
        packets = []
        for packet in container.demux(stream):
            if packet.dts is not None:
                packets.append(packet)
            if len(packets) >= count:
                break
    return packets, size


@pytest.mark.slow
def test_simulated_cameras() -> None:
    with CameraSimulator(count=2, port=0, seconds=2, main_size=(640, 360), stamp_frames=True) as simulator:
        assert simulator.port > 0 and simulator.names == ["cam0", "cam1"]
        # 3 s from a 2 s loop: timestamps run on across the loop seam, one frame (3600 ticks of 90 kHz) apart.
        packets, size = read_packets(simulator.url("cam1"), 75)
        assert size == (640, 360)
        steps = {later.dts - earlier.dts for earlier, later in itertools.pairwise(packets[1:])}
        assert steps == {3600}
        keyframes = [p for p in packets[1:] if p.is_keyframe]
        assert len(keyframes) >= 2 and all(b.dts - a.dts == 90000 for a, b in itertools.pairwise(keyframes))
        stamps = [read_stamp(bytes(p)) for p in packets]
        assert all(stamp is not None and abs(time.time() - stamp) < 10 for stamp in stamps)
        _, sub_size = read_packets(simulator.url("cam0", sub=True), 5)
        assert sub_size == (320, 180)

        simulator.pause("cam0")
        with pytest.raises(av.error.HTTPNotFoundError):
            av.open(simulator.url("cam0"), options={"rtsp_transport": "tcp"}, timeout=(5, 5))
        read_packets(simulator.url("cam1"), 5)  # the others are unaffected
        simulator.resume("cam0")
        read_packets(simulator.url("cam0"), 5)
        with pytest.raises(SimulatorError, match="unknown camera"):
            simulator.pause("cam9")
        assert simulator.pushed_frames() > 0
