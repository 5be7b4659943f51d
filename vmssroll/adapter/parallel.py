"""Independent reads sent together: on a real network each costs a round trip (100–400 ms to ARM), so reads
that do not depend on each other overlap instead of queueing.

Each read runs in its own thread through the same `Azure` client, so every request still goes through the
one pipeline: retries, the request log (and its redaction), the deadline budget, Retry-After handling and the
host-bound token. Sharing that client across threads is safe for what vmssroll does with it (decided after
reading azure-core 1.41's RequestsTransport, requests' Session and urllib3's pools):

- azure-core documents `RequestsTransport` as "not thread-safe, since it will use one Session per instance"
  (requests makes no promise for a `Session`). What a request touches there: the session's settings (only
  read once the transport is open; vmssroll hands it an open session), its connection pool (urllib3's pool
  manager and pools are locked and thread-safe), and its cookie jar, the one mutable piece of shared state:
  `bounded_transport` gives the session a jar that refuses every cookie (ARM needs none), so no answer can
  change what another request sends.
- `BoundedAdapter` keeps the connection each request uses in a thread-local slot (its watchdog aborts only
  its own request); the deadline `Budget` is read, never written, while reads run.
- The pipeline's policies keep no per-request state on themselves (azure-core builds the retry settings per
  request); the bearer policy caches the token, and two first requests at once could each ask for one, so
  the credential vmssroll hands it (`connection.SharedToken`) gets one token for all threads.
- The SDK's serializer and deserializer are stateless; `Azure`'s memory of what it read is behind a lock.

One client per thread is the alternative azure-core suggests; it costs a new TCP and TLS connection (and on
Azure several round trips) per thread, which is what this module exists to save.

Failures keep their meaning: `together` waits for every read, then returns the results in the order given
and raises the first failure in that order, so a command sees the error a sequential read would have raised
first, and a supplementary read that fails (turned into "unknown, because …" by its own function) never
hides the others' results.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A read's value, or the exception it raised, to be raised where the sequential code would have."""

    value: T | None = None
    error: BaseException | None = None

    def get(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def outcome(call: Callable[[], T]) -> Outcome[T]:
    """Run `call`, keeping its exception (an ordinary one) for later instead of raising it now."""
    try:
        return Outcome(call())
    except Exception as err:
        return Outcome(error=err)


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once (the first in this thread, the others in their own) and return their results in
    order; after all have ended, the first failure in that order is raised. One call runs as it is.

    The other threads are daemons: Ctrl-C while they wait on a server that does not answer ends the command
    at once (reads only, nothing to undo) instead of holding its exit until their requests time out."""
    if len(calls) < 2:
        return [call() for call in calls]
    results: list[Outcome[Any]] = [Outcome()] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            results[index] = Outcome(call())
        except BaseException as err:  # whatever it is, raised in the calling thread, in its turn
            results[index] = Outcome(error=err)

    threads = [
        threading.Thread(target=run, args=(i, call), name="vmssroll-read", daemon=True)
        for i, call in enumerate(calls[1:], start=1)
    ]
    for thread in threads:
        thread.start()
    results[0] = outcome(calls[0])
    for thread in threads:
        thread.join()
    return [r.get() for r in results]
