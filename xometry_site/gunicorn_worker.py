"""gunicorn's threaded worker, leaving new connections to workers with a thread free.

A gthread worker accepts every connection it is offered, even with all its threads busy
(gunicorn issue #3433), and a keep-alive connection stays with the worker that accepted it. A
burst of 32 went 27 to one worker and 5 to the others; that worker, one Python process held to
one core by its GIL, served them at half the machine's speed while the other core idled (390
instead of 800 signed-in pages a second, p99 above 100 ms). This worker, with every thread busy,
leaves a new connection to the others for `ACCEPT_GRACE`, and takes it only if it is still
waiting then (every worker busy), so a connection never waits much longer than it would have.
"""

from __future__ import annotations

import select
import time

from gunicorn.workers.gthread import ThreadWorker

ACCEPT_GRACE = 0.005  # seconds a busy worker leaves a new connection to the others


class BalancedThreadWorker(ThreadWorker):
    """Holds back from accepting while busy; gunicorn's loop reads `worker_connections` as the
    number of connections it may hold, once per turn, so a hold is that number going down."""

    def __init__(self, *args, **kwargs) -> None:
        self.in_flight = 0  # requests handed to the thread pool and not finished
        self._hold_until: float | None = None
        self._take_waiting = False  # for one turn: the connection others left, take it
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def worker_connections(self) -> int:
        self._take_waiting = False
        if self._hold_until is not None:
            if time.monotonic() < self._hold_until:
                return self.nr_conns  # not listening
            self._hold_until = None
            self._take_waiting = self._connection_waiting()
        return self.cfg.worker_connections

    @worker_connections.setter
    def worker_connections(self, _value: int) -> None:
        """The base class copies the config once; the property reads the config itself."""

    def accept(self, listener) -> None:
        if self.in_flight >= self.cfg.threads and not self._take_waiting:
            self._hold_until = time.monotonic() + ACCEPT_GRACE
            self.set_accept_enabled(False)
            return
        self._take_waiting = False
        super().accept(listener)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self._hold_until is not None:  # wake when the hold ends, not a second later
            timeout = min(timeout, max(0.0, self._hold_until - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)

    def enqueue_req(self, conn) -> None:
        self.in_flight += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs) -> None:
        self.in_flight -= 1
        super().finish_request(conn, fs)

    def _connection_waiting(self) -> bool:
        readable, _, _ = select.select(self.sockets, [], [], 0)
        return bool(readable)
