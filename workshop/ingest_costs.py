"""Where a 100-event batch's time goes in ``frictionkit serve``, measured in
this process on one core (``commands/bench-ingest`` prints and records it).

Each stage runs on the load generator's own batches, best of five rounds, in
ms per batch. The Kafka stage produces to a topic of its own with the sink's
producer settings and splits the CPU three ways: the ``produce`` calls (on
the event loop in serve), serving the delivery reports (serve's poll thread),
and librdkafka's own threads (compression, the broker connection).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Callable

import msgspec

from workshop.load import DEFAULT_KEY, Workload

BATCHES = 20
ROUNDS = 5
IN_FLIGHT = 32  # bench-ingest's connections


def _best(fn: Callable[[int], Any], per_round: int = 200) -> float:
    """ms per call of ``fn(i)``, the best of ``ROUNDS`` rounds."""
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for i in range(per_round):
            fn(i % BATCHES)
        times.append((time.perf_counter() - t0) / per_round * 1000)
    return min(times)


class _EncodeOnlySink:
    """The Kafka sink's work short of the client: the bus encoding."""

    takes_events = False

    async def publish_checked(self, checked: Any) -> None:
        from frictionkit.bus.codec import checked_bus_messages

        checked_bus_messages(checked)


def _handler_cost(bodies: list[bytes]) -> float:
    """The whole ingestion handler (headers, key, limits, body, contract, reply)
    as ASGI without HTTP, with a sink that only encodes for the bus."""
    from frictionkit.api.app import FastIngest
    from frictionkit.api.ratelimit import RateLimiter
    from frictionkit.api.settings import resolve_settings
    from frictionkit.api.state import AppState

    settings = resolve_settings(store_dsn="duckdb:///:memory:", api_keys=DEFAULT_KEY)
    state = AppState(settings=settings, keys=settings.keys, limiter=RateLimiter(0, 0), sink=_EncodeOnlySink(),
                     access=None)  # type: ignore[arg-type]
    endpoint = FastIngest(state)
    answers: list[int] = []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answers.append(message["status"])

    async def one(i: int) -> None:
        body = bodies[i]

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {"type": "http", "method": "POST", "path": "/v1/events/batch",
                 "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                             (b"authorization", b"Bearer " + DEFAULT_KEY.encode()),
                             (b"content-length", str(len(body)).encode())]}
        await endpoint(scope, receive, send)

    async def rounds() -> float:
        times = []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            for i in range(200):
                await one(i % BATCHES)
            times.append((time.perf_counter() - t0) / 200 * 1000)
        return min(times)

    cost = asyncio.run(rounds())
    assert set(answers) == {200}, f"the handler answered {sorted(set(answers))}"
    return cost


def _kafka_costs(brokers: str, batches: list[list[tuple[bytes, bytes]]], rounds: int = 300) -> dict[str, float]:
    """``batches``: each batch's ``(key, value)`` messages, as ``serve`` produces them."""
    from frictionkit.bus import kafka
    from workshop.ingest import _delete_topic

    topic = f"bench.c{uuid.uuid4().hex[:6]}.costs"
    kafka.create_topics(brokers, partitions=3, topics=[topic])
    try:
        producer = kafka.producer(brokers)
        encoded = batches
        delivered = [0]

        def on_delivery(err: Any, _msg: Any) -> None:
            delivered[0] += 1

        # Connected, with a producer id, before the clock starts: in serve that
        # happens once at startup, and over 300 rounds it would look like a
        # per-batch cost of the client's threads.
        producer.produce(topic, b"{}", b"warm-up", -1, on_delivery)
        producer.flush(10)
        delivered[0] = 0

        # Pipelined as in serve, where up to IN_FLIGHT batches (the load's
        # connections) wait for their reports: produce a batch, serve whatever
        # reports are in, go on; wait for the rest at the end. Unbounded, the
        # client's queue would grow to every batch of the run and its memory
        # would cost more than the messages.
        produce_s = serve_s = 0.0
        sent = 0
        cpu0 = time.process_time()
        for n in range(rounds):
            messages = encoded[n % len(encoded)]
            t0 = time.thread_time()
            for key, value in messages:
                producer.produce(topic, value, key, -1, on_delivery)  # as KafkaSink does
            t1 = time.thread_time()
            sent += len(messages)
            producer.poll(0)
            while sent - delivered[0] > IN_FLIGHT * len(messages):
                producer.poll(0.001)
            produce_s += t1 - t0
            serve_s += time.thread_time() - t1
        t1 = time.thread_time()
        expected = sum(len(encoded[n % len(encoded)]) for n in range(rounds))
        deadline = time.monotonic() + 30
        while delivered[0] < expected and time.monotonic() < deadline:
            producer.poll(0.05)
        serve_s += time.thread_time() - t1
        total_s = time.process_time() - cpu0
        if delivered[0] < expected:
            raise RuntimeError(f"only {delivered[0]} of {expected} delivery reports within 30 s")
        producer.flush(10)
    finally:
        _delete_topic(brokers, topic)
    return {"produce": produce_s / rounds * 1000, "delivery reports": serve_s / rounds * 1000,
            "librdkafka threads": max(0.0, total_s - produce_s - serve_s) / rounds * 1000}


def batch_costs(brokers: str | None) -> dict[str, float]:
    """Stage -> ms per 100-event batch."""
    from frictionkit.api.auth import KeyRing, bearer_token, parse_api_keys
    from frictionkit.bus.codec import checked_bus_messages
    from frictionkit.core.batch import check_batch

    workload = Workload(run="costs", templates=BATCHES)
    bodies = [workload.body(n) for n in range(BATCHES)]
    now = int(time.time() * 1000)
    ring = KeyRing(parse_api_keys(DEFAULT_KEY))
    checked = [check_batch(b, received_at_ms=now) for b in bodies]
    costs = {
        "reference: generic decode (`msgspec.json.decode`)": _best(lambda i: msgspec.json.decode(bodies[i])),
        "key check (SHA-256, constant-time compare)": _best(
            lambda i: ring.authenticate(bearer_token(f"Bearer {DEFAULT_KEY}"))),
        "contract: `check_batch` (typed decode, every §3 check)": _best(
            lambda i: check_batch(bodies[i], received_at_ms=now)),
        **_native_costs(bodies, now),
        "bus encoding: `checked_bus_messages` (one batch message per key, the agents' JSON copied)": _best(
            lambda i: checked_bus_messages(checked[i])),
        "whole handler without HTTP and Kafka (native check, bus encoding and the glue)": _handler_cost(bodies),
    }
    if brokers:
        messages = [checked_bus_messages(c) for c in checked]
        for stage, ms in _kafka_costs(brokers, messages).items():
            costs[f"Kafka: {stage}"] = ms
    return {stage: round(ms, 3) for stage, ms in costs.items()}


def _native_costs(bodies: list[bytes], now: int) -> dict[str, float]:
    """The native contract check (what serve on Kafka runs), alone and with
    the bus encoding of its result; nothing where the extension is not built."""
    from frictionkit import native
    from frictionkit.bus.codec import checked_bus_messages

    if not native.available():
        return {}
    return {
        "contract, native: `native.check_batch` (the same checks, in Rust; serve on Kafka uses it)": _best(
            lambda i: native.check_batch(bodies[i], received_at_ms=now)),
        "contract, native, + bus encoding of its result": _best(
            lambda i: checked_bus_messages(native.check_batch(bodies[i], received_at_ms=now))),
    }


def costs_table(costs: dict[str, float]) -> str:
    return "\n".join(["| stage, per 100-event batch | ms |", "|---|---:|"]
                     + [f"| {stage} | {ms:.3f} |" for stage, ms in costs.items()])
