"""Event buses: in-process, NATS JetStream and the MQTT bridge carry the same messages."""

from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest

from vigie.events.bus import InProcessBus, MqttBridge, NatsBus, subject_matches


def reachable(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("vigie.events.*", "vigie.events.cam1", True),
        ("vigie.events.*", "vigie.events.cam1.review", False),
        ("vigie.events.>", "vigie.events.cam1.review", True),
        ("vigie.events.cam1", "vigie.events.cam2", False),
        ("vigie.>", "vigie", False),
    ],
)
def test_subject_patterns(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected


def test_in_process_bus_delivers_and_never_blocks() -> None:
    bus = InProcessBus()
    everything = bus.subscribe("vigie.>")
    cam1 = bus.subscribe("vigie.events.cam1")
    bus.publish("vigie.events.cam1", {"n": 1})
    bus.publish("vigie.events.cam2", {"n": 2})
    assert everything.get(1) == ("vigie.events.cam1", {"n": 1})
    assert everything.get(1) == ("vigie.events.cam2", {"n": 2})
    assert cam1.get(1) == ("vigie.events.cam1", {"n": 1})
    assert cam1.get(0.05) is None
    for index in range(5000):  # a subscriber that never reads loses its oldest messages, the publisher goes on
        bus.publish("vigie.events.cam1", {"n": index})
    assert cam1.dropped > 0
    cam1.close()
    bus.publish("vigie.events.cam1", {"n": -1})
    bus.close()


@pytest.mark.scaleout
@pytest.mark.skipif(not reachable(4222), reason="no NATS server on 127.0.0.1:4222")
def test_nats_carries_events_between_processes() -> None:
    stream = "VIGIETEST" + uuid.uuid4().hex[:8].upper()
    subject = f"vigietest.{uuid.uuid4().hex[:8]}.events.cam1"
    publisher = NatsBus("nats://127.0.0.1:4222", stream=stream, subjects=(subject,))
    listener = NatsBus("nats://127.0.0.1:4222", stream=stream, subjects=(subject,))
    try:
        subscription = listener.subscribe(subject)
        publisher.publish(subject, {"type": "fire", "score": 0.9})
        assert subscription.get(5) == (subject, {"type": "fire", "score": 0.9})
    finally:
        publisher._loop.run(publisher._js.delete_stream(stream))
        publisher.close()
        listener.close()


@pytest.mark.scaleout
@pytest.mark.skipif(not reachable(1883), reason="no MQTT broker on 127.0.0.1:1883")
def test_mqtt_bridge_publishes_for_integrations() -> None:
    import paho.mqtt.client as mqtt

    token = uuid.uuid4().hex[:8]
    received: list[tuple[str, dict[str, object]]] = []
    arrived = threading.Event()

    def on_message(_client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        received.append((message.topic, json.loads(message.payload)))
        arrived.set()

    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{token}")
    client.on_message = on_message
    client.on_subscribe = lambda *_args: subscribed.set()
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    client.subscribe(f"vigie/{token}/#", qos=1)
    assert subscribed.wait(5)
    bridge = MqttBridge("mqtt://127.0.0.1:1883", client_id=f"vigie-{token}")
    try:
        bridge.publish(f"vigie.{token}.cam1", {"type": "crowd_density"})
        assert arrived.wait(5)
        assert received == [(f"vigie/{token}/cam1", {"type": "crowd_density"})]
    finally:
        bridge.close()
        client.loop_stop()
        client.disconnect()
