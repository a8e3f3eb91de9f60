"""What every end-to-end test shares: a real uvicorn on a free loopback port, and Debian's chromium.

Chromium runs headless with the flags that work on a closed network; no browser is ever downloaded.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(app: Any, *, start_timeout: float = 20, stop_timeout: float = 30) -> Iterator[str]:
    """The application under a real uvicorn in a background thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=5
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=stop_timeout)


@contextmanager
def chromium_page(*, height: int = 900, timezone: str | None = None, extra_args: tuple[str, ...] = ()) -> Iterator[Any]:
    """A fresh headless chromium page (French locale), closed afterwards; skips without chromium."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        options: dict[str, Any] = {"viewport": {"width": 1440, "height": height}, "locale": "fr-FR"}
        if timezone:
            options["timezone_id"] = timezone
        context = browser.new_context(**options)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
