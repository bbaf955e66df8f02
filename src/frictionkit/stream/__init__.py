"""The distributed shape's stream processors (docs/stream.md) on Kafka consumer groups.

``run(service, settings)`` runs one processor, or both in one process
(one thread and one consumer each), until SIGTERM/SIGINT or ``stop`` is set.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Callable

from .settings import PROCESSORS, StreamSettings, Topics

log = logging.getLogger("frictionkit.stream")


def build_processor(name: str, settings: StreamSettings, store_factory: Callable | None = None):
    if name == "sessionizer":
        from .sessionizer import SessionizerProcessor

        return SessionizerProcessor(settings)
    if name == "incident-detector":
        # Folded into the aggregator (docs/architecture.md, "Incidents").
        raise ValueError("the incident detector is part of metrics-aggregator now (it produces events.incidents); "
                         "run metrics-aggregator or all")
    if name == "metrics-aggregator":
        from .aggregator import MetricsAggregatorProcessor

        return MetricsAggregatorProcessor(settings, store_factory)
    raise ValueError(f"unknown processor {name!r}; choose one of {', '.join(PROCESSORS)} or all")


def run(service: str, settings: StreamSettings, stop: threading.Event | None = None,
        store_factory: Callable | None = None, install_signals: bool = True,
        clock: Callable[[], int] | None = None) -> dict[str, dict]:
    """Run until stopped; returns each processor's counters. ``clock`` is the
    wall clock in ms the processors are given (default: the real one)."""
    from .runtime import Runner, wall_ms

    names = list(PROCESSORS) if service == "all" else [service]
    stop = stop or threading.Event()
    processors = [build_processor(n, settings, store_factory) for n in names]
    runners = [Runner(p, settings, stop, clock or wall_ms) for p in processors]
    if install_signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=r.run, name=r.processor.name, daemon=True) for r in runners]
    for t in threads:
        t.start()
    log.info("running %s on %s", ", ".join(names), settings.brokers)
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)
            if stop.is_set():
                for t in threads:
                    t.join()
    finally:
        stop.set()
        for processor in processors:
            processor.close()
    return {r.processor.name: {**r.stats, **r.processor.stats} for r in runners}


__all__ = ["PROCESSORS", "StreamSettings", "Topics", "build_processor", "run"]
