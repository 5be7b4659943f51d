"""Every HTTP request vmssroll sends, on the log: `-v` shows one line per attempt and what each write sent,
`--debug` adds the headers (secrets redacted) and the answer's body."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("vmssroll.requests")

WRITES = frozenset({"PUT", "PATCH", "POST", "DELETE"})
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-ms-authorization-auxiliary"})
BODY_LIMIT = 4000  # characters of a body shown with --debug; a 1,000-instance page is far longer


def request_log_policy() -> Any:
    """An azure-core policy placed after the retry policy, so each attempt is its own line."""
    from azure.core.pipeline.policies import HTTPPolicy

    class RequestLogPolicy(HTTPPolicy):
        def send(self, request: Any) -> Any:
            http = request.http_request
            if not log.isEnabledFor(logging.INFO):
                return self.next.send(request)
            method = str(http.method).upper()
            path = _path(http.url)
            if method in WRITES:
                log.info("%s %s sent %s", method, path, _body_text(_request_body(http)) or "no body")
            started = time.perf_counter()
            try:
                response = self.next.send(request)
            except Exception as err:
                log.info("%s %s: no answer after %s (%s)", method, path, _ms(started), type(err).__name__)
                raise
            answer = response.http_response
            headers = answer.headers
            log.info(
                "%s %s %s %s x-ms-request-id=%s x-ms-correlation-request-id=%s",
                method,
                path,
                answer.status_code,
                _ms(started),
                headers.get("x-ms-request-id", "-"),
                headers.get("x-ms-correlation-request-id", "-"),
            )
            if log.isEnabledFor(logging.DEBUG):
                for name, value in redacted(http.headers).items():
                    log.debug("  > %s: %s", name, value)
                for name, value in redacted(headers).items():
                    log.debug("  < %s: %s", name, value)
                try:
                    body = answer.text()
                except Exception:  # a streamed or undecodable body is shown as its absence, never a crash
                    body = ""
                log.debug("  < body: %s", _clip(body) or "(empty)")
            return response

    return RequestLogPolicy()


def redacted(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with every credential-bearing value replaced."""
    return {k: "REDACTED" if k.lower() in SECRET_HEADERS else str(v) for k, v in headers.items()}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:.0f} ms"


def _request_body(http: Any) -> Any:
    for attribute in ("content", "body", "data"):
        try:
            value = getattr(http, attribute, None)
        except Exception:  # azure.core.rest raises on `content` of a streamed request
            value = None
        if value:
            return value
    return None


def _body_text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
        except ValueError:
            return _clip(body)
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return _clip(str(body))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return (
        text
        if len(text) <= BODY_LIMIT
        else f"{text[:BODY_LIMIT]}… ({len(text) - BODY_LIMIT} more characters)"
    )
