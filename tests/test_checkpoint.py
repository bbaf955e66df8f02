"""The stream runtime's checkpoint (stream.checkpoint): its commit runs in the
numbered steps flush sinks -> flush producer -> commit offsets; a refusing sink
aborts it (nothing committed, the next one after the sink's backoff); a sink
writing behind makes the offsets committed those of the previous step."""

from __future__ import annotations

from frictionkit.pipeline.storesink import SinkUnavailable
from frictionkit.stream import StreamSettings
from frictionkit.stream.checkpoint import Checkpoint

TP = ("events.sessionized", 0)


class _Sink:
    def __init__(self, log: list, behind: bool = False) -> None:
        self.log, self.behind, self.refuse, self.writing, self.count = log, behind, False, False, 0

    def assign(self, tps) -> None:
        pass

    def revoke(self, tps) -> None:
        pass

    def flush(self, final: bool = True) -> bool:
        self.log.append(("flush sinks", final))
        if self.refuse:
            raise SinkUnavailable("refused", retry_after_s=30.0)
        self.writing = self.behind and not final
        return self.writing

    def held(self) -> int:
        return self.count

    @property
    def idle(self) -> bool:
        return not self.writing


def _checkpoint(sink: _Sink, log: list, **settings) -> Checkpoint:
    checkpoint = Checkpoint(StreamSettings(**settings), [sink], lambda deadline: log.append(("flush producer",)),
                            lambda positions: log.append(("commit offsets", dict(positions))))
    checkpoint.assign([TP])
    return checkpoint


def test_the_commit_flushes_sinks_then_the_producer_then_commits_the_offsets() -> None:
    log: list = []
    checkpoint = _checkpoint(_Sink(log), log)
    for offset in range(5):
        checkpoint.store_offset(TP, offset)
    assert checkpoint.commit()
    assert log == [("flush sinks", False), ("flush producer",), ("commit offsets", {TP: 5})]


def test_a_refusing_sink_aborts_the_commit_and_blocks_it_for_its_backoff() -> None:
    log: list = []
    sink = _Sink(log)
    checkpoint = _checkpoint(sink, log)
    checkpoint.store_offset(TP, 0)
    sink.refuse = True
    assert not checkpoint.commit()
    assert log == [("flush sinks", False)]  # neither the producer nor the offsets
    assert not checkpoint.due()  # not before the sink's 30 s backoff
    sink.refuse = False
    log.clear()
    assert checkpoint.commit()
    # The retry waits for its write: the outage ends when a write succeeds.
    assert log == [("flush sinks", True), ("flush producer",), ("commit offsets", {TP: 1})]


def test_a_sink_writing_behind_commits_the_offsets_of_the_step_before() -> None:
    log: list = []
    sink = _Sink(log, behind=True)
    checkpoint = _checkpoint(sink, log)
    checkpoint.store_offset(TP, 0)
    assert checkpoint.commit()
    assert ("commit offsets", {TP: 1}) not in log  # its batch is still being written
    checkpoint.store_offset(TP, 1)
    checkpoint.store_offset(TP, 2)
    log.clear()
    assert checkpoint.commit()
    assert log == [("flush sinks", False), ("flush producer",), ("commit offsets", {TP: 1})]
    log.clear()
    assert checkpoint.commit(final=True)  # a stop waits for every write: everything is committed
    assert log == [("flush sinks", True), ("flush producer",), ("commit offsets", {TP: 3})]


def test_a_commit_is_due_by_messages_when_caught_up_and_at_the_memory_bound() -> None:
    log: list = []
    sink = _Sink(log)
    checkpoint = _checkpoint(sink, log, commit_every_messages=3, commit_interval_ms=3_600_000,
                             max_pending_messages=10)
    checkpoint.polled()
    checkpoint.store_offset(TP, 0)
    assert not checkpoint.due()
    checkpoint.store_offset(TP, 1)
    checkpoint.store_offset(TP, 2)
    assert checkpoint.due()  # three messages
    checkpoint.commit()
    checkpoint.polled()
    checkpoint.store_offset(TP, 3)
    assert not checkpoint.due()
    checkpoint.polled()  # a poll that brings nothing new: caught up
    assert checkpoint.due()
    checkpoint.commit()
    checkpoint.polled()
    assert not checkpoint.due()
    sink.count = 10
    assert checkpoint.due()  # the sinks hold the memory bound
