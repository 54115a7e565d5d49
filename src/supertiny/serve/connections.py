"""Connection limits, so clients that connect and idle (or trickle) cannot starve the ones
that send requests.

uvicorn closes a connection idling between requests (`timeout_keep_alive`), but not one that
never finishes a request head: any byte resets that timer, and a fresh connection has none.
1100 such connections held every file a 1024-file process may open, and new clients waited
in the listen backlog. So here a connection must complete a request head within
`read_timeout` of connecting or of its last answer, and when `max_connections` are open the
longest-idle one (no request in flight) is closed to make room for the newcomer. Requests in
flight are bounded by uvicorn's `limit_concurrency` (503 past it) and the batcher's queue.
"""

from __future__ import annotations

import resource
import sys

from uvicorn.protocols.http.h11_impl import H11Protocol

RESERVED_FILES = 128  # the model, logs, pipes and sockets besides the clients'


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and room made by eviction."""

    max_connections = 512
    read_timeout = 10.0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._deadline = None
        self._await_request()
        self._make_room()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)

    def in_flight(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _await_request(self) -> None:
        """Close this connection unless a new request's head arrives within `read_timeout`
        (not reset by bytes that do not complete one)."""
        if self._deadline is not None:
            self._deadline.cancel()
        self.idle_since = self.loop.time()
        self._deadline = self.loop.call_later(self.read_timeout, self._close_if_idle, self.cycle)

    def _close_if_idle(self, cycle) -> None:
        if self.cycle is cycle and not self.in_flight():
            self.transport.close()

    def _make_room(self) -> None:
        """Over `max_connections`, close the longest-idle connections other than this one."""
        open_ = [c for c in self.connections if isinstance(c, GuardedH11Protocol) and not c.transport.is_closing()]
        excess = len(open_) - self.max_connections
        if excess > 0:
            idle = sorted((c for c in open_ if c is not self and not c.in_flight()), key=lambda c: c.idle_since)
            for connection in idle[:excess]:
                connection.transport.close()


def uvicorn_settings(max_connections: int, read_timeout: float) -> dict:
    """uvicorn.run keyword arguments that bound connections, their idle time and their heads."""
    protocol = type("GuardedH11Protocol", (GuardedH11Protocol,), {"max_connections": max_connections, "read_timeout": read_timeout})
    return {
        "http": protocol,
        "limit_concurrency": max_connections + 1,  # past it (every connection busy) a request gets 503
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": 16 << 10,  # a request head's bytes
        "backlog": 2048,
        "timeout_graceful_shutdown": 5,
    }


def fit_open_files(max_connections: int) -> int:
    """`max_connections`, after raising the open-file limit as far as allowed; lowered (with a
    warning) when the limit leaves no room for that many."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max_connections + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return max_connections
    allowed = max(1, soft - RESERVED_FILES)
    print(f"supertiny: warning: --max-connections {max_connections} lowered to {allowed} (open-file limit {soft})", file=sys.stderr)
    return allowed
