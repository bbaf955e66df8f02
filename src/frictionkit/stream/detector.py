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
from .processor import Processor
from .settings import StreamSettings


class IncidentDetectorProcessor(Processor):
    name = "incident-detector"

    def __init__(self, settings: StreamSettings) -> None:
        super().__init__(settings)
        self.config = settings.core.incidents
        self.stats = {"sessions": 0, "incidents": 0}

    def topics(self) -> list[str]:
        return [self.settings.topics.sessionized]

    def handle(self, msg: Any, out: Outputs, now_ms: int) -> None:
        session = decode_sessionized(msg.value() or b"")
        if isinstance(session, LateEvents):
            return  # they change no session, so no incident
        runs = find_task_runs(session.events, self.config.abandon_after_ms)
        incidents = detect_incidents(session, runs, self.config)
        for inc in incidents:
            out.produce(self.settings.topics.incidents, encode_incident(inc), incident_key(inc))
        self.stats["sessions"] += 1
        self.stats["incidents"] += len(incidents)
