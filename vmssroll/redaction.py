"""Secrets out of every line: the token values this process was given, in any form, and anything shaped like
an Authorization header or a bearer token.

A process-wide registry (tokens arrive in the adapter, output leaves through the ui and the cli), with no
dependency, so every layer may use it. A token is remembered as it is issued and removed from text bare,
URL-encoded (quote and quote_plus, as a server may echo it in a URL or a form) and JSON-escaped."""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "REDACTED"
_lock = threading.Lock()
_forms: list[str] = []

# An Authorization header's value (with its scheme: "Authorization: Bearer X" must not leave X behind), or a
# bearer token wherever it appears; a token has a digit or punctuation or is long, so prose ("bearer tokens
# are never sent over http") is left alone.
_SHAPED = re.compile(
    r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer\s+)?)[^'\",\s}]+"
    r"|(bearer(?:\s+|%20|\+))(?=[A-Za-z0-9\-._~+/%]*[0-9\-._~+/%]|[A-Za-z0-9\-._~+/]{16})[A-Za-z0-9\-._~+/%]+=*"
)


def remember(secret: str | None) -> None:
    """Redact this value (and its encoded forms) from everything written from now on."""
    if not secret or len(secret) < 8:
        return
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    with _lock:
        for form in forms:
            if form not in _forms:
                _forms.append(form)
        _forms.sort(key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every remembered secret and every Authorization/bearer value replaced by REDACTED."""
    for form in _forms:
        if form in text:
            text = text.replace(form, MASK)
    return _SHAPED.sub(lambda m: (m.group(1) or m.group(2)) + MASK, text)
