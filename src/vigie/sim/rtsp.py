"""RTSP camera simulator: N looping synthetic street scenes served like fixed cameras.

``rtsp://127.0.0.1:8554/cam0`` (main stream, HD) and ``.../cam0/sub`` (substream), ``cam1``...

How it stays cheap enough to simulate hundreds of cameras on a laptop: the scene is rendered and
encoded to H.264 *once* (PyAV libx264, one keyframe per second, no B-frames, cached on disk); a
GStreamer RTSP server then pushes those access units, looping, through one ``appsrc`` per camera
with continuous timestamps. No camera encodes anything at run time, and viewers of one camera
share its pipeline. Each camera starts at a different point of the loop so they do not show the
same instant.

The GStreamer side runs in a child process under the system Python (Debian's ``python3-gi`` and
``gir1.2-gst-rtsp-server-1.0``), so Vigie's virtualenv needs no PyGObject build, and the
simulator's CPU is never counted as the recorder's. This file is both the parent-side API
(:class:`CameraSimulator`) and, run as a script, the child (stdlib + ``gi`` only at import time).

Cameras can be taken down and brought back (:meth:`CameraSimulator.pause` / ``resume``): "down"
closes its connections and answers 404, like an unplugged camera behind a live switch; "stall"
keeps connections open but sends nothing, like a frozen encoder. Special camera kinds serve
streams a recorder must refuse: ``audio-only`` (G.711 audio, no video) and ``vp8`` (video Vigie
cannot store without re-encoding).

Optionally every frame carries an H.264 SEI message with the wall-clock time it was sent
(``stamp_frames``), from which latency down the chain can be measured exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

SYSTEM_PYTHON = "/usr/bin/python3"
ENCODING_VERSION = 2  # bump when the encoded bitstream changes, to invalidate caches
# Scene names of the CLI -> (vigie.sim kind, variant).
SCENES: dict[str, tuple[str, str]] = {
    "walkers": ("walkers", "day"),
    "crowd": ("crowd_disperse", "day"),
    "abandoned": ("abandoned", "day"),
    "night": ("walkers", "night"),
    "rain": ("walkers", "rain"),
}
CameraKind = Literal["h264", "audio-only", "vp8"]
PauseMode = Literal["down", "stall"]
# SEI user_data_unregistered UUID marking Vigie's send-time stamps (no 0x00 bytes: no emulation bytes needed).
STAMP_UUID = bytes.fromhex("7669676965736e642d74696d65ab11ee")
FRAME_HEADER = struct.Struct(">IB")  # access unit size, flags (bit 0: keyframe)


class SimulatorError(RuntimeError):
    """The simulator could not start or a control command failed; the message says why."""


# --------------------------------------------------------------------------------------------------
# Encoding once (parent side, in Vigie's virtualenv)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoopSpec:
    """One encoded loop of a scene at one resolution."""

    scene: str
    width: int
    height: int
    fps: int
    seconds: float
    seed: int
    bitrate: int  # bits per second, the encoder's target

    def cache_name(self) -> str:
        digest = hashlib.sha256(json.dumps([ENCODING_VERSION, asdict(self)], sort_keys=True).encode()).hexdigest()
        return f"{self.scene}-{self.width}x{self.height}-{self.fps}fps-{digest[:12]}.au"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vigie" / "rtsp-sim"


def encode_loop(spec: LoopSpec, cache_dir: Path) -> Path:
    """Render and encode the scene to an access-unit file (cached); returns its path.

    The loop length is a whole number of one-second GOPs, so looping lands on a keyframe and the
    stream stays decodable across the seam.
    """
    import av  # imported here: the child process has no PyAV

    from vigie.sim import SceneSpec, iter_frames

    path = cache_dir / spec.cache_name()
    if path.exists():
        return path
    if spec.scene not in SCENES:
        raise SimulatorError(f"unknown scene {spec.scene!r}; choose one of {', '.join(SCENES)}")
    kind, variant = SCENES[spec.scene]
    seconds = max(1, round(spec.seconds)) * 1.0
    scene = SceneSpec(
        kind=kind,
        width=spec.width,
        height=spec.height,
        fps=spec.fps,
        seconds=seconds,
        seed=spec.seed,
        variant=variant,  # type: ignore[arg-type]
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = spec.width, spec.height, "yuv420p"
    encoder.time_base = Fraction(1, spec.fps)
    encoder.framerate = Fraction(spec.fps, 1)
    encoder.bit_rate = spec.bitrate
    encoder.options = {
        "preset": "veryfast",
        "tune": "zerolatency",  # no B-frames, no look-ahead: a camera's encoder
        "maxrate": str(spec.bitrate),
        "bufsize": str(spec.bitrate),
        # One slice per frame, SPS/PPS before every keyframe, keyframes exactly once a second.
        "x264-params": f"keyint={spec.fps}:min-keyint={spec.fps}:scenecut=0:repeat-headers=1:sliced-threads=0",
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as out:

        def write(packets: list[Any]) -> None:
            for packet in packets:
                data = bytes(packet)
                out.write(FRAME_HEADER.pack(len(data), 1 if packet.is_keyframe else 0) + data)

        for index, (_, image) in enumerate(iter_frames(scene)):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
            frame.pts = index
            write(encoder.encode(frame))
        write(encoder.encode(None))
    os.replace(temporary, path)
    return path


def read_loop(path: Path) -> list[tuple[bytes, bool]]:
    """The access units of an encoded loop, in order, with their keyframe flags."""
    data = path.read_bytes()
    units: list[tuple[bytes, bool]] = []
    position = 0
    while position < len(data):
        size, flags = FRAME_HEADER.unpack_from(data, position)
        position += FRAME_HEADER.size
        units.append((data[position : position + size], bool(flags & 1)))
        position += size
    return units


def read_stamp(data: bytes) -> float | None:
    """The send time (epoch seconds) a simulated camera stamped into a frame, if any."""
    position = data.find(STAMP_UUID)
    if position < 0:
        return None
    digits = bytearray()
    for byte in data[position + len(STAMP_UUID) : position + len(STAMP_UUID) + 20]:
        if not 0x30 <= byte <= 0x39:
            break
        digits.append(byte)
    return int(digits) / 1_000_000 if digits else None


# --------------------------------------------------------------------------------------------------
# Parent-side control API
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SimulatedCamera:
    name: str
    kind: CameraKind = "h264"


@dataclass
class CameraSimulator:
    """Serve simulated cameras over RTSP until :meth:`stop` (or use ``with``).

    ``port=0`` picks a free port (see :attr:`port` once started). ``special`` adds cameras of other
    kinds by name, e.g. ``{"radio": "audio-only"}``.
    """

    count: int = 1
    port: int = 8554
    host: str = "127.0.0.1"
    scene: str = "walkers"
    seconds: float = 10.0
    fps: int = 25
    main_size: tuple[int, int] = (1280, 720)
    sub_size: tuple[int, int] | None = (320, 180)
    main_bitrate: int = 2_000_000
    sub_bitrate: int = 256_000
    seed: int = 0
    stamp_frames: bool = False
    special: dict[str, CameraKind] = field(default_factory=dict)
    cache_dir: Path | None = None
    python: str = SYSTEM_PYTHON
    _process: subprocess.Popen[str] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _stderr: Any = field(default=None, init=False, repr=False)
    _workdir: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)

    @property
    def cameras(self) -> list[SimulatedCamera]:
        return [SimulatedCamera(f"cam{index}") for index in range(self.count)] + [
            SimulatedCamera(name, kind) for name, kind in self.special.items()
        ]

    @property
    def names(self) -> list[str]:
        return [camera.name for camera in self.cameras]

    def url(self, name: str, *, sub: bool = False) -> str:
        return f"rtsp://{self.host}:{self.port}/{name}{'/sub' if sub else ''}"

    def encode(self) -> tuple[Path, Path | None]:
        """Encode (or find in the cache) the main and sub loops."""
        cache = self.cache_dir or default_cache_dir()
        main = encode_loop(
            LoopSpec(self.scene, *self.main_size, self.fps, self.seconds, self.seed, self.main_bitrate), cache
        )
        sub = None
        if self.sub_size is not None:
            sub = encode_loop(
                LoopSpec(self.scene, *self.sub_size, self.fps, self.seconds, self.seed, self.sub_bitrate), cache
            )
        return main, sub

    def start(self, timeout: float = 30.0) -> CameraSimulator:
        if self._process is not None:
            raise SimulatorError("simulator already started")
        if not Path(self.python).exists():
            raise SimulatorError(f"{self.python} not found: the simulator needs Debian's python3 with python3-gi")
        main, sub = self.encode()
        self._workdir = tempfile.TemporaryDirectory(prefix="vigie-rtsp-sim-")
        config = {
            "host": self.host,
            "port": self.port,
            "fps": self.fps,
            "main": str(main),
            "sub": str(sub) if sub else None,
            "stamp": self.stamp_frames,
            "cameras": [
                {"name": camera.name, "kind": camera.kind, "offset": index * 7 * self.fps}
                for index, camera in enumerate(self.cameras)
            ],
        }
        config_path = Path(self._workdir.name) / "cameras.json"
        config_path.write_text(json.dumps(config))
        self._stderr = open(Path(self._workdir.name) / "server.log", "w+")  # noqa: SIM115  (kept for the process' life)
        self._process = subprocess.Popen(
            # -I: the script's own folder (vigie/sim) must not shadow modules of the system Python.
            [self.python, "-I", str(Path(__file__).resolve()), "--serve", str(config_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        line = self._read_line(timeout)
        if not line.startswith("ready "):
            message = line or self._log_tail()
            self.stop()
            raise SimulatorError(f"RTSP simulator failed to start: {message}")
        self.port = int(line.split()[1])
        return self

    def pause(self, name: str, mode: PauseMode = "down") -> None:
        """Take a camera down ("down": connections closed, 404) or freeze it ("stall": no data)."""
        self._command(f"pause {name} {mode}")

    def resume(self, name: str) -> None:
        self._command(f"resume {name}")

    def connections(self, name: str) -> int:
        """RTSP clients connected to a camera now (main and sub streams together)."""
        return int(self._command(f"clients {name}").split()[1])

    def pushed_frames(self) -> int:
        """Access units pushed so far, over all cameras and streams (for CPU accounting)."""
        return int(self._command("stats").split()[1])

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError, ValueError):
                assert process.stdin is not None
                process.stdin.write("quit\n")
                process.stdin.flush()
                process.stdin.close()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> CameraSimulator:
        return self.start() if self._process is None else self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _command(self, line: str, timeout: float = 10.0) -> str:
        with self._lock:
            if self._process is None or self._process.stdin is None:
                raise SimulatorError("simulator is not running")
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
            reply = self._read_line(timeout)
        if not reply.startswith("ok"):
            raise SimulatorError(f"{line!r}: {reply or self._log_tail()}")
        return reply

    def _read_line(self, timeout: float) -> str:
        assert self._process is not None and self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], timeout)
        if not ready:
            return ""
        return self._process.stdout.readline().strip()

    def _log_tail(self) -> str:
        if self._stderr is None:
            return "no output"
        self._stderr.flush()
        self._stderr.seek(0)
        lines = [line.strip() for line in self._stderr.read().splitlines() if line.strip()]
        return lines[-1] if lines else "the server exited without a message"


# --------------------------------------------------------------------------------------------------
# Child side: the GStreamer RTSP server (system Python with python3-gi; stdlib + gi only)
# --------------------------------------------------------------------------------------------------
H264_LAUNCH = (
    "( appsrc name=src is-live=true do-timestamp=false format=time min-latency=0 "
    "caps=video/x-h264,stream-format=byte-stream,alignment=au "
    "! rtph264pay name=pay0 pt=96 config-interval=0 )"
)
SPECIAL_LAUNCH: dict[str, str] = {
    "audio-only": "( audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample "
    "! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay0 pt=8 )",
    "vp8": "( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=10/1 "
    "! vp8enc deadline=1 ! rtpvp8pay name=pay0 pt=96 )",
}


def _first_slice_offset(unit: bytes) -> int:
    """Where the first picture slice (NAL 1 or 5) starts in an Annex-B access unit."""
    position = 0
    while True:
        found = unit.find(b"\x00\x00\x01", position)
        if found < 0 or found + 3 >= len(unit):
            return 0
        if unit[found + 3] & 0x1F in (1, 5):
            return found - 1 if found > 0 and unit[found - 1] == 0 else found
        position = found + 3


def _stamp_sei(now: float) -> bytes:
    text = str(int(now * 1_000_000)).encode()
    payload = STAMP_UUID + text
    return b"\x00\x00\x00\x01\x06\x05" + bytes([len(payload)]) + payload + b"\x80"


class _Feed:
    """One mounted stream of one camera (main or sub): where its appsrc is and what it pushed."""

    def __init__(self, units: list[tuple[bytes, bool]]) -> None:
        self.units = units
        self.slice_at = [_first_slice_offset(unit) for unit, _ in units]
        self.source: Any = None
        self.first_tick: int | None = None
        self.base: int = 0


def serve(config_path: str) -> None:  # pragma: no cover - runs in the child process
    # Loaded by name: only the system Python has PyGObject (and Vigie's type checker has no stubs for it).
    gi = importlib.import_module("gi")
    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    GLib, Gst, GstRtspServer = (
        importlib.import_module(f"gi.repository.{name}") for name in ("GLib", "Gst", "GstRtspServer")
    )

    Gst.init(None)
    config = json.loads(Path(config_path).read_text())
    fps = int(config["fps"])
    frame_ns = Gst.SECOND // fps
    stamp = bool(config["stamp"])
    loops = {"main": read_loop(Path(config["main"]))}
    if config["sub"]:
        loops["sub"] = read_loop(Path(config["sub"]))

    server = GstRtspServer.RTSPServer()
    server.set_address(config["host"])
    server.set_service(str(config["port"]))
    mounts = server.get_mount_points()
    factories: dict[str, Any] = {}
    feeds: dict[str, _Feed] = {}
    offsets: dict[str, int] = {}
    paused: dict[str, str] = {}  # camera -> mode
    clients: dict[str, set[Any]] = {}
    pushed = [0]

    def mount(path: str, launch: str, feed: _Feed | None) -> None:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch)
        factory.set_shared(True)
        if feed is not None:

            def configure(_factory: Any, media: Any, feed: _Feed = feed) -> None:
                feed.source = media.get_element().get_by_name("src")
                feed.first_tick = None

                def unprepared(_media: Any) -> None:
                    feed.source = None

                media.connect("unprepared", unprepared)

            factory.connect("media-configure", configure)
        factories[path] = factory
        mounts.add_factory(path, factory)

    for camera in config["cameras"]:
        name = camera["name"]
        offsets[name] = int(camera["offset"])
        if camera["kind"] == "h264":
            for stream, units in loops.items():
                path = f"/{name}" if stream == "main" else f"/{name}/sub"
                feeds[path] = _Feed(units)
                mount(path, H264_LAUNCH, feeds[path])
        else:
            mount(f"/{name}", SPECIAL_LAUNCH[camera["kind"]], None)

    def client_connected(_server: Any, client: Any) -> None:
        def request(_client: Any, context: Any) -> None:
            path = context.uri.abspath if context.uri is not None else ""
            camera = path.strip("/").split("/")[0]
            clients.setdefault(camera, set()).add(client)

        def closed(_client: Any) -> None:
            for members in clients.values():
                members.discard(client)

        client.connect("describe-request", request)
        client.connect("setup-request", request)
        client.connect("closed", closed)

    server.connect("client-connected", client_connected)
    if server.attach(None) == 0:
        print(f"error cannot listen on {config['host']}:{config['port']}", flush=True)
        return
    print(f"ready {server.get_bound_port()}", flush=True)

    started = time.monotonic()
    tick = [0]

    def push_frames() -> bool:
        tick[0] += 1
        now = time.time()
        for path, feed in feeds.items():
            if feed.source is None:
                continue
            camera = path.strip("/").split("/")[0]
            if camera in paused:
                continue
            index = (offsets[camera] + tick[0]) % len(feed.units)
            unit, _keyframe = feed.units[index]
            if stamp:
                at = feed.slice_at[index]
                unit = unit[:at] + _stamp_sei(now) + unit[at:]
            buffer = Gst.Buffer.new_wrapped(unit)
            if feed.first_tick is None:
                running = feed.source.get_current_running_time()
                feed.first_tick = tick[0]
                feed.base = 0 if running == Gst.CLOCK_TIME_NONE else int(running)
            # Timestamps follow the camera's clock: a stalled camera resumes at real time.
            buffer.pts = buffer.dts = feed.base + (tick[0] - feed.first_tick) * frame_ns
            buffer.duration = frame_ns
            feed.source.emit("push-buffer", buffer)
            pushed[0] += 1
        delay = started + (tick[0] + 1) / fps - time.monotonic()
        GLib.timeout_add(max(0, int(delay * 1000)), push_frames)
        return False

    def set_mounted(camera: str, mounted: bool) -> None:
        for path, factory in factories.items():
            if path.strip("/").split("/")[0] != camera:
                continue
            if mounted:
                mounts.add_factory(path, factory)
            else:
                mounts.remove_factory(path)

    def control(channel: Any, condition: Any) -> bool:
        line = sys.stdin.readline()
        if not line or line.strip() == "quit":
            loop.quit()
            return False
        words = line.split()
        try:
            if words[0] == "pause" and len(words) == 3 and words[2] in ("down", "stall"):
                name, mode = words[1], words[2]
                if name not in offsets:
                    raise KeyError(name)
                paused[name] = mode
                if mode == "down":
                    set_mounted(name, False)
                    for client in list(clients.get(name, ())):
                        client.close()
            elif words[0] == "resume" and len(words) == 2:
                name = words[1]
                if name not in offsets:
                    raise KeyError(name)
                if paused.pop(name, None) == "down":
                    set_mounted(name, True)
            elif words[0] == "clients" and len(words) == 2:
                print(f"ok {len(clients.get(words[1], ()))}", flush=True)
                return True
            elif words[0] == "stats":
                print(f"ok {pushed[0]}", flush=True)
                return True
            else:
                raise ValueError(line.strip())
        except KeyError as error:
            print(f"error unknown camera {error}", flush=True)
            return True
        except ValueError as error:
            print(f"error bad command {error}", flush=True)
            return True
        print("ok", flush=True)
        return True

    loop = GLib.MainLoop()
    GLib.io_add_watch(
        GLib.IOChannel.unix_new(sys.stdin.fileno()),
        GLib.PRIORITY_DEFAULT,
        GLib.IOCondition.IN | GLib.IOCondition.HUP,
        control,
    )
    GLib.timeout_add(int(1000 / fps), push_frames)
    loop.run()


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--serve":
    serve(sys.argv[2])
