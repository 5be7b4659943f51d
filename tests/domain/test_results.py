"""The JSON documents of the commands' results, errors and records, and the words of a write's wait: each
field checked by name and value (a renamed key or a dropped value is a change of the output contract)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from vmssroll.domain import policy as rules
from vmssroll.domain.errors import (
    AzureRequestFailed,
    Conflict,
    InvalidInput,
    NotReady,
    VmssrollError,
    WriteInterrupted,
)
from vmssroll.domain.model import Extension, ScaleSet, UpgradePolicy
from vmssroll.domain.prereq import evaluate
from vmssroll.domain.prereq.report import Facts, Purpose, Status
from vmssroll.domain.progressive import Kind, Phase, Record
from vmssroll.domain.results import PolicyShow, PolicyValidation
from vmssroll.domain.unknown import Unknown
from vmssroll.domain.writing import WriteProgress, accepted_line, finished_line, waiting_line

SET_ID = "/subscriptions/s/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachineScaleSets/web"
PROBE = "/subscriptions/s/resourceGroups/rg-demo/providers/Microsoft.Network/loadBalancers/lb/probes/http"


def scale_set(**kw: Any) -> ScaleSet:
    base = ScaleSet(
        id=SET_ID,
        name="web",
        resource_group="rg-demo",
        location="westeurope",
        orchestration_mode="Uniform",
        capacity=4,
        zones=("1", "2"),
        overprovision=True,
        sku="Standard_D2s_v5",
        etag='"7"',
        upgrade_policy=UpgradePolicy(None),
        health_probe_id=None,
        extensions=(),
        external_health=False,
        image={},
        provisioning_state="Succeeded",
    )
    return replace(base, **kw)


# PolicyShow --


def test_policy_show_document_of_a_set_with_nothing_stored() -> None:
    doc = PolicyShow.of(scale_set()).to_json()
    assert doc == {
        "scaleSet": {
            "id": SET_ID,
            "name": "web",
            "resourceGroup": "rg-demo",
            "location": "westeurope",
            "orchestrationMode": "Uniform",
            "capacity": 4,
            "zones": ["1", "2"],
            "overprovision": True,
            "etag": '"7"',
            "provisioningState": "Succeeded",
        },
        "mode": "Manual",
        "modeIsDefault": True,
        "rollingUpgradePolicy": {f.rest: f.default for f in rules.FIELDS},
        "defaults": [f.rest for f in rules.FIELDS],
        "automaticOSUpgradePolicy": {f.rest: False for f in rules.OS_FIELDS},
        "automaticOSUpgradeDefaults": [f.rest for f in rules.OS_FIELDS],
        "extensions": [],
        "healthSources": [],
    }


def test_policy_show_document_marks_what_is_stored() -> None:
    health = Extension(
        "HealthExtension",
        "Microsoft.ManagedServices",
        "ApplicationHealthLinux",
        "2.0",
        automatic_upgrade=True,
        auto_upgrade_minor_version=False,
    )
    ss = scale_set(
        upgrade_policy=UpgradePolicy(
            "Rolling",
            # one field changed, one set to its default (still "default"), the rest unset
            {"maxBatchInstancePercent": 50, "maxUnhealthyInstancePercent": 20},
            {"enableAutomaticOSUpgrade": True, "useRollingUpgradePolicy": False},
        ),
        extensions=(health,),
        health_probe_id=PROBE,
    )
    doc = PolicyShow.of(ss).to_json()
    assert doc["mode"] == "Rolling" and doc["modeIsDefault"] is False
    assert doc["rollingUpgradePolicy"]["maxBatchInstancePercent"] == 50
    assert "maxBatchInstancePercent" not in doc["defaults"]
    assert "maxUnhealthyInstancePercent" in doc["defaults"]
    assert len(doc["defaults"]) == len(rules.FIELDS) - 1
    assert doc["automaticOSUpgradePolicy"]["enableAutomaticOSUpgrade"] is True
    assert doc["automaticOSUpgradeDefaults"] == [
        f.rest
        for f in rules.OS_FIELDS
        if f.rest not in ("enableAutomaticOSUpgrade", "useRollingUpgradePolicy")
    ]
    assert doc["extensions"] == [
        {
            "name": "HealthExtension",
            "publisher": "Microsoft.ManagedServices",
            "type": "ApplicationHealthLinux",
            "typeHandlerVersion": "2.0",
            "enableAutomaticUpgrade": True,
            "autoUpgradeMinorVersion": False,
        }
    ]
    assert doc["healthSources"] == [
        {"kind": "probe", "detail": PROBE},
        {"kind": "extension", "detail": "HealthExtension (ApplicationHealthLinux 2.0)"},
    ]


# PolicyValidation --

WARNING = rules.Finding("warning", "rollingUpgradePolicy.x", "a warning", "a fix")
ERROR = rules.Finding("error", "rollingUpgradePolicy.y", "an error", "another fix")


@pytest.mark.parametrize(
    ("policy", "findings", "valid"),
    [
        ({"maxBatchInstancePercent": 20}, (), True),
        ({"maxBatchInstancePercent": 20}, (WARNING,), True),
        ({"maxBatchInstancePercent": 20}, (WARNING, ERROR), False),
        (None, (), False),
    ],
)
def test_policy_validation_document(
    policy: dict[str, Any] | None, findings: tuple[rules.Finding, ...], valid: bool
) -> None:
    doc = PolicyValidation(policy, findings, SET_ID).to_json()
    assert doc == {
        "valid": valid,
        "policy": policy,
        "findings": [
            {"severity": f.severity, "field": f.field, "message": f.message, "fix": f.fix} for f in findings
        ],
        "scaleSet": SET_ID,
    }
    assert PolicyValidation(policy, findings).to_json()["scaleSet"] is None


# Record --


def test_record_document() -> None:
    record = Record(
        "20260105T090000Z",
        Kind.IMAGE,
        Phase.PAUSED,
        10,
        checkpoints=(10, 50),
        passed=(10,),
        previous={"version": "3.0.0"},
        target={"version": "3.1.0"},
        reason="paused at 10%",
        gates="curl: passed",
        write="w1",
    )
    assert record.to_json() == {
        "id": "20260105T090000Z",
        "kind": "image",
        "phase": "paused",
        "total": 10,
        "checkpoints": [10, 50],
        "passed": [10],
        "pausedAt": 10,
        "previous": {"version": "3.0.0"},
        "target": {"version": "3.1.0"},
        "reason": "paused at 10%",
        "gates": "curl: passed",
    }
    bare = Record("r2", Kind.OS, Phase.ROLLING, 3).to_json()
    assert (bare["kind"], bare["phase"], bare["checkpoints"], bare["passed"]) == ("os", "rolling", [], [])
    assert (bare["pausedAt"], bare["previous"], bare["target"], bare["reason"], bare["gates"]) == (None,) * 5


# Errors --


@pytest.mark.parametrize(
    ("err", "code", "exit_code"),
    [
        (VmssrollError("it broke"), "UnexpectedError", 1),
        (InvalidInput("it broke"), "InvalidInput", 2),
        (NotReady("it broke", hint="fix it"), "NotReady", 3),
        (AzureRequestFailed("it broke", code="OperationNotAllowed", status=409), "OperationNotAllowed", 4),
        (Conflict("it broke"), "Conflict", 8),
    ],
)
def test_error_document(err: VmssrollError, code: str, exit_code: int) -> None:
    assert err.to_json() == {
        "error": {"code": code, "message": "it broke", "exitCode": exit_code, "hint": err.hint}
    }


def test_error_document_joins_every_problem() -> None:
    err = rules.PolicyInvalid([WARNING, ERROR])
    doc = err.to_json()["error"]
    assert doc["message"] == "a warning; an error"
    assert doc["code"] == "PolicyInvalid" and doc["exitCode"] == 2


def test_write_interrupted_keeps_its_message() -> None:
    err = WriteInterrupted("the change was sent; check it with vmssroll status")
    assert err.message == str(err) == "the change was sent; check it with vmssroll status"
    assert isinstance(err, KeyboardInterrupt)


# Writing --


def test_words_of_a_write_wait() -> None:
    p = WriteProgress("web", "Updating", 72.0)
    assert waiting_line(p) == "Waiting for Azure to finish updating web (provisioningState Updating) · 1m12s"
    assert (
        waiting_line(p, elapsed=False)
        == "Waiting for Azure to finish updating web (provisioningState Updating)"
    )
    assert finished_line(p) == "Azure finished updating web after 1m12s"
    follow = "vmssroll status -g rg -n web"
    assert accepted_line("web", "Updating", follow) == (
        "Azure accepted the change to web (provisioningState Updating); not waiting for it to finish. "
        f"Follow it with: {follow}"
    )
    assert accepted_line("web", None, follow) == (
        f"Azure accepted the change to web; not waiting for it to finish. Follow it with: {follow}"
    )


# Prerequisites not verified --

UNLISTED = Unknown("instances", "listing refused: 403 AuthorizationFailed")


@pytest.mark.parametrize("orchestration", ["Uniform", "Flexible"])
def test_rules_that_need_the_instances_are_not_verified_when_they_cannot_be_listed(
    orchestration: str,
) -> None:
    report = evaluate(
        Purpose.ROLLING, Facts(scale_set(orchestration_mode=orchestration), instances_unknown=UNLISTED)
    )
    unknown = {r.name: r for r in report.rules if r.status is Status.UNKNOWN}
    expected = {"instance-health", "latest-model", "unhealthy-share"}
    assert set(unknown) == (expected | {"attached-vms"} if orchestration == "Flexible" else expected)
    for rule in unknown.values():
        assert rule.message == "not verified: instances: unknown (listing refused: 403 AuthorizationFailed)"
        assert rule.evidence == {"unknown": "listing refused: 403 AuthorizationFailed"}
        assert rule.fix is None
    assert report.unknown == (UNLISTED,)


def test_a_prerequisite_reports_document_names_the_set_and_what_was_not_read() -> None:
    report = evaluate(Purpose.ROLLING, Facts(scale_set(), instances_unknown=UNLISTED))
    doc = report.to_json()
    assert (doc["ready"], doc["for"], doc["scaleSet"]) == (report.ready, "rolling", "web")
    assert doc["unknown"] == {"instances": "listing refused: 403 AuthorizationFailed"}
    assert doc["rules"] == [r.to_json() for r in report.rules]


def test_a_change_laid_over_a_file_keeps_the_files_automatic_os_fields() -> None:
    from_file = rules.PolicyChange(
        mode="Rolling",
        rolling={"maxBatchInstancePercent": 10},
        automatic_os={"enableAutomaticOSUpgrade": True},
    )
    flags = rules.PolicyChange(automatic_os={"useRollingUpgradePolicy": True})
    merged = flags.over(from_file)
    assert merged.mode == "Rolling" and merged.rolling == {"maxBatchInstancePercent": 10}
    assert merged.automatic_os == {"enableAutomaticOSUpgrade": True, "useRollingUpgradePolicy": True}


# Errors: values shown in messages, exit codes, transient failures --


class Raw:
    """A value whose repr carries control characters as they are."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


@pytest.mark.parametrize(
    ("value", "limit", "text"),
    [
        ("abc", 40, "'abc'"),
        (42, 40, "42"),
        (None, 40, "None"),
        ("x" * 50, 40, repr("x" * 40) + " (… 10 more characters)"),
        ("x" * 40, 40, repr("x" * 40)),
        ("abcdef", 3, "'abc' (… 3 more characters)"),
        ("a\x1b[31mred", 40, "'a\\x1b[31mred'"),  # repr escapes them already
        ("\u202eevil", 40, "'\\u202eevil'"),
        (Raw("a\x1b[2J\u202e"), 40, "a\\u001b[2J\\u202e"),  # a repr that does not: escaped here
    ],
)
def test_shown_quotes_cuts_and_escapes(value: Any, limit: int, text: str) -> None:
    from vmssroll.domain.errors import shown

    assert shown(value, limit) == text


def test_has_control() -> None:
    from vmssroll.domain.errors import has_control

    assert has_control("a\x00b") and has_control("\x9f") and has_control("\u2066") and has_control("\x7f")
    assert not has_control("plain text é ✓") and not has_control("\u2065") and not has_control("\u202f")


def test_exit_codes_text_lists_every_code_with_its_meaning() -> None:
    from vmssroll.domain.errors import exit_codes_text

    assert exit_codes_text() == (
        "Exit codes: 0 ok/Completed, 1 unexpected, 2 bad input (nothing sent), 3 not ready or refused, "
        "4 Azure failed the request, 5 Faulted, 6 Cancelled, 7 timed out, 8 conflict, 9 authentication, "
        "130 interrupted."
    )


@pytest.mark.parametrize(
    ("status", "transient"),
    [(None, True), (408, True), (429, True), (500, True), (502, True), (503, True), (504, True),
     (400, False), (404, False), (409, False), (501, False)],
)  # fmt: skip
def test_which_azure_failures_are_transient(status: int | None, transient: bool) -> None:
    assert AzureRequestFailed("x", status=status).transient is transient


def test_an_unreachable_host_is_transient_only_when_retryable() -> None:
    from vmssroll.domain.errors import Unreachable

    err = Unreachable("no route", hint="check the network", host="management.azure.com", retryable=False)
    assert (err.transient, err.host, err.hint, err.status, err.exit_code) == (
        False,
        "management.azure.com",
        "check the network",
        None,
        4,
    )
    assert Unreachable("reset", retryable=True).transient is True


def test_an_errors_fields() -> None:
    err = VmssrollError("m", code="C", status=409, hint="h", request_id="r")
    assert (str(err), err.message, err.code, err.status, err.hint, err.request_id) == (
        "m",
        "m",
        "C",
        409,
        "h",
        "r",
    )
    bare = VmssrollError("m")
    assert (bare.code, bare.status, bare.hint, bare.request_id) == (None, None, None, None)
