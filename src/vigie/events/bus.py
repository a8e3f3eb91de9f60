"""The event bus: in-process by default, NATS JetStream at scale, with an MQTT bridge for integrations.

Subjects follow NATS conventions (dot-separated tokens, ``*`` one token, ``>`` the rest):
``vigie.events.<camera>`` for analytic events, ``vigie.health.<camera>`` for camera health.
Publishing never blocks the caller on a slow subscriber: a full subscription drops its oldest item.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from vigie.config import EventsSettings

Payload = dict[str, Any]


def subject_matches(pattern: str, subject: str) -> bool:
    wanted, actual = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(actual) > index
        if index >= len(actual) or (token != "*" and token != actual[index]):
            return False
    return len(wanted) == len(actual)


class Subscription:
    """A bounded, thread-safe mailbox of (subject, payload)."""

    def __init__(self, pattern: str, capacity: int = 1000) -> None:
        self.pattern = pattern
        self._queue: queue.Queue[tuple[str, Payload] | None] = queue.Queue(maxsize=capacity)
        self.dropped = 0
        self.closed = False
        self.on_close: list[Any] = []

    def deliver(self, subject: str, payload: Payload) -> None:
        while True:
            try:
                self._queue.put_nowait((subject, payload))
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def get(self, timeout: float | None = None) -> tuple[str, Payload] | None:
        """Next message, or None on timeout or close."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def __iter__(self) -> Iterator[tuple[str, Payload]]:
        while not self.closed:
            item = self.get(timeout=0.5)
            if item is not None:
                yield item

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for callback in self.on_close:
                callback(self)
            self.deliver("", {})  # wake a blocked reader


class EventBus(Protocol):
    def publish(self, subject: str, payload: Payload) -> None: ...
    def subscribe(self, pattern: str) -> Subscription: ...
    def close(self) -> None: ...


class InProcessBus:
    """One process, no broker: the embedded default."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._lock = threading.Lock()

    def publish(self, subject: str, payload: Payload) -> None:
        with self._lock:
            targets = [s for s in self._subscriptions if subject_matches(s.pattern, subject)]
        for subscription in targets:
            subscription.deliver(subject, payload)

    def subscribe(self, pattern: str) -> Subscription:
        subscription = Subscription(pattern)
        subscription.on_close.append(self._forget)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def _forget(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def close(self) -> None:
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.close()


class _LoopThread:
    """An asyncio loop on a daemon thread, so synchronous code can drive asyncio clients."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class NatsBus:
    """NATS with a JetStream stream over ``vigie.>``: events survive a subscriber's absence."""

    def __init__(self, url: str, *, stream: str = "VIGIE", subjects: tuple[str, ...] = ("vigie.>",)) -> None:
        import nats  # only where NATS is configured

        self._loop = _LoopThread("vigie-nats")
        self._nc: Any = self._loop.run(nats.connect(url, name="vigie", max_reconnect_attempts=-1))
        self._js: Any = self._nc.jetstream()
        self.stream = stream
        self._loop.run(self._ensure_stream(subjects))

    async def _ensure_stream(self, subjects: tuple[str, ...]) -> None:
        from nats.js.errors import NotFoundError

        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(name=self.stream, subjects=list(subjects), max_age=31 * 24 * 3600)

    def publish(self, subject: str, payload: Payload) -> None:
        data = json.dumps(payload, default=str).encode()
        self._loop.run(self._js.publish(subject, data))

    def subscribe(self, pattern: str) -> Subscription:
        subscription = Subscription(pattern)

        async def handler(message: Any) -> None:
            subscription.deliver(message.subject, json.loads(message.data))

        nats_subscription = self._loop.run(self._nc.subscribe(pattern, cb=handler))
        subscription.on_close.append(lambda _s: self._loop.run(nats_subscription.unsubscribe()))
        return subscription

    def close(self) -> None:
        try:
            self._loop.run(self._nc.drain())
        finally:
            self._loop.stop()


class MqttBridge:
    """Publishes bus messages to MQTT for integrations (``vigie.events.cam1`` → ``vigie/events/cam1``)."""

    def __init__(self, url: str, *, client_id: str = "vigie") -> None:
        from urllib.parse import urlparse

        from paho.mqtt.client import Client
        from paho.mqtt.enums import CallbackAPIVersion

        parsed = urlparse(url)
        self._client: Any = Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if parsed.username:
            self._client.username_pw_set(parsed.username, parsed.password)
        self._client.connect(parsed.hostname or "127.0.0.1", parsed.port or 1883)
        self._client.loop_start()

    def publish(self, subject: str, payload: Payload) -> None:
        info = self._client.publish(subject.replace(".", "/"), json.dumps(payload, default=str), qos=1)
        info.wait_for_publish(timeout=5)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


class FanoutBus:
    """A primary bus, plus bridges that receive a copy of every message."""

    def __init__(self, primary: EventBus, bridges: list[MqttBridge]) -> None:
        self.primary = primary
        self.bridges = bridges

    def publish(self, subject: str, payload: Payload) -> None:
        self.primary.publish(subject, payload)
        for bridge in self.bridges:
            bridge.publish(subject, payload)

    def subscribe(self, pattern: str) -> Subscription:
        return self.primary.subscribe(pattern)

    def close(self) -> None:
        for bridge in self.bridges:
            bridge.close()
        self.primary.close()


def open_bus(settings: EventsSettings) -> EventBus:
    primary: EventBus = (
        NatsBus(settings.nats_url, stream=settings.nats_stream) if settings.bus == "nats" else InProcessBus()
    )
    if settings.mqtt_url:
        return FanoutBus(primary, [MqttBridge(settings.mqtt_url)])
    return primary
