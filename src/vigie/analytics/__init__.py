"""Video analytics for the legal event types of décret 2023-828, and nothing else.

Pure analysis: frames in (`Frame`, from a `VideoSource` or NumPy arrays), typed `Event`s out. One
`Analyzer` per camera holds that camera's state; detectors are small modules with one job each
(`motion`, `enhance`, `abandoned`, `crowd`, `zones`, `fall`, `fire`, `tamper`, `people`,
`tracking`). Nothing here touches a database, a bus or the web, and nothing identifies anyone.
"""

from vigie.analytics.events import LEGAL_BASIS, NOT_PROVIDED, Box, Event, EventType
from vigie.analytics.frames import Frame, FrameGeometry, FrameSizeError
from vigie.analytics.pipeline import (
    DEFAULT_DETECTORS,
    AnalysisReport,
    Analyzer,
    AnalyzerConfig,
    FrameResult,
    analyse_video,
    parse_detectors,
    run_analyzer,
)
from vigie.analytics.source import VideoSource, VideoSourceError
from vigie.analytics.zones import CameraSetup, Zone, ZoneError, ZoneKind, load_setup, parse_setup

__all__ = [
    "DEFAULT_DETECTORS",
    "LEGAL_BASIS",
    "NOT_PROVIDED",
    "AnalysisReport",
    "Analyzer",
    "AnalyzerConfig",
    "Box",
    "CameraSetup",
    "Event",
    "EventType",
    "Frame",
    "FrameGeometry",
    "FrameResult",
    "FrameSizeError",
    "VideoSource",
    "VideoSourceError",
    "Zone",
    "ZoneError",
    "ZoneKind",
    "analyse_video",
    "load_setup",
    "parse_detectors",
    "parse_setup",
    "run_analyzer",
]
