"""Fixed cameras: registry, continuous recording into the vault, gaps, health, and the live relay.

Services other layers use (``vigie serve``, the web API) are re-exported here::

    recorder = Recorder(settings, catalog, vault, hub=LiveHub(settings.recorder), on_health_change=...)
    recorder.start(); ...; recorder.stop()
    with hub.subscribe("cam0") as feed: feed.init, then fragments (for / async for)
    camera_timeline(catalog, "cam0", start, end).as_json()
"""

from vigie.ingest.cameras.failures import GapCause
from vigie.ingest.cameras.health import CameraState, HealthChange, HealthSnapshot
from vigie.ingest.cameras.live import LiveFragment, LiveHub, LiveUnavailable, Subscription
from vigie.ingest.cameras.recorder import Recorder
from vigie.ingest.cameras.registry import CameraError, CameraRecord, CameraRegistry, CameraSpec, UnknownCamera
from vigie.ingest.cameras.timeline import Timeline, camera_timeline

__all__ = [
    "CameraError",
    "CameraRecord",
    "CameraRegistry",
    "CameraSpec",
    "CameraState",
    "GapCause",
    "HealthChange",
    "HealthSnapshot",
    "LiveFragment",
    "LiveHub",
    "LiveUnavailable",
    "Recorder",
    "Subscription",
    "Timeline",
    "UnknownCamera",
    "camera_timeline",
]
