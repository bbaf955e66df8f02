"""ReadDeadlines (api/deadlines.py): the body-read deadline of serve, swept by one task."""

from __future__ import annotations

import asyncio

import pytest

from frictionkit.api.deadlines import ReadDeadlines


async def _slow(value: str, delay_s: float) -> str:
    await asyncio.sleep(delay_s)
    return value


def test_a_read_in_time_returns_its_value_and_a_late_one_times_out():
    async def main():
        deadlines = ReadDeadlines(sweep_interval_s=0.02)
        fast = asyncio.create_task(deadlines.within(1.0, _slow("fast", 0.01)))
        late = asyncio.create_task(deadlines.within(0.05, _slow("late", 5.0)))
        started = asyncio.get_running_loop().time()
        assert await fast == "fast"
        with pytest.raises(TimeoutError):
            await late
        elapsed = asyncio.get_running_loop().time() - started
        assert 0.05 <= elapsed < 1.0  # fired after its deadline, within a few sweeps
        return deadlines

    deadlines = asyncio.run(main())
    assert not deadlines._due and not deadlines._late  # nothing left behind


def test_a_real_cancellation_is_not_mistaken_for_a_timeout():
    async def main():
        deadlines = ReadDeadlines(sweep_interval_s=0.02)
        task = asyncio.create_task(deadlines.within(10.0, _slow("x", 5.0)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_a_cancellation_racing_the_deadline_still_cancels():
    """A task both late and cancelled by someone else (a shutdown) must stay
    cancelled: the deadline's own cancellation is taken back, not the other."""
    async def main():
        loop = asyncio.get_running_loop()
        deadlines = ReadDeadlines(sweep_interval_s=60)  # swept by hand below
        task = asyncio.create_task(deadlines.within(0.01, _slow("x", 5.0)))
        await asyncio.sleep(0)  # the task is now waiting on its read
        deadlines._cancel_late(loop.time() + 1)  # late: the sweep cancels it ...
        assert task in deadlines._late
        task.cancel()  # ... and a shutdown does too, before the task runs again
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task not in deadlines._late

    asyncio.run(main())


def test_the_sweeper_stops_when_nothing_is_read_and_comes_back():
    async def main():
        deadlines = ReadDeadlines(sweep_interval_s=0.01)
        assert await deadlines.within(1.0, _slow("a", 0.001)) == "a"
        await asyncio.sleep(0.05)
        assert deadlines._sweeper is not None and deadlines._sweeper.done()
        with pytest.raises(TimeoutError):
            await deadlines.within(0.02, _slow("b", 5.0))

    asyncio.run(main())
