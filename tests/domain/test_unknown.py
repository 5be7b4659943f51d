"""A supplementary read that failed: the line a user sees, and which failures leave a part unknown."""

from __future__ import annotations

import pytest

from vmssroll.domain.errors import (
    AuthFailed,
    AzureRequestFailed,
    Conflict,
    InvalidInput,
    NotFound,
    TimedOut,
    Unreachable,
    VmssrollError,
)
from vmssroll.domain.unknown import Unknown, is_supplementary_failure, known


@pytest.mark.parametrize(
    ("err", "line"),
    [
        (
            AzureRequestFailed("refused", code="AuthorizationFailed", status=403),
            "instances: unknown (listing refused: 403 AuthorizationFailed)",
        ),
        (AzureRequestFailed("gone", status=404), "instances: unknown (listing refused: 404)"),
        (AzureRequestFailed("bad", status=499), "instances: unknown (listing refused: 499)"),
        (
            AzureRequestFailed("busy", code="TooManyRequests", status=429),
            "instances: unknown (listing throttled: 429 TooManyRequests)",
        ),
        (AzureRequestFailed("busy", status=429), "instances: unknown (listing throttled: 429)"),
        (
            AzureRequestFailed("down", code="InternalServerError", status=500),
            "instances: unknown (listing failed: 500 InternalServerError)",
        ),
        (AzureRequestFailed("down", status=503), "instances: unknown (listing failed: 503)"),
        (
            Unreachable("connection refused", retryable=True),
            "instances: unknown (listing failed: no answer from Azure)",
        ),
        (
            AzureRequestFailed("stopped", code="OperationTimedOut"),
            "instances: unknown (listing stopped: OperationTimedOut)",
        ),
        (
            AzureRequestFailed("no status, empty code", code=""),
            "instances: unknown (listing failed: no answer from Azure)",
        ),
    ],
)
def test_the_reason_names_the_failure_by_its_status(err: VmssrollError, line: str) -> None:
    unknown = Unknown.of("instances", "listing", err)
    assert unknown.part == "instances"
    assert unknown.line() == line


def test_the_part_and_the_verb_are_the_callers() -> None:
    err = AzureRequestFailed("refused", code="AuthorizationFailed", status=403)
    assert Unknown.of("health", "reading the instance views", err).line() == (
        "health: unknown (reading the instance views refused: 403 AuthorizationFailed)"
    )


@pytest.mark.parametrize(
    ("err", "supplementary"),
    [
        (AzureRequestFailed("busy", status=429), True),
        (AzureRequestFailed("down", status=500), True),
        (NotFound("gone", status=404), True),
        (Conflict("changed", status=409), True),
        (Unreachable("refused", retryable=False), True),
        # 403: the role may lack this one permission; the command goes on without the part
        (AuthFailed("forbidden", status=403), True),
        # 401: the credential itself was refused; every other request fails the same way
        (AuthFailed("expired", status=401), False),
        (AuthFailed("no credential"), False),
        (InvalidInput("bad"), False),
        (TimedOut("late"), False),
        (VmssrollError("bug"), False),
    ],
)
def test_which_failures_leave_a_part_unknown(err: VmssrollError, supplementary: bool) -> None:
    assert is_supplementary_failure(err) is supplementary


def test_known_is_the_value_or_none() -> None:
    assert known(Unknown("instances", "listing refused: 403")) is None
    assert known([1, 2]) == [1, 2]
    assert known(0) == 0
