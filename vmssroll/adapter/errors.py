"""azure.core errors → vmssroll's named failures, each with Azure's own code and message."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from vmssroll.domain.errors import (
    TRANSIENT_STATUSES,
    AuthFailed,
    AzureRequestFailed,
    Conflict,
    NotFound,
    Unreachable,
    VmssrollError,
)

# "No credential in the chain could get a token", whether the SDK or our own credential says so.
NO_CREDENTIAL = "no Azure credential could get a token"
NO_CREDENTIAL_HINT = (
    "run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, "
    "or run where a managed identity is assigned"
)


def no_credential() -> AuthFailed:
    return AuthFailed(NO_CREDENTIAL, hint=NO_CREDENTIAL_HINT)


def _code_and_message(err: Any) -> tuple[str | None, str]:
    odata = getattr(err, "error", None)
    code = getattr(odata, "code", None)
    message = getattr(odata, "message", None)
    if not code:
        response = getattr(err, "response", None)
        try:
            body = json.loads(response.text()) if response is not None else None
        except (ValueError, TypeError, AttributeError):
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code, message = error.get("code"), error.get("message")
    if not message:
        message = str(getattr(err, "reason", None) or getattr(err, "message", None) or err).splitlines()[0]
    return (str(code) if code else None), str(message)


def _request_id(err: Any) -> str | None:
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None) or {}
    return headers.get("x-ms-request-id") or headers.get("x-ms-correlation-request-id")


def _retry_after(err: Any) -> float | None:
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Rule:
    """One row of the translation table: which SDK errors it matches, and the named failure they become.

    `when` lists exception classes (names in azure.core.exceptions) and HTTP statuses, any of which matches
    (empty: any error); `codes` (Azure's error codes) narrows it further, and `no_response` to errors that got
    no HTTP answer. The message may use {action} and {detail} (Azure's code and message). A row whose failure
    needs its own reading of the error names a `build` function instead.
    """

    failure: type[VmssrollError]
    message: str = ""
    hint: str | None = None
    when: tuple[str | int, ...] = ()
    codes: tuple[str, ...] = ()
    no_response: bool = False
    build: Callable[..., VmssrollError] | None = None

    def matches(self, err: Exception, ex: Any, status: int | None, code: str | None) -> bool:
        classes = tuple(getattr(ex, w) for w in self.when if isinstance(w, str))
        return (
            (not self.when or status in self.when or isinstance(err, classes))
            and (not self.codes or (code or "").lower() in {c.lower() for c in self.codes})
            and (not self.no_response or getattr(err, "response", None) is None)
        )


# First matching row wins.
RULES = (
    Rule(AuthFailed, NO_CREDENTIAL, NO_CREDENTIAL_HINT, ("ClientAuthenticationError",), no_response=True),
    Rule(
        Unreachable,
        when=("ServiceRequestError", "ServiceResponseError"),
        build=lambda e, a: network_failure(e, action=a),
    ),
    Rule(
        AuthFailed,
        "{action}: Azure refused the credential ({detail})",
        "sign in again with `az login`, or check the service principal's secret",
        (401, "ClientAuthenticationError"),
    ),
    Rule(
        AuthFailed,
        "{action}: not authorised ({detail})",
        "the identity needs a role such as Virtual Machine Contributor on the scale set",
        (403,),
    ),
    Rule(
        Conflict,
        "{action}: the scale set changed since it was read ({detail})",
        "nothing was written; re-run the command to start from the current state",
        (412, "ResourceModifiedError"),
    ),
    Rule(Conflict, "{action}: {detail}", when=(409,)),
    Rule(NotFound, "{action}: {detail}", when=(404,)),
    Rule(
        AzureRequestFailed,
        "{action}: {detail}",
        "Azure is throttling or failing for now and vmssroll's retries ran out; wait a little and re-run",
        TRANSIENT_STATUSES,
    ),
    Rule(AzureRequestFailed, "{action}: {detail}"),
)


def translate(err: Exception, *, action: str) -> VmssrollError:
    """One named failure for an exception raised by the SDK: the first row of RULES that matches it."""
    from azure.core import exceptions as ex

    if isinstance(err, VmssrollError):
        return err
    # A 2xx whose body is not what it says: the SDK's DecodeError has the answer's reason ("OK") as message.
    if isinstance(err, ex.DecodeError):
        inner = err.inner_exception
        return unreadable(action, type(inner).__name__ if isinstance(inner, Exception) else "not JSON")
    code, message = _code_and_message(err)
    status = getattr(err, "status_code", None)
    rule = next(r for r in RULES if r.matches(err, ex, status, code))
    if rule.build is not None:
        return rule.build(err, action)
    text = rule.message.format(action=action, detail=f"{code}: {message}" if code else message)
    rid = _request_id(err)
    failure = rule.failure(text, code=code, status=status, hint=rule.hint, request_id=rid)
    if isinstance(failure, AzureRequestFailed) and failure.retry_after is None:
        failure.retry_after = _retry_after(err)
    return failure


# What a failed connection's text says (in the words of urllib3, requests, ssl and the resolver), what we say,
# what to do, and whether it can pass by itself within a command (a watch rides out only those).
_CAUSES: tuple[tuple[tuple[str, ...], str, str, bool], ...] = (
    (
        ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed"),
        "its TLS certificate is not trusted",
        "pass the CA that signed it with --ca-bundle; certificate checks are never switched off",
        False,
    ),
    (
        ("Temporary failure in name resolution", "EAI_AGAIN"),
        "the name could not be resolved for now (DNS)",
        "check the network's DNS, then re-run",
        True,
    ),
    (
        ("Failed to resolve", "Name or service not known", "nodename nor servname", "getaddrinfo failed"),
        "the name does not resolve (DNS)",
        "check the host name in --endpoint or --cloud, and the network's DNS",
        False,
    ),
    (
        ("Connection refused", "actively refused"),
        "the connection was refused",
        "nothing listens there: check --endpoint, or a proxy or firewall in between",
        False,
    ),
    (
        ("Network is unreachable", "No route to host"),
        "there is no route to it",
        "check the network connection",
        True,
    ),
)


def looks_like_network(text: str) -> bool:
    """Whether a credential's failure text is a connection failure, not a refusal or a missing login."""
    lowered = text.lower()
    return any(n.lower() in lowered for needles, _, _, _ in _CAUSES for n in needles) or any(
        n in lowered for n in ("httpsconnection(", "connecttimeout", "timed out", "max retries exceeded")
    )


def _host(err: Any, text: str) -> str | None:
    """host[:port] from the error's text, or from the URL of the request it carries (requests' SSLError)."""
    found = re.search(r"host='([^']+)'(?:, port=(\d+))?", text)
    if found:
        return found.group(1) + (f":{found.group(2)}" if found.group(2) not in (None, "443") else "")
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        url = getattr(getattr(err, "request", None), "url", None)
        if isinstance(url, str):
            from urllib.parse import urlparse

            return urlparse(url).netloc.removesuffix(":443") or None
        err = getattr(err, "inner_exception", None) or err.__cause__ or err.__context__
    return None


def network_failure(err: Any, *, action: str, text: str | None = None) -> Unreachable:
    """A request that got no HTTP answer: one line with the host and the cause.

    Only a connection that dropped or went silent after the request was sent (a read failure) is worth
    retrying as it stands; a name that does not resolve, a refused connection or an untrusted certificate will
    not change on its own within a command."""
    from azure.core import exceptions as ex

    text = " ".join((text if text is not None else str(err)).split())
    host = _host(err, text)
    where = host or "Azure Resource Manager"
    for needles, cause, hint, retryable in _CAUSES:
        if any(needle.lower() in text.lower() for needle in needles):
            return Unreachable(
                f"{action}: cannot reach {where}: {cause}", hint=hint, host=host, retryable=retryable
            )
    limit = re.search(r"connect timeout=([0-9.]+)", text)
    after = f" after {float(limit.group(1)):g} s" if limit else ""
    if isinstance(err, ex.ServiceRequestTimeoutError) or "ConnectTimeout" in text:
        return Unreachable(
            f"{action}: cannot reach {where}: the connection timed out{after}",
            hint="check the network, a proxy or firewall, and --endpoint",
            host=host,
            retryable=True,
        )
    if isinstance(err, ex.ServiceResponseTimeoutError) or "Read timed out" in text:
        return Unreachable(
            f"{action}: {where} did not answer in time",
            hint="re-run; Azure may be slow",
            host=host,
            retryable=True,
        )
    if isinstance(err, ex.ServiceResponseError):
        return Unreachable(
            f"{action}: the connection to {where} dropped before the answer",
            hint="re-run; if it was a write, vmssroll read the scale set back to tell whether it landed",
            host=host,
            retryable=True,
        )
    return Unreachable(
        f"{action}: cannot reach {where}: {type(err).__name__}",
        hint="check the network, --endpoint and --ca-bundle, then re-run",
        host=host,
        retryable=True,
    )


def unreadable(action: str, what: str) -> AzureRequestFailed:
    """Azure answered, but not with something we can read (not JSON, not UTF-8, not an object)."""
    return AzureRequestFailed(
        f"{action}: Azure's answer could not be read ({what})",
        hint="nothing was changed by reading; re-run, and report it if it persists",
    )


@contextmanager
def azure_errors(action: str) -> Iterator[None]:
    """Translate SDK exceptions raised inside the block.

    The SDK lets a few decoding failures escape as plain ValueErrors (an empty or non-UTF-8 body with status
    200 raises JSONDecodeError or UnicodeDecodeError from its deserializer): they become one clear line too.
    """
    from azure.core.exceptions import AzureError

    try:
        yield
    except AzureError as err:
        raise translate(err, action=action) from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise unreadable(action, type(err).__name__) from err
