"""The adapter's POST actions (cancel, start, manualupgrade) when Azure answers, refuses, or the answer is
lost: a POST is never sent twice; a lost answer is read back (the latest upgrade, or the instances) and
counts as accepted only when that shows it took effect, said on the log; a Ctrl-C during a write says whether
it was sent. The real SDK against the emulator and its faults."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from azure.core.exceptions import ServiceResponseError

from tests.conftest import lro_pollers
from tests.helpers import azure, push_image, ref, set_rolling
from vmssroll.adapter.client import interrupted_write
from vmssroll.domain.errors import AzureRequestFailed, Conflict, WriteInterrupted


def posts(emu: Any) -> list[Any]:
    return [r for r in emu.requests if r.method == "POST"]


def latest_reads(emu: Any) -> int:
    return len([r for r in emu.requests if r.method == "GET" and r.path.endswith("/rollingUpgrades/latest")])


def took_effect(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if "took effect" in r.getMessage()]


@pytest.fixture
def upgrading(emu: Any) -> Any:
    set_rolling(emu)
    push_image(emu, "2.0.0")
    return emu


def test_cancel_sends_one_post_and_leaves_no_poller(upgrading):
    client = azure(upgrading)
    upgrading.clear_requests()
    before = lro_pollers()
    client.cancel(ref(upgrading))
    assert lro_pollers() - before == set()
    [sent] = posts(upgrading)
    assert sent.path.endswith("/web/rollingUpgrades/cancel") and latest_reads(upgrading) == 0
    latest = client.latest_upgrade(ref(upgrading))
    assert latest is not None and (latest.last_action or "").lower() == "cancel"


def test_a_cancel_whose_answer_is_lost_is_read_back_and_said(upgrading, caplog):
    upgrading.faults.add(kind="drop", method="POST", after_commit=True, count=1)
    upgrading.clear_requests()
    with caplog.at_level(logging.INFO, logger="vmssroll.adapter"):
        azure(upgrading).cancel(ref(upgrading))
    assert len(posts(upgrading)) == 1 and latest_reads(upgrading) == 1
    assert took_effect(caplog) == [
        "cancelling the rolling upgrade of web: no answer, but the latest upgrade shows it took effect"
    ]


def test_a_refused_cancel_is_not_read_back(emu):
    emu.clear_requests()
    with pytest.raises(Conflict) as caught:
        azure(emu).cancel(ref(emu))  # no upgrade running: Azure's 409
    assert caught.value.message.startswith("cancelling the rolling upgrade of web: ")
    assert len(posts(emu)) == 1 and latest_reads(emu) == 0


def test_a_start_lost_before_it_landed_is_the_lost_answer(emu, caplog):
    emu.load_scenario("demo")  # a platform image: OS upgrades need one
    set_rolling(emu)
    emu.faults.add(kind="drop", method="POST", count=1)
    emu.clear_requests()
    with (
        caplog.at_level(logging.INFO, logger="vmssroll.adapter"),
        pytest.raises(AzureRequestFailed) as caught,
    ):
        azure(emu).start(ref(emu), "os")
    assert caught.value.message.startswith("starting the os rolling upgrade of web: ")
    assert isinstance(caught.value.__cause__, ServiceResponseError)
    assert len(posts(emu)) == 1 and latest_reads(emu) == 1  # read back, not sent again
    assert took_effect(caplog) == []


def test_a_lost_answer_that_cannot_be_read_back_is_the_lost_answer(upgrading):
    upgrading.faults.add(kind="drop", method="POST", after_commit=True, count=1)
    upgrading.faults.add(kind="status", status=400, method="GET", path_regex="/rollingUpgrades/latest$")
    upgrading.clear_requests()
    with pytest.raises(AzureRequestFailed) as caught:
        azure(upgrading).cancel(ref(upgrading))
    upgrading.faults.clear()
    assert caught.value.message.startswith("cancelling the rolling upgrade of web: ")
    assert isinstance(caught.value.__cause__, ServiceResponseError)  # not the read-back's 400
    assert len(posts(upgrading)) == 1 and latest_reads(upgrading) == 1


# manualupgrade ----------------------------------------------------------------------------------------------


@pytest.fixture
def behind(emu: Any) -> Any:
    push_image(emu, "2.0.0")  # Manual mode: every instance is behind the model
    return emu


def test_a_manual_upgrade_sends_the_ids_and_returns_azures_operation(behind):
    client = azure(behind)
    behind.clear_requests()
    before = lro_pollers()
    url = client.manual_upgrade(ref(behind), ["0", "1"])
    assert lro_pollers() - before == set()
    [sent] = posts(behind)
    assert sent.path.endswith("/web/manualupgrade") and sent.body == {"instanceIds": ["0", "1"]}
    assert url is not None and "/operations/" in url


def test_a_manual_upgrade_whose_answer_is_lost_is_judged_by_the_instances(behind, caplog):
    behind.faults.add(kind="drop", method="POST", after_commit=True, count=1)
    behind.clear_requests()
    with caplog.at_level(logging.INFO, logger="vmssroll.adapter"):
        assert azure(behind).manual_upgrade(ref(behind), ["0", "1"]) is None
    assert len(posts(behind)) == 1
    assert took_effect(caplog) == [
        "upgrading instance(s) 0, 1 of web: no answer, but the instances show it took effect"
    ]


def test_a_manual_upgrade_lost_before_it_landed_is_the_lost_answer(behind):
    behind.faults.add(kind="drop", method="POST", count=1)
    behind.clear_requests()
    with pytest.raises(AzureRequestFailed) as caught:
        azure(behind).manual_upgrade(ref(behind), ["0"])
    assert caught.value.message.startswith("upgrading instance(s) 0 of web: ")
    assert isinstance(caught.value.__cause__, ServiceResponseError) and len(posts(behind)) == 1


def test_a_manual_upgrade_lost_with_the_instances_unreadable_is_the_lost_answer(behind):
    behind.faults.add(kind="drop", method="POST", after_commit=True, count=1)
    behind.faults.add(kind="status", status=400, method="GET", path_regex="/virtualMachines$")
    with pytest.raises(AzureRequestFailed) as caught:
        azure(behind).manual_upgrade(ref(behind), ["0"])
    behind.faults.clear()
    assert isinstance(caught.value.__cause__, ServiceResponseError)


def test_a_refused_manual_upgrade_is_not_read_back(behind):
    behind.clear_requests()
    with pytest.raises(AzureRequestFailed) as caught:
        azure(behind).manual_upgrade(ref(behind), ["0", "99"])
    assert caught.value.message.startswith("upgrading instance(s) 0, 99 of web: ")
    assert "99" in caught.value.message.split(": ", 1)[1]
    assert [r.method for r in behind.requests] == ["POST"]


# Ctrl-C during a write --------------------------------------------------------------------------------------


def test_ctrl_c_before_a_write_was_sent_says_nothing_changed(emu):
    with pytest.raises(WriteInterrupted) as caught, interrupted_write(ref(emu), []):
        raise KeyboardInterrupt
    assert caught.value.message == "interrupted before the update of web was sent: nothing was changed"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_ctrl_c_after_a_write_was_sent_says_how_to_check(emu):
    with pytest.raises(WriteInterrupted) as caught, interrupted_write(ref(emu), [True]):
        raise KeyboardInterrupt
    assert caught.value.message == (
        "interrupted after the update of web was sent: Azure may have applied it. Check with "
        "`vmssroll status -g rg-demo -n web` (and `vmssroll policy show -g rg-demo -n web`) before re-running; "
        "nothing was cancelled"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with interrupted_write(ref(emu), [True]):
        pass  # no Ctrl-C: nothing said
