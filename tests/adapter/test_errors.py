"""SDK errors → vmssroll's named failures, row by row of the translation table, and a request that got no
answer → one line with the host, the cause, the hint and whether it may pass by itself. Pure: the errors are
real azure.core exceptions carrying real (requests-made) responses, as the SDK raises them."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests
from azure.core import exceptions as ex
from azure.core.pipeline.transport import HttpRequest, RequestsTransportResponse
from azure.mgmt.core.exceptions import ARMErrorFormat

from vmssroll.adapter.errors import (
    NO_CREDENTIAL,
    NO_CREDENTIAL_HINT,
    azure_errors,
    looks_like_network,
    network_failure,
    no_credential,
    translate,
    unreadable,
)
from vmssroll.domain.errors import (
    AuthFailed,
    AzureRequestFailed,
    Conflict,
    InvalidInput,
    NotFound,
    Unreachable,
)

URL = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/x"
THROTTLED_HINT = (
    "Azure is throttling or failing for now and vmssroll's retries ran out; wait a little and re-run"
)


def answer(status: int, body: Any, headers: dict[str, str] | None = None, reason: str = "Reason") -> Any:
    """An azure-core response around a requests one, as the SDK's pipeline hands it to the error."""
    raw = requests.Response()
    raw.status_code = status
    raw.reason = reason
    raw._content = (body if isinstance(body, str) else json.dumps(body)).encode()
    raw.headers.update(headers or {})
    return RequestsTransportResponse(HttpRequest("GET", URL), raw)


def failed(status: int, body: Any, headers: dict[str, str] | None = None, cls: Any = None) -> Any:
    """The exception the SDK raises for an answer (ARM's error format, as azure-mgmt-compute parses it)."""
    return (cls or ex.HttpResponseError)(response=answer(status, body, headers), error_format=ARMErrorFormat)


def azure_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


# ---------------------------------------------------------------------------------------------- translate


@pytest.mark.parametrize(
    ("status", "cls", "failure", "message", "hint"),
    [
        (
            401,
            ex.ClientAuthenticationError,
            AuthFailed,
            "reading x: Azure refused the credential (Code1: said)",
            "sign in again with `az login`, or check the service principal's secret",
        ),
        (
            403,
            ex.HttpResponseError,
            AuthFailed,
            "reading x: not authorised (Code1: said)",
            "the identity needs a role such as Virtual Machine Contributor on the scale set",
        ),
        (
            412,
            ex.ResourceModifiedError,
            Conflict,
            "reading x: the scale set changed since it was read (Code1: said)",
            "nothing was written; re-run the command to start from the current state",
        ),
        (409, ex.ResourceExistsError, Conflict, "reading x: Code1: said", None),
        (404, ex.ResourceNotFoundError, NotFound, "reading x: Code1: said", None),
        (400, ex.HttpResponseError, AzureRequestFailed, "reading x: Code1: said", None),
        (408, ex.HttpResponseError, AzureRequestFailed, "reading x: Code1: said", THROTTLED_HINT),
        (429, ex.HttpResponseError, AzureRequestFailed, "reading x: Code1: said", THROTTLED_HINT),
        (500, ex.HttpResponseError, AzureRequestFailed, "reading x: Code1: said", THROTTLED_HINT),
        (502, ex.HttpResponseError, AzureRequestFailed, "reading x: Code1: said", THROTTLED_HINT),
        (503, ex.HttpResponseError, AzureRequestFailed, "reading x: Code1: said", THROTTLED_HINT),
        (504, ex.HttpResponseError, AzureRequestFailed, "reading x: Code1: said", THROTTLED_HINT),
    ],
)
def test_each_status_becomes_its_named_failure_with_azures_code_message_and_request_id(
    status: int, cls: Any, failure: type, message: str, hint: str | None
) -> None:
    err = failed(status, azure_error("Code1", "said"), {"x-ms-request-id": "rid-1"}, cls)
    got = translate(err, action="reading x")
    assert type(got) is failure
    assert (got.message, got.hint, got.code, got.status, got.request_id) == (
        message,
        hint,
        "Code1",
        status,
        "rid-1",
    )


def test_the_correlation_id_stands_in_for_a_missing_request_id() -> None:
    err = failed(404, azure_error("NotFound", "gone"), {"x-ms-correlation-request-id": "corr-1"})
    assert translate(err, action="a").request_id == "corr-1"
    both = failed(
        404, azure_error("NotFound", "gone"), {"x-ms-request-id": "r", "x-ms-correlation-request-id": "c"}
    )
    assert translate(both, action="a").request_id == "r"
    assert translate(failed(404, azure_error("NotFound", "gone")), action="a").request_id is None


def test_the_class_alone_picks_the_row_when_there_is_no_status() -> None:
    changed = translate(ex.ResourceModifiedError(message="etag moved"), action="patching")
    assert type(changed) is Conflict
    assert changed.message == "patching: the scale set changed since it was read (etag moved)"
    assert changed.status is None and changed.code is None
    refused = ex.ClientAuthenticationError(response=answer(400, azure_error("InvalidToken", "expired")))
    got = translate(refused, action="reading")
    assert type(got) is AuthFailed
    assert got.message == "reading: Azure refused the credential (InvalidToken: expired)"


def test_no_credential_at_all_says_how_to_sign_in() -> None:
    got = translate(ex.ClientAuthenticationError(message="DefaultAzureCredential failed"), action="x")
    assert type(got) is AuthFailed
    assert (got.message, got.hint) == (NO_CREDENTIAL, NO_CREDENTIAL_HINT)
    assert got.message == "no Azure credential could get a token"
    assert "az login" in NO_CREDENTIAL_HINT and "AZURE_CLIENT_SECRET" in NO_CREDENTIAL_HINT
    made = no_credential()
    assert type(made) is AuthFailed and (made.message, made.hint) == (NO_CREDENTIAL, NO_CREDENTIAL_HINT)


def test_a_top_level_arm_error_body_is_read_too() -> None:
    """ARM's error format also has the code and message at the top (no `error` wrapper)."""
    got = translate(failed(409, {"code": "OperationNotAllowed", "message": "busy now"}), action="patching")
    assert got.message == "patching: OperationNotAllowed: busy now"
    assert got.code == "OperationNotAllowed"


def test_an_error_body_the_sdks_parser_rejects_is_still_read() -> None:
    """ARM's error format fails on an `additionalInfo` entry without a type: the SDK's error then holds no
    code, and the code and message are read from the body itself."""
    body = {"error": {"code": "QuotaExceeded", "message": "over quota", "additionalInfo": [{"info": {}}]}}
    err = failed(409, body)
    assert err.error is None
    got = translate(err, action="patching")
    assert (type(got), got.message, got.code) == (
        Conflict,
        "patching: QuotaExceeded: over quota",
        "QuotaExceeded",
    )
    only_code = failed(400, {"error": {"code": "BadThing", "additionalInfo": [{}]}})
    assert translate(only_code, action="patching").message == "patching: BadThing: Reason"


def test_a_body_with_a_message_but_no_code() -> None:
    got = translate(failed(400, {"error": {"message": "only words"}}), action="reading")
    assert (got.message, got.code) == ("reading: only words", None)


@pytest.mark.parametrize("body", ["<html>Bad Gateway</html>", "", "[1, 2]", '{"error": "a string"}'])
def test_an_answer_without_an_error_object_is_told_by_its_reason(body: str) -> None:
    err = ex.HttpResponseError(response=answer(502, body, reason="Bad Gateway"), error_format=ARMErrorFormat)
    got = translate(err, action="reading")
    assert (type(got), got.message, got.code, got.status) == (
        AzureRequestFailed,
        "reading: Bad Gateway",
        None,
        502,
    )


def test_an_error_without_an_answer_is_told_by_its_first_line() -> None:
    got = translate(ex.HttpResponseError(message="first line\nsecond line"), action="reading")
    assert (type(got), got.message, got.code, got.status, got.hint) == (
        AzureRequestFailed,
        "reading: first line",
        None,
        None,
        None,
    )
    plain = translate(ex.AzureError("bare azure error"), action="reading")
    assert plain.message == "reading: bare azure error"


@pytest.mark.parametrize(
    ("value", "seconds"), [("7", 7.0), ("2.5", 2.5), ("-3", 0.0), ("soon", None), (None, None)]
)
def test_a_throttled_failure_keeps_azures_retry_after(value: str | None, seconds: float | None) -> None:
    headers = {"Retry-After": value} if value is not None else {}
    got = translate(failed(429, azure_error("TooManyRequests", "slow down"), headers), action="a")
    assert isinstance(got, AzureRequestFailed)
    assert got.retry_after == seconds


def test_the_retry_after_header_is_read_whatever_its_case() -> None:
    got = translate(failed(503, azure_error("Busy", "b"), {"retry-after": "4"}), action="a")
    assert isinstance(got, AzureRequestFailed) and got.retry_after == 4.0


def test_an_auth_failure_has_no_retry_after_and_a_named_failure_passes_through() -> None:
    got = translate(failed(403, azure_error("AuthorizationFailed", "no"), {"Retry-After": "5"}), action="a")
    assert type(got) is AuthFailed and getattr(got, "retry_after", None) is None
    mine = InvalidInput("bad")
    assert translate(mine, action="a") is mine  # type: ignore[arg-type]


def test_a_codes_case_does_not_matter_and_the_first_matching_row_wins() -> None:
    # A 401 is refused credentials even though 401 is not a transient status; a 404 with a 409-ish code is
    # still a 404.
    got = translate(failed(404, azure_error("conflict", "x")), action="a")
    assert type(got) is NotFound


# ------------------------------------------------------------------------------------------- azure_errors


def test_azure_errors_translates_inside_the_block_and_keeps_the_cause() -> None:
    err = failed(404, azure_error("ResourceNotFound", "no such set"))
    with pytest.raises(NotFound) as caught, azure_errors("reading scale set web"):
        raise err
    assert caught.value.message == "reading scale set web: ResourceNotFound: no such set"
    assert caught.value.__cause__ is err


@pytest.mark.parametrize(
    ("raised", "name"),
    [
        (json.JSONDecodeError("Expecting value", "", 0), "JSONDecodeError"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "UnicodeDecodeError"),
    ],
)
def test_azure_errors_turns_an_undecodable_answer_into_one_line(raised: Exception, name: str) -> None:
    with pytest.raises(AzureRequestFailed) as caught, azure_errors("reading scale set web"):
        raise raised
    assert type(caught.value) is AzureRequestFailed
    assert caught.value.message == f"reading scale set web: Azure's answer could not be read ({name})"
    assert caught.value.hint == "nothing was changed by reading; re-run, and report it if it persists"
    assert caught.value.__cause__ is raised


def test_azure_errors_lets_other_exceptions_and_success_through() -> None:
    with pytest.raises(KeyError), azure_errors("a"):
        raise KeyError("mine")
    with azure_errors("a"):
        pass


def test_unreadable_names_what_could_not_be_read() -> None:
    got = unreadable("polling the operation", "not a JSON object")
    assert type(got) is AzureRequestFailed
    assert got.message == "polling the operation: Azure's answer could not be read (not a JSON object)"
    assert got.hint == "nothing was changed by reading; re-run, and report it if it persists"
    assert (got.code, got.status) == (None, None)


# ---------------------------------------------------------------------------------------- network_failure

POOL = (
    "HTTPSConnectionPool(host='arm.example.net', port=443): Max retries exceeded with url: /x (Caused by {})"
)


@pytest.mark.parametrize(
    ("cause", "said", "hint", "retryable"),
    [
        (
            "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed'))",
            "its TLS certificate is not trusted",
            "pass the CA that signed it with --ca-bundle; certificate checks are never switched off",
            False,
        ),
        (
            "NameResolutionError(\"Failed to resolve 'arm.example.net' ([Errno -3] Temporary failure in name "
            'resolution)")',
            "the name could not be resolved for now (DNS)",
            "check the network's DNS, then re-run",
            True,
        ),
        (
            "NameResolutionError(\"Failed to resolve 'arm.example.net' ([Errno -2] Name or service not known)\")",
            "the name does not resolve (DNS)",
            "check the host name in --endpoint or --cloud, and the network's DNS",
            False,
        ),
        (
            "NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused')",
            "the connection was refused",
            "nothing listens there: check --endpoint, or a proxy or firewall in between",
            False,
        ),
        (
            "NewConnectionError('Failed to establish a new connection: [Errno 101] Network is unreachable')",
            "there is no route to it",
            "check the network connection",
            True,
        ),
        (
            "NewConnectionError('Failed to establish a new connection: [Errno 113] No route to host')",
            "there is no route to it",
            "check the network connection",
            True,
        ),
        (
            "NewConnectionError('[WinError 10061] the target machine actively refused it')",
            "the connection was refused",
            "nothing listens there: check --endpoint, or a proxy or firewall in between",
            False,
        ),
        (
            "NewConnectionError('[Errno 8] nodename nor servname provided, or not known')",
            "the name does not resolve (DNS)",
            "check the host name in --endpoint or --cloud, and the network's DNS",
            False,
        ),
        (
            "NewConnectionError('[Errno 11001] getaddrinfo failed')",
            "the name does not resolve (DNS)",
            "check the host name in --endpoint or --cloud, and the network's DNS",
            False,
        ),
        (
            "NewConnectionError('[Errno -3] EAI_AGAIN')",
            "the name could not be resolved for now (DNS)",
            "check the network's DNS, then re-run",
            True,
        ),
    ],
)
def test_each_cause_of_a_failed_connection_is_named_with_its_host_and_hint(
    cause: str, said: str, hint: str, retryable: bool
) -> None:
    got = network_failure(ex.ServiceRequestError(POOL.format(cause)), action="reading scale set web")
    assert type(got) is Unreachable
    assert got.message == f"reading scale set web: cannot reach arm.example.net: {said}"
    assert (got.hint, got.host, got.retryable, got.transient) == (
        hint,
        "arm.example.net",
        retryable,
        retryable,
    )
    # the same through translate, as the SDK's errors reach it
    again = translate(ex.ServiceRequestError(POOL.format(cause)), action="reading scale set web")
    assert (type(again), again.message, again.hint) == (Unreachable, got.message, hint)


def test_the_causes_are_found_whatever_their_case_and_spacing() -> None:
    got = network_failure(
        ex.ServiceRequestError("oops:   CONNECTION\n  REFUSED".replace("\n  ", " ")), action="a"
    )
    assert got.message == "a: cannot reach Azure Resource Manager: the connection was refused"
    spaced = network_failure(ex.ServiceRequestError("Connection\n   refused"), action="a")
    assert spaced.message == "a: cannot reach Azure Resource Manager: the connection was refused"


def test_a_port_other_than_443_is_part_of_the_host() -> None:
    text = "HTTPSConnectionPool(host='127.0.0.1', port=8443): Max retries exceeded (Connection refused)"
    got = network_failure(ex.ServiceRequestError(text), action="a")
    assert got.host == "127.0.0.1:8443"
    assert got.message == "a: cannot reach 127.0.0.1:8443: the connection was refused"
    bare = network_failure(ex.ServiceRequestError("host='h.example' Connection refused"), action="a")
    assert bare.host == "h.example"


def test_a_connect_timeout_says_after_how_long() -> None:
    text = (
        "HTTPSConnectionPool(host='arm.example.net', port=443): Max retries exceeded (Caused by "
        "ConnectTimeoutError(<urllib3.connection.HTTPSConnection object>, 'Connection to arm.example.net "
        "timed out. (connect timeout=2.5)'))"
    )
    got = network_failure(ex.ServiceRequestError(text), action="reading")
    assert got.message == "reading: cannot reach arm.example.net: the connection timed out after 2.5 s"
    assert (got.hint, got.host, got.retryable) == (
        "check the network, a proxy or firewall, and --endpoint",
        "arm.example.net",
        True,
    )
    whole = network_failure(ex.ServiceRequestError(text.replace("2.5", "10.0")), action="reading")
    assert whole.message.endswith("the connection timed out after 10 s")
    named = network_failure(ex.ServiceRequestError("ConnectTimeout: no answer"), action="reading")
    assert named.message == "reading: cannot reach Azure Resource Manager: the connection timed out"
    assert named.retryable is True


def test_a_request_timeout_error_is_a_connect_timeout() -> None:
    got = network_failure(ex.ServiceRequestTimeoutError("took too long"), action="reading")
    assert got.message == "reading: cannot reach Azure Resource Manager: the connection timed out"
    assert got.retryable is True


@pytest.mark.parametrize(
    "err",
    [
        ex.ServiceResponseError("HTTPSConnectionPool(host='arm.example.net', port=443): Read timed out."),
        ex.ServiceResponseTimeoutError("host='arm.example.net' took too long"),
    ],
)
def test_a_read_timeout_says_azure_did_not_answer_in_time(err: Exception) -> None:
    got = network_failure(err, action="reading")
    assert type(got) is Unreachable
    assert got.message == "reading: arm.example.net did not answer in time"
    assert (got.hint, got.host, got.retryable, got.transient) == (
        "re-run; Azure may be slow",
        "arm.example.net",
        True,
        True,
    )


def test_a_dropped_connection_says_so_and_may_be_retried() -> None:
    err = ex.ServiceResponseError("('Connection aborted.', RemoteDisconnected('closed without response'))")
    got = network_failure(err, action="patching web")
    assert got.message == "patching web: the connection to Azure Resource Manager dropped before the answer"
    assert got.hint == "re-run; if it was a write, vmssroll read the scale set back to tell whether it landed"
    assert (got.host, got.retryable, got.transient) == (None, True, True)
    assert translate(err, action="patching web").message == got.message


def test_any_other_failure_names_its_type() -> None:
    got = network_failure(ex.ServiceRequestError("something odd"), action="reading")
    assert got.message == "reading: cannot reach Azure Resource Manager: ServiceRequestError"
    assert got.hint == "check the network, --endpoint and --ca-bundle, then re-run"
    assert (got.host, got.retryable, got.transient) == (None, True, True)


def test_the_given_text_is_read_instead_of_the_errors_own() -> None:
    err = ex.ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")
    got = network_failure(err, action="getting a token", text="host='login.example' Connection refused")
    assert got.message == "getting a token: cannot reach login.example: the connection was refused"
    assert got.retryable is False


def test_the_host_comes_from_the_url_of_the_request_the_error_carries() -> None:
    inner = requests.exceptions.SSLError(
        "certificate verify failed", request=requests.Request("GET", URL).prepare()
    )
    err = ex.ServiceRequestError(str(inner), error=inner)
    got = network_failure(err, action="reading")
    assert got.host == "management.azure.com"
    assert got.message == "reading: cannot reach management.azure.com: its TLS certificate is not trusted"
    on_port = requests.Request("GET", "https://arm.example.net:8443/x").prepare()
    err = ex.ServiceRequestError("odd", error=requests.exceptions.ConnectionError("odd", request=on_port))
    assert network_failure(err, action="reading").host == "arm.example.net:8443"


def test_the_host_is_found_down_the_cause_and_context_chain() -> None:
    carrier = requests.exceptions.ConnectionError("x", request=requests.Request("GET", URL).prepare())
    caused = ex.ServiceRequestError("odd")
    caused.__cause__ = ValueError("middle")
    caused.__cause__.__context__ = carrier
    assert network_failure(caused, action="a").host == "management.azure.com"
    no_url = ex.ServiceRequestError("odd")
    no_url.__context__ = ValueError("nothing here")
    assert network_failure(no_url, action="a").host is None


def test_a_looping_chain_ends_without_a_host() -> None:
    first, second = ex.ServiceRequestError("odd"), ValueError("loop")
    first.__cause__, second.__cause__ = second, first
    got: list[Unreachable] = []
    worker = threading.Thread(target=lambda: got.append(network_failure(first, action="a")), daemon=True)
    worker.start()
    worker.join(5)
    assert got and got[0].host is None
    assert got[0].message == "a: cannot reach Azure Resource Manager: ServiceRequestError"


# ------------------------------------------------------------------------------------- looks_like_network


@pytest.mark.parametrize(
    "text",
    [
        "HTTPSConnection(host='login.microsoftonline.com', port=443)",
        "ConnectTimeoutError",
        "the request timed out",
        "Max retries exceeded with url: /token",
        "[SSL: CERTIFICATE_VERIFY_FAILED]",
        "certificate verify failed",
        "Temporary failure in name resolution",
        "EAI_AGAIN",
        "Failed to resolve 'login.microsoftonline.com'",
        "Name or service not known",
        "nodename nor servname provided",
        "getaddrinfo failed",
        "Connection refused",
        "the target machine actively refused it",
        "Network is unreachable",
        "No route to host",
    ],
)
def test_a_credentials_connection_failure_looks_like_the_network(text: str) -> None:
    assert looks_like_network(f"AzureCliCredential: {text}")
    assert looks_like_network(text.upper())
    assert looks_like_network(text.lower())


@pytest.mark.parametrize(
    "text",
    [
        "AzureCliCredential: Please run 'az login' to set up an account",
        "ClientSecretCredential: AADSTS7000215: Invalid client secret provided.",
        "ManagedIdentityCredential: no managed identity endpoint found",
        "",
    ],
)
def test_a_refusal_or_a_missing_login_does_not(text: str) -> None:
    assert not looks_like_network(text)
