"""Deadlines for reading request bodies, swept by one task.

``asyncio.timeout`` per request arms a timer on the event loop's heap and
cancels it again: about 3 % of ``serve``'s time per 100-event batch, for a
deadline that almost never fires. Here a request registers its task and its
deadline in a dict; a sweeper, running only while some body is being read,
wakes every ``SWEEP_INTERVAL_S`` and cancels the tasks that are late. The
cancellation is turned into ``TimeoutError`` exactly as ``asyncio.timeout``
does it (``Task.uncancel``), so a real cancellation (a shutdown) still
propagates. A deadline fires up to one interval late.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, TypeVar

T = TypeVar("T")
SWEEP_INTERVAL_S = 0.25


class ReadDeadlines:
    def __init__(self, sweep_interval_s: float = SWEEP_INTERVAL_S) -> None:
        self.sweep_interval_s = sweep_interval_s
        self._due: dict[asyncio.Task, float] = {}
        self._late: set[asyncio.Task] = set()
        self._sweeper: asyncio.Task | None = None

    async def within(self, timeout_s: float, awaitable: Awaitable[T]) -> T:
        """``await awaitable``, or ``TimeoutError`` once ``timeout_s`` has passed."""
        task = asyncio.current_task()
        assert task is not None
        loop = task.get_loop()
        self._due[task] = loop.time() + timeout_s
        sweeper = self._sweeper
        if sweeper is None or sweeper.done() or sweeper.get_loop() is not loop:
            self._sweeper = loop.create_task(self._sweep())
        try:
            return await awaitable
        except asyncio.CancelledError:
            if task in self._late:
                self._late.discard(task)
                if task.uncancel() == 0:
                    raise TimeoutError from None
            raise
        finally:
            self._due.pop(task, None)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self._due:
            await asyncio.sleep(self.sweep_interval_s)
            self._cancel_late(loop.time())

    def _cancel_late(self, now: float) -> None:
        late = [task for task, due in self._due.items() if due <= now]
        for task in late:
            del self._due[task]
            self._late.add(task)
            task.cancel()
