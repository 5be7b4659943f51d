"""What the SDK's pipeline gets from us so that no server can hold a command past its deadline or take the
token.

- `Budget`: the seconds left before the command's absolute deadline (--timeout, --progress-deadline), read
  from the command's clock before every request.
- `BoundedAdapter`: the requests adapter under azure-core's transport. Each request gets its connect and read
  timeouts from the time left, and a watchdog that shuts the connection's socket down when the request's whole
  time is up, so an answer that trickles a byte every few seconds (which no per-read timeout catches) ends
  too. Bodies are read in bounded form (at most `MAX_BODY` bytes, refused before parsing), and Retry-After
  headers are parsed safely and capped before the retry policy or the poller sees them.
- `HostBoundAuthPolicy`: the bearer token goes to the endpoint's host and port only; a nextLink, an operation
  URL or a redirect to anywhere else is sent without it, and a 401 challenge from there is never answered.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

MAX_BODY = 64 * 1024 * 1024
MAX_RETRY_AFTER = 120.0  # seconds; a longer (or infinite) Retry-After is capped here, and at the deadline
REQUEST_CAP = 120.0  # the whole time one request may take when the command has no deadline of its own
_RETRY_HEADERS = ("retry-after", "retry-after-ms", "x-ms-retry-after-ms")


class Budget:
    """An absolute deadline on a clock (its `monotonic()`), or none."""

    def __init__(self) -> None:
        self.clock: Any = None
        self.at: float | None = None

    def set(self, clock: Any, at: float | None) -> None:
        self.clock, self.at = clock, at

    def left(self) -> float | None:
        if self.at is None or self.clock is None:
            return None
        return self.at - float(self.clock.monotonic())

    def cap(self, seconds: float) -> float:
        """`seconds`, or the time left if that is shorter (never negative)."""
        left = self.left()
        return max(0.0, seconds if left is None else min(seconds, left))


def retry_after_seconds(value: Any, *, milliseconds: bool = False, date: Any = None) -> float | None:
    """A Retry-After value in seconds, finite, at least 0 and at most MAX_RETRY_AFTER; None when unreadable.

    Accepts delta-seconds (also fractional, as some services send) and HTTP dates; `inf` is capped, `nan`,
    negative numbers and garbage are None (the caller's own back-off applies). An HTTP date is measured from
    the answer's own `Date` header when it has one (the server's clock), so a skewed local clock cannot
    stretch or cancel the wait."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or len(text) > 64:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - _server_now(date)
    else:
        if milliseconds:
            seconds /= 1000
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _server_now(date: Any) -> float:
    """The server's time from its `Date` header, else the local clock's."""
    try:
        when = email.utils.parsedate_to_datetime(str(date)) if date else None
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    return when.timestamp() if when is not None and when.tzinfo is not None else time.time()


def sanitize_retry_after(headers: Any, budget: Budget | None = None) -> None:
    """Rewrite a response's Retry-After headers in place: capped, finite, or removed when unreadable."""
    for name in _RETRY_HEADERS:
        raw = headers.get(name)
        if raw is None:
            continue
        seconds = retry_after_seconds(raw, milliseconds=name != "retry-after", date=headers.get("date"))
        if seconds is None:
            del headers[name]
            continue
        if budget is not None:
            seconds = budget.cap(seconds)
        headers[name] = str(round(seconds * 1000)) if name != "retry-after" else f"{seconds:g}"


class _Slot:
    """The connection a request is using, so that the watchdog can end it from another thread."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.fired = False

    def abort(self) -> None:
        self.fired = True
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            # The plain socket's shutdown (not SSLSocket's, which also drops its TLS object under the reader):
            # a recv blocked in the other thread returns at once.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current = threading.local()


def _pool_classes() -> dict[str, Any]:
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def tracked(base: Any) -> Any:
        class Tracked(base):
            def connect(self) -> None:
                _track(self)
                super().connect()

            def request(self, *args: Any, **kwargs: Any) -> None:
                _track(self)
                super().request(*args, **kwargs)

        return Tracked

    class TrackedHTTPPool(HTTPConnectionPool):
        ConnectionCls = tracked(HTTPConnection)

    class TrackedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = tracked(HTTPSConnection)

    return {"http": TrackedHTTPPool, "https": TrackedHTTPSPool}


def _track(connection: Any) -> None:
    slot = getattr(_current, "slot", None)
    if slot is not None:
        slot.connection = connection
        if slot.fired:  # the deadline passed before this connection was made: end it at once
            slot.abort()


def bounded_adapter(budget: Budget, *, max_body: int = MAX_BODY) -> Any:
    """A requests HTTPAdapter with per-request deadlines, bounded bodies and sane Retry-After headers."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    classes = _pool_classes()

    class BoundedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(classes)

        def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(*args, **kwargs)  # through a proxy, the watchdog holds too
            manager.pool_classes_by_scheme = dict(classes)
            return manager

        def send(  # type: ignore[override]
            self, request: Any, stream: bool = False, timeout: Any = None, **kwargs: Any
        ) -> Any:
            total = budget.cap(REQUEST_CAP)
            if total <= 0:
                raise requests.exceptions.ConnectTimeout("no time left before the deadline; not sent")
            connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
            timeout = (min(connect or total, total), min(read or total, total))
            slot = _Slot()
            _current.slot = slot
            watchdog = threading.Timer(total, slot.abort)
            watchdog.daemon = True
            watchdog.start()
            try:
                response = super().send(request, stream=True, timeout=timeout, **kwargs)
                sanitize_retry_after(response.headers, budget)
                if not stream:
                    _read_bounded(response, max_body)
                return response
            except requests.RequestException as err:
                if slot.fired:
                    raise requests.exceptions.ReadTimeout(
                        f"no complete answer within {total:.1f}s (the time left before the deadline)"
                    ) from err
                raise
            finally:
                watchdog.cancel()
                _current.slot = None

    return BoundedAdapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))


class BodyTooLarge(Exception):
    """An answer larger than the body cap; it was not read (let alone parsed)."""


def _read_bounded(response: Any, max_body: int) -> None:
    """Read the whole body into the response (as requests does for stream=False), refusing more than
    max_body."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_body:
        response.close()
        raise _too_large(max_body)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > max_body:
            response.close()
            raise _too_large(max_body)
        chunks.append(chunk)
    response._content = b"".join(chunks)  # what requests itself sets when it reads a body
    response._content_consumed = True


def _too_large(max_body: int) -> Exception:
    from azure.core.exceptions import HttpResponseError

    return HttpResponseError(
        message=f"the answer is larger than {max_body // (1024 * 1024)} MiB; it was not read",
    )


def host_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def host_bound_auth_policy(credential: Any, scope: str, endpoint: str) -> Any:
    """ARM's challenge-aware bearer policy, for the endpoint's host and port only."""
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

    home = host_of(endpoint)

    class HostBoundAuthPolicy(ARMChallengeAuthenticationPolicy):
        def send(self, request: Any) -> Any:
            if host_of(request.http_request.url) != home:
                request.http_request.headers.pop("Authorization", None)
                return self.next.send(request)  # no token, and no answer to a 401 challenge
            return super().send(request)

    return HostBoundAuthPolicy(credential, scope)


def bounded_transport(budget: Budget, **options: Any) -> Any:
    """azure-core's requests transport on a session whose adapter is bounded (see the module's docstring)."""
    import http.cookiejar

    import requests
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    # No cookies kept: ARM needs none, and a jar no answer can change is what lets threads share this session
    # (see adapter/parallel.py).
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = bounded_adapter(budget)
    for prefix in ("https://", "http://"):
        session.mount(prefix, adapter)
    return RequestsTransport(session=session, session_owner=True, **options)
