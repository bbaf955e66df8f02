"""The incident detector: ``events.sessionized`` -> ``events.incidents``.

Stateless per message: each closed session (late events, the other kind of
message there, are skipped) goes through the core's task-run
and incident rules (the same functions ``process_session`` uses), and every
incident is produced with its deterministic id, keyed by its session. A
session delivered twice gives the same incidents twice, with the same ids.
"""

from __future__ import annotations

from typing import Any

from ..core.incidents import detect_incidents
from ..core.tasks import find_task_runs
from .codec import LateEvents, decode_sessionized, encode_incident, incident_key
from .deadletter import Outputs
from .settings import StreamSettings

TP = tuple[str, int]


class IncidentDetectorProcessor:
    name = "incident-detector"

    def __init__(self, settings: StreamSettings) -> None:
        self.s = settings
        self.config = settings.core.incidents
        self.stats = {"sessions": 0, "incidents": 0}

    def topics(self) -> list[str]:
        return [self.s.topics.sessionized]

    def assigned(self, tps: list[TP], metadata: dict[TP, str | None]) -> None:
        pass

    def revoked(self, tps: list[TP]) -> None:
        pass

    def handle(self, msg: Any, out: Outputs, now_ms: int) -> None:
        session = decode_sessionized(msg.value() or b"")
        if isinstance(session, LateEvents):
            return  # they change no session, so no incident
        runs = find_task_runs(session.events, self.config.abandon_after_ms)
        incidents = detect_incidents(session, runs, self.config)
        for inc in incidents:
            out.produce(self.s.topics.incidents, encode_incident(inc), incident_key(inc))
        self.stats["sessions"] += 1
        self.stats["incidents"] += len(incidents)

    def eof(self, tp: TP, now_ms: int) -> None:
        pass

    def tick(self, out: Outputs, now_ms: int) -> None:
        pass

    def flush_sinks(self, final: bool = True) -> bool:
        return False  # the producer is the only sink, flushed by the runtime

    def write_done(self) -> bool:
        return True

    def offsets(self, positions: dict[TP, int]) -> dict[TP, tuple[int, str | None]]:
        return {tp: (pos, None) for tp, pos in positions.items()}

    def pending(self) -> int:
        return 0
