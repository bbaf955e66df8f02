"""uvicorn's h11 protocol with a deadline on the request head.

uvicorn times out a connection only between requests (its keep-alive timer),
and any byte received cancels that timer: a client that opens a connection
and sends nothing, or sends its headers a byte at a time, holds a connection
and its buffers for as long as it likes (slowloris). Here the request line
and headers must be complete within ``head_timeout_s`` of the connection
opening or of the first byte of the next request on it; otherwise the
connection is closed. Nothing reached the application, so nothing was
acknowledged. The body has its own deadline (``Settings.body_timeout_s``, 408).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def head_timeout_protocol(head_timeout_s: float) -> type[H11Protocol]:
    """The protocol class to give ``uvicorn.run(http=...)``."""

    class HeadTimeoutH11Protocol(_HeadTimeoutH11Protocol):
        pass

    HeadTimeoutH11Protocol.head_timeout_s = head_timeout_s
    return HeadTimeoutH11Protocol


class _HeadTimeoutH11Protocol(H11Protocol):
    head_timeout_s: float = 30.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # h11 is IDLE on our side's view of the client until a whole head has
        # been parsed; the timer runs from the first byte of a head, and
        # further bytes of the same head do not restart it.
        if self.conn.their_state is h11.IDLE:
            if self._head_timer is None and not self.transport.is_closing():
                self._arm_head_timer()
        elif self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
