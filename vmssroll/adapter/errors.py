"""azure.core errors → vmssroll's named failures, each with Azure's own code and message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vmssroll.domain.errors import AuthFailed, AzureRequestFailed, Conflict, NotFound, VmssrollError

TRANSIENT_STATUSES = (408, 429, 500, 502, 503, 504)


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


def translate(err: Exception, *, action: str) -> VmssrollError:
    failure = _translate(err, action=action)
    if isinstance(failure, AzureRequestFailed) and failure.retry_after is None:
        failure.retry_after = _retry_after(err)
    return failure


def _translate(err: Exception, *, action: str) -> VmssrollError:
    """One named failure for an exception raised by the SDK."""
    from azure.core import exceptions as ex

    if isinstance(err, VmssrollError):
        return err
    if isinstance(err, ex.ClientAuthenticationError) and getattr(err, "response", None) is None:
        return AuthFailed(
            "no Azure credential could get a token",
            hint="run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, "
            "or run where a managed identity is assigned",
        )
    if isinstance(err, ex.ServiceRequestError) and "CERTIFICATE_VERIFY_FAILED" in str(err):
        return AzureRequestFailed(
            f"{action}: the endpoint's TLS certificate is not trusted ({str(err).splitlines()[0]})",
            hint="pass the CA that signed it with --ca-bundle; certificate checks are never switched off",
        )
    if isinstance(err, ex.ServiceRequestError | ex.ServiceResponseError):
        return AzureRequestFailed(
            f"{action}: could not reach Azure Resource Manager ({type(err).__name__}: {str(err).splitlines()[0]})",
            hint="check the network, --endpoint and --ca-bundle, then re-run",
        )
    code, message = _code_and_message(err)
    status = getattr(err, "status_code", None)
    rid = _request_id(err)
    detail = f"{code}: {message}" if code else message
    if status == 401 or isinstance(err, ex.ClientAuthenticationError):
        return AuthFailed(
            f"{action}: Azure refused the credential ({detail})",
            hint="sign in again (`az login`) or check the service principal's secret",
            request_id=rid,
        )
    if status == 403:
        return AuthFailed(
            f"{action}: not authorised ({detail})",
            hint="the identity needs a role such as Virtual Machine Contributor on the scale set",
            request_id=rid,
        )
    if status == 412 or isinstance(err, ex.ResourceModifiedError):
        return Conflict(
            f"{action}: the scale set changed since it was read ({detail})",
            code=code,
            status=status,
            hint="nothing was written; re-run the command to start from the current state",
            request_id=rid,
        )
    if status == 409:
        return Conflict(f"{action}: {detail}", code=code, status=status, request_id=rid)
    if status == 404:
        return NotFound(f"{action}: {detail}", code=code, status=status, request_id=rid)
    hint = (
        "Azure is throttling or failing for now and vmssroll's retries ran out; wait a little and re-run"
        if status in TRANSIENT_STATUSES
        else None
    )
    return AzureRequestFailed(f"{action}: {detail}", code=code, status=status, hint=hint, request_id=rid)


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
