"""Store transactions on a thread of their own, one at a time, in order.

The store's native work (DuckDB's insert and commit) releases the GIL, so it
overlaps the interpreter's work on what comes next. The store sink
(pipeline.storesink) writes this way when asked: replay each chunk, the
stream aggregator each commit step's batch.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable


class WriteBehind:
    """Store transactions run one at a time, in order, on a thread of their
    own, while the caller computes the next chunk: the store's native work
    (DuckDB's insert and commit, a third of a replay) overlaps the
    interpreter's. The first failure is raised to the caller at its next
    call, and every later transaction is skipped: nothing is written out of
    order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="frictionkit-store-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    job()
            except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
                self._error = err
            finally:
                self._queue.task_done()

    def submit(self, job: Callable[[], None]) -> None:
        # Handed over once the previous write is done: the caller then builds
        # the next chunk while this one is written, and no chunk waits in
        # between (memory holds two chunks, not three).
        self._queue.join()
        self._raise_failure()
        self._queue.put(job)

    def drain(self) -> None:
        self._queue.join()
        self._raise_failure()

    def close(self, raise_failure: bool = True) -> None:
        self._queue.put(None)
        self._thread.join()
        if raise_failure:
            self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    @property
    def idle(self) -> bool:
        """Nothing handed over is still being written."""
        return self._queue.unfinished_tasks == 0

    def clear_failure(self) -> None:
        """Take jobs again after a failure the caller has dealt with (by
        handing over again what the failed job held)."""
        self._queue.join()
        self._error = None
