"""Lawful by construction (décret 2023-828; LAW.md F.34-35).

* the event types are exactly the law's list (minus weapons, deliberately not provided) plus two
  camera-health signals, and nothing else can be emitted;
* no module of vigie.analytics uses face or biometric models, or produces embeddings or
  re-identification features. The check reads the code (imports, names, attributes, string
  literals), not the documentation that explains why these are absent.
"""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import vigie.analytics
from vigie.analytics import NOT_PROVIDED, Event, EventType, parse_detectors
from vigie.analytics.events import LEGAL_BASIS

LEGAL = {
    "abandoned_object",
    "crowd_movement",
    "crowd_density",
    "zone_intrusion",
    "wrong_way",
    "person_down",
    "fire",
    "camera_tamper",
    "motion",
}
FORBIDDEN_MODULES = {
    "face_recognition",
    "dlib",
    "insightface",
    "deepface",
    "facenet_pytorch",
    "mediapipe",
    "retinaface",
    "torchreid",
    "fastreid",
}
# Fragments that have no business in the code of lawful analytics (checked case-insensitively).
FORBIDDEN_FRAGMENTS = (
    "cascadeclassifier",
    "haarcascade",
    "lbpcascade",
    "facedetector",
    "facerecognizer",
    "face",
    "embedding",
    "biometric",
    "reidentif",
    "re_id",
    "reid",
    "identity",
)


def test_event_types_are_exactly_the_legal_set() -> None:
    assert {event.value for event in EventType} == LEGAL
    assert set(LEGAL_BASIS) == set(EventType)


def test_weapon_is_documented_as_not_provided() -> None:
    assert "weapon" in NOT_PROVIDED
    assert "weapon" not in {event.value for event in EventType}
    with pytest.raises(ValueError, match="not provided"):
        parse_detectors("weapon")


def test_an_event_of_any_other_type_cannot_be_built() -> None:
    with pytest.raises(ValueError):
        Event(id=1, type="face_match", start=0.0, end=None, box=None, score=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Event(id=1, type="weapon", start=0.0, end=None, box=None, score=0.5)  # type: ignore[arg-type]
    event = Event(id=1, type="fire", start=1.0, end=None, box=None, score=0.5)  # type: ignore[arg-type]
    assert event.type is EventType.FIRE


def test_event_enum_is_closed() -> None:
    with pytest.raises(TypeError):

        class MoreEvents(EventType):  # type: ignore[misc]  # an enum with members cannot be extended
            FACE = "face"


def _modules() -> list[Path]:
    package = Path(vigie.analytics.__file__).parent
    names = [info.name for info in pkgutil.iter_modules([str(package)])]
    assert {"events", "pipeline", "motion", "abandoned", "crowd", "zones", "fall", "fire", "tamper"} <= set(names)
    return sorted(package.glob("*.py"))


def _code_tokens(tree: ast.Module) -> list[str]:
    """Identifiers, attributes, imported names and non-docstring string literals."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    tokens: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            tokens.append(node.id)
        elif isinstance(node, ast.Attribute):
            tokens.append(node.attr)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            tokens.append(node.name)
        elif isinstance(node, ast.arg):
            tokens.append(node.arg)
        elif isinstance(node, ast.Import):
            tokens.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            tokens.append(node.module or "")
            tokens.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            tokens.append(node.value)
    return tokens


@pytest.mark.parametrize("path", _modules(), ids=lambda path: path.name)
def test_no_biometric_model_or_output_in_the_code(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {alias.name.split(".")[0] for alias in node.names} & FORBIDDEN_MODULES
        if isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in FORBIDDEN_MODULES
    for token in _code_tokens(tree):
        lowered = token.lower()
        for fragment in FORBIDDEN_FRAGMENTS:
            assert fragment not in lowered, f"{path.name}: {token!r} contains {fragment!r}"


def test_the_check_would_catch_a_face_cascade() -> None:
    bad = ast.parse('import cv2\nfinder = cv2.CascadeClassifier("haarcascade_frontalface_default.xml")\n')
    tokens = [token.lower() for token in _code_tokens(bad)]
    assert any("cascadeclassifier" in token for token in tokens)
    assert any("haarcascade" in token for token in tokens)
