"""Prometheus metrics in the text exposition format (0.0.4), written by hand: no dependency.

No personal data in any metric: labels are route templates (``/api/recordings/{recording_id}``,
never a concrete path), methods, status codes, kinds and roles — never a username, an address,
a reason or an object id. The maintainer reads these; they must stay that bland.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Labels = tuple[tuple[str, str], ...]
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: Labels = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in items) + "}"


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Metrics:
    """Process-local counters and a request-duration histogram; gauges are read at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._help: dict[str, str] = {}
        self._histogram_counts: dict[Labels, list[int]] = {}
        self._histogram_sums: dict[Labels, float] = defaultdict(float)

    def count(self, name: str, help_text: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help.setdefault(name, help_text)
            self._counters[name][key] += amount

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.count(
            "vigie_http_requests_total", "HTTP requests served, by route template.", method=method, route=route,
            status=str(status),
        )
        key: Labels = (("method", method), ("route", route))
        with self._lock:
            buckets = self._histogram_counts.setdefault(key, [0] * (len(DURATION_BUCKETS) + 1))
            for index, bound in enumerate(DURATION_BUCKETS):
                if seconds <= bound:
                    buckets[index] += 1
            buckets[-1] += 1
            self._histogram_sums[key] += seconds

    def render(self, gauges: list[tuple[str, str, Labels, float]]) -> str:
        """The exposition text: counters, the histogram, then the scrape-time gauges."""
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._counters):
                lines.append(f"# HELP {name} {self._help[name]}")
                lines.append(f"# TYPE {name} counter")
                for labels, value in sorted(self._counters[name].items()):
                    lines.append(f"{name}{_labels(labels)} {_number(value)}")
            if self._histogram_counts:
                name = "vigie_http_request_duration_seconds"
                lines.append(f"# HELP {name} Time to produce the response head, by route template.")
                lines.append(f"# TYPE {name} histogram")
                for labels, buckets in sorted(self._histogram_counts.items()):
                    for bound, count in zip((*DURATION_BUCKETS, float("inf")), buckets, strict=True):
                        lines.append(f"{name}_bucket{_labels(labels, (('le', _number(bound)),))} {count}")
                    lines.append(f"{name}_sum{_labels(labels)} {_number(self._histogram_sums[labels])}")
                    lines.append(f"{name}_count{_labels(labels)} {buckets[-1]}")
        seen: set[str] = set()
        for name, help_text, labels, value in gauges:
            if name not in seen:
                lines.append(f"# HELP {name} {help_text}")
                lines.append(f"# TYPE {name} gauge")
                seen.add(name)
            lines.append(f"{name}{_labels(labels)} {_number(value)}")
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Counts every response by route template (pure ASGI, so streamed footage is not buffered)."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                self._observe(scope, status, started)
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        except Exception:
            self._observe(scope, 500, started)
            raise

    def _observe(self, scope: MutableMapping[str, Any], status: int, started: float) -> None:
        metrics = self.metrics()
        if metrics is None:
            return
        route = scope.get("route")
        template = getattr(route, "path", None) or getattr(route, "path_format", None) or "(unmatched)"
        if template.startswith("/static"):
            template = "/static"
        metrics.observe_request(scope.get("method", "GET"), template, status, time.perf_counter() - started)

