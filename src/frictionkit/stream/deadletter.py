"""The producer side of a processor: its outputs and the deadletter.

A deadletter message is the original message unchanged (same key, same value
bytes, so it can be replayed as it was) with the reason and where it came from
in headers:

    x-frictionkit-reason     one line, what was wrong
    x-frictionkit-processor  which processor gave up on it
    x-frictionkit-source     <topic>/<partition>/<offset>
"""

from __future__ import annotations

from typing import Any

REASON_HEADER = "x-frictionkit-reason"
PROCESSOR_HEADER = "x-frictionkit-processor"
SOURCE_HEADER = "x-frictionkit-source"
MAX_REASON = 1000


class Outputs:
    def __init__(self, producer: Any, deadletter_topic: str, processor: str) -> None:
        self.producer = producer
        self.deadletter_topic = deadletter_topic
        self.processor = processor
        self.failed: list[str] = []  # delivery errors since the last commit step
        self.produced = 0

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed.append(f"{msg.topic()}: {err.str()}")

    def produce(self, topic: str, value: bytes, key: bytes | None = None, headers: list | None = None) -> None:
        while True:
            try:
                self.producer.produce(topic, value, key, headers=headers, on_delivery=self._on_delivery)
                break
            except BufferError:
                # Local queue full: let deliveries drain instead of failing the message.
                self.producer.poll(0.1)
        self.produced += 1

    def deadletter(self, msg: Any, reason: str) -> None:
        headers = [
            (REASON_HEADER, reason[:MAX_REASON].encode()),
            (PROCESSOR_HEADER, self.processor.encode()),
            (SOURCE_HEADER, f"{msg.topic()}/{msg.partition()}/{msg.offset()}".encode()),
        ]
        self.produce(self.deadletter_topic, msg.value() or b"", msg.key(), headers)

    def poll(self) -> None:
        self.producer.poll(0)

    def flush(self, timeout_s: float) -> int:
        """Messages still waiting for the broker's confirmation after the wait."""
        return self.producer.flush(timeout_s)

    def in_flight(self) -> int:
        return len(self.producer)


def header(msg: Any, name: str) -> str | None:
    for key, value in msg.headers() or []:
        if key == name:
            return value.decode() if value is not None else None
    return None
