"""Progressive rollouts, the pure part: the record in tags, checkpoints from Azure's counts, the gates' rule,
and the step that decides what a rollout does next."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from vmssroll.domain.errors import ExitCode, InvalidInput
from vmssroll.domain.progressive import (
    TAG_VALUE_MAX,
    Action,
    GateRun,
    Gates,
    Kind,
    Phase,
    Record,
    crossed,
    next_checkpoint,
    parse_checkpoints,
    share_upgraded,
    standing,
    step,
    writable_image,
)
from vmssroll.domain.upgrade import Progress, UpgradeStatus

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LONG_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/" + "r" * 90 + "/providers/"
    "Microsoft.Compute/galleries/" + "g" * 80 + "/images/" + "i" * 80 + "/versions/1.0.0"
)


def record(**changes) -> Record:
    base = Record("20260105T090000Z", Kind.IMAGE, Phase.ROLLING, 10, checkpoints=(10, 50))
    return Record(**{**base.__dict__, **changes})


def status(code="RollingForward", ok=0, failed=0, running=0, pending=0, action="Start", start=T0, error=None):
    return UpgradeStatus(code, action, start, start, Progress(ok, failed, running, pending), error_code=error)


# The record -------------------------------------------------------------------------------------------------


def test_the_record_goes_to_tags_and_back_keeping_other_tags() -> None:
    rec = record(passed=(10,), phase=Phase.PAUSED, previous={"publisher": "p", "version": "1"}, reason="why")
    tags = rec.to_tags({"env": "demo", "owner": "team"})
    assert tags["env"] == "demo" and tags["owner"] == "team"
    assert tags["vmssroll.phase"] == "paused" and tags["vmssroll.passed"] == "10"
    assert Record.from_tags(tags) == rec
    assert rec.paused_at == 10 and rec.can_undo


def test_a_long_image_id_is_split_over_several_tags_of_at_most_256_characters() -> None:
    rec = record(previous={"id": LONG_ID}, target={"id": LONG_ID.replace("1.0.0", "2.0.0")})
    tags = rec.to_tags()
    assert all(len(v) <= TAG_VALUE_MAX for v in tags.values())
    assert "vmssroll.previous.2" in tags
    assert Record.from_tags(tags) == rec


def test_stale_chunks_of_an_earlier_record_are_blanked_and_ignored() -> None:
    first = record(previous={"id": LONG_ID}).to_tags({"env": "x"})
    second = record(id="next", previous={"publisher": "p"}).to_tags(first)
    assert second["vmssroll.previous.2"] == ""  # blanked, not left out (a merging PATCH would keep it)
    merged = first | second
    found = Record.from_tags(merged)
    assert found is not None and found.previous == {"publisher": "p"} and found.id == "next"


def test_no_record_and_a_broken_record() -> None:
    assert Record.from_tags({"env": "demo"}) is None
    assert Record.from_tags({"vmssroll.rollout": ""}) is None
    with pytest.raises(InvalidInput, match="rollout record"):
        Record.from_tags({"vmssroll.rollout": "x", "vmssroll.kind": "image", "vmssroll.phase": "sideways"})
    with pytest.raises(InvalidInput, match="rollout record"):
        Record.from_tags(
            {
                "vmssroll.rollout": "x",
                "vmssroll.kind": "image",
                "vmssroll.phase": "paused",
                "vmssroll.total": "ten",
            }
        )


def test_an_os_rollout_has_nothing_to_undo() -> None:
    assert not record(kind=Kind.OS, previous=None).can_undo
    assert not record(previous=None).can_undo


def test_writable_image_drops_what_azure_computes() -> None:
    image = {"publisher": "p", "offer": "o", "sku": "s", "version": "1", "exactVersion": "1.0.0"}
    assert writable_image(image) == {"publisher": "p", "offer": "o", "sku": "s", "version": "1"}


# Input ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "parsed"),
    [([], ()), (["10%"], (10,)), (["50", "10%", "10"], (10, 50)), ([" 99 % "], (99,)), (["1%"], (1,))],
)
def test_checkpoints_parse(given, parsed) -> None:
    assert parse_checkpoints(given) == parsed


@pytest.mark.parametrize("bad", ["0%", "100%", "-5%", "ten", "10.5%", "", "%"])
def test_bad_checkpoints_are_refused(bad) -> None:
    with pytest.raises(InvalidInput, match="--checkpoint"):
        parse_checkpoints([bad])


# Progress and checkpoints -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "progress", "share"),
    [
        (10, Progress(0, 0, 2, 8), Fraction(0)),
        (10, Progress(2, 0, 2, 6), Fraction(1, 5)),
        (10, Progress(2, 1, 0, 7), Fraction(1, 5)),  # a failed instance is not upgraded
        (10, Progress(1, 0, 2, 5), Fraction(3, 10)),  # a restarted model upgrade: 2 done before it
        (10, Progress(10, 0, 0, 0), Fraction(1)),
        (10, Progress(12, 0, 0, 0), Fraction(1)),  # never more than all
        (0, Progress(), Fraction(1)),
    ],
)
def test_share_upgraded(total, progress, share) -> None:
    assert share_upgraded(total, progress) == share


@pytest.mark.parametrize(
    ("checkpoints", "passed", "share", "reached", "following"),
    [
        ((10, 50), (), Fraction(0), (), 10),
        ((10, 50), (), Fraction(1, 10), (10,), 10),  # reaching exactly is reaching
        ((10, 50), (), Fraction(9, 100), (), 10),
        ((10, 50), (10,), Fraction(2, 10), (), 50),
        ((10, 50), (), Fraction(6, 10), (10, 50), 10),  # one refresh jumps over both
        ((10, 50), (10, 50), Fraction(1), (), None),
        ((), (), Fraction(1), (), None),
    ],
)
def test_checkpoints_crossed(checkpoints, passed, share, reached, following) -> None:
    assert crossed(checkpoints, passed, share) == reached
    assert next_checkpoint(checkpoints, passed) == following


# Gates ------------------------------------------------------------------------------------------------------


def run(command: str, ok: bool, output: str = "") -> GateRun:
    return GateRun(command, 0 if ok else 1, output)


@pytest.mark.parametrize(
    ("history", "limit", "tripped"),
    [
        ([[False], [False]], 3, None),
        ([[False], [False], [False]], 3, "a"),
        ([[False], [False], [True], [False], [False]], 3, None),  # a pass resets the count
        ([[False]], 1, "a"),
        ([[True, False], [False, False], [False, True]], 2, "a"),  # gate a: 2 in a row; b was reset
        ([[True, False], [True, False]], 2, "b"),
    ],
)
def test_consecutive_failures_of_one_gate_trip(history, limit, tripped) -> None:
    gates = Gates(("a", "b")[: len(history[0])], limit)
    for round_ in history:
        gates = gates.after([run(c, ok) for c, ok in zip(("a", "b"), round_, strict=False)])
    found = gates.tripped
    assert (found.command if found else None) == tripped


def test_gates_passing_needs_a_run_of_every_gate() -> None:
    gates = Gates(("a", "b"), 3)
    assert not gates.passing
    gates = gates.after([run("a", True), run("b", True)])
    assert gates.passing
    assert not gates.after([run("a", True), run("b", False)]).passing
    assert Gates((), 3).passing


def test_a_gate_run_says_how_it_went_with_its_last_line_of_output() -> None:
    assert run("curl -f x", False, "a\nHTTP 503\n").line() == "gate `curl -f x` failed (exit 1): HTTP 503"
    assert GateRun("sleep 99", None, "").line() == "gate `sleep 99` timed out"
    assert run("true", True).line() == "gate `true` passed"
    assert run("true", True).to_json()["ok"] is True


# The step ---------------------------------------------------------------------------------------------------

TRIPPED = Gates(("check",), 1).after([run("check", False, "bad release")])
FINE = Gates(("check",), 1).after([run("check", True)])

STEPS = [
    # record, status, gates, baking, bake_left, stale, action, exit code
    (record(), status(ok=0, running=1, pending=9), FINE, False, 0, None, Action.CONTINUE, ExitCode.OK),
    (record(), status(ok=1, running=1, pending=8), FINE, False, 0, None, Action.PAUSE, ExitCode.OK),
    (record(passed=(10,)), status(ok=4, running=1, pending=5), FINE, False, 0, None, Action.CONTINUE, ExitCode.OK),
    (record(passed=(10,)), status(ok=5, pending=5), FINE, False, 0, None, Action.PAUSE, ExitCode.OK),
    (record(), status(ok=1, running=1, pending=8), TRIPPED, False, 0, None, Action.STOP, ExitCode.FAULTED),
    (record(), status("Completed", ok=10), FINE, False, 0, None, Action.BAKE, ExitCode.OK),
    (record(), status("Completed", ok=10), FINE, True, 60, None, Action.CONTINUE, ExitCode.OK),
    (record(), status("Completed", ok=10), FINE, True, 0, None, Action.DONE, ExitCode.OK),
    (record(), status("Completed", ok=10), TRIPPED, True, 60, None, Action.STOP, ExitCode.FAULTED),
    (record(), status("Faulted", ok=2, failed=3, error="MaxUnhealthy"), FINE, False, 0, None, Action.AZURE_STOPPED, ExitCode.FAULTED),
    (record(), status("Cancelled", ok=2, pending=8, action="Cancel"), FINE, False, 0, None, Action.CANCELLED, ExitCode.CANCELLED),
    (record(), status("Cancelled", ok=2, pending=8, action="Cancel"), FINE, False, 0, T0, Action.CONTINUE, ExitCode.OK),
    (record(), status(ok=2, running=2, pending=6, action="Cancel"), FINE, False, 0, None, Action.CONTINUE, ExitCode.OK),
    (record(), None, FINE, False, 0, None, Action.CONTINUE, ExitCode.OK),
]  # fmt: skip


@pytest.mark.parametrize(("rec", "st", "gates", "baking", "left", "stale", "action", "code"), STEPS)
def test_step(rec, st, gates, baking, left, stale, action, code) -> None:
    found = step(rec, st, gates, baking=baking, bake_left=left, stale_start=stale)
    assert (found.action, found.exit_code) == (action, code)
    assert found.ends_following is (action is not Action.CONTINUE)


def test_a_pause_names_the_highest_checkpoint_reached() -> None:
    found = step(record(), status(ok=6, running=2, pending=2), FINE)
    assert found.checkpoints == (10, 50) and found.message == "checkpoint 50% reached"


def test_a_stop_names_the_gate_and_its_output() -> None:
    found = step(record(), status(ok=1, running=1, pending=8), TRIPPED)
    assert found.message == "gate `check` failed (exit 1): bad release 1 time(s) in a row while rolling"


@pytest.mark.parametrize(
    ("rec", "st", "line"),
    [
        (None, None, "no rollout recorded"),
        (
            record(phase=Phase.PAUSED, passed=(10,)),
            status("Cancelled"),
            "paused at 10%; resume with `vmssroll resume`",
        ),
        (record(), status("Faulted"), "stopped by Azure: the upgrade Faulted"),
        (record(), status("Cancelled"), "stopped: the upgrade was cancelled"),
        (record(phase=Phase.STOPPED, reason="gate x"), status("Cancelled"), "stopped by a gate: gate x"),
        (record(), status(), "rolling (latest upgrade: RollingForward)"),
        (record(phase=Phase.DONE), status("Completed"), "done (latest upgrade: Completed)"),
    ],
)
def test_standing_reads_the_record_beside_the_upgrade(rec, st, line) -> None:
    assert standing(rec, st) == line


def test_the_gates_summary_names_the_failing_ones_with_their_streak() -> None:
    assert Gates((), 3).summary() is None
    assert Gates(("a", "b"), 3).summary() is None  # not run yet
    gates = Gates(("a", "b"), 3).after([run("a", True), run("b", False, "down")])
    assert gates.summary() == "gate `b` failed (exit 1): down (1 in a row)"
    assert gates.after([run("a", True), run("b", True)]).summary() == "2 of 2 gate(s) passing"
    rec = record(gates=gates.summary())
    assert Record.from_tags(rec.to_tags()) == rec


def test_a_gate_runs_document_and_its_line_cut_to_200_characters() -> None:
    slow = GateRun("sleep 99", None, "  \n ", seconds=1.23456)
    assert slow.to_json() == {
        "gate": "sleep 99",
        "ok": False,
        "exitCode": None,
        "timedOut": True,
        "output": "  \n ",
        "seconds": 1.235,
    }
    assert slow.line() == "gate `sleep 99` timed out"  # blank output: no tail
    failed = GateRun("check", 2, "x" * 300)
    assert failed.to_json()["timedOut"] is False and failed.to_json()["exitCode"] == 2
    assert failed.line() == "gate `check` failed (exit 2): " + "x" * 200


def test_gates_summary_names_each_failing_gate_with_its_streak() -> None:
    gates = Gates(("a", "b", "c"), 3).after([run("a", False, "down"), run("b", True), run("c", False)])
    gates = gates.after([run("a", False, "still down"), run("b", True), run("c", False)])
    assert gates.summary() == (
        "gate `a` failed (exit 1): still down (2 in a row); gate `c` failed (exit 1) (2 in a row)"
    )
    assert Gates(("a",), 3).after([run("a", True)]).summary() == "1 of 1 gate(s) passing"
    assert Gates(("a",), 3).summary() is None


def test_the_records_tags_exactly() -> None:
    rec = record(
        passed=(10, 50),
        checkpoints=(10, 50, 75),
        target={"version": "2", "offer": "o"},
        reason="r" * 700,
        gates="g" * 700,
        write="w1",
    )
    tags = rec.to_tags()
    assert tags == {
        "vmssroll.rollout": "20260105T090000Z",
        "vmssroll.kind": "image",
        "vmssroll.phase": "rolling",
        "vmssroll.total": "10",
        "vmssroll.checkpoints": "10,50,75",
        "vmssroll.passed": "10,50",
        "vmssroll.write": "w1",
        "vmssroll.target": '{"offer":"o","version":"2"}',  # compact, keys sorted: the same value each write
        # reason and gates are cut to two tags' worth
        "vmssroll.reason": "r" * 256,
        "vmssroll.reason.2": "r" * 256,
        "vmssroll.gates": "g" * 256,
        "vmssroll.gates.2": "g" * 256,
    }
    # an image reference is never cut: it is split over as many tags as it needs
    long = record(previous={"id": LONG_ID * 3}).to_tags()
    assert len("".join(v for k, v in long.items() if k.startswith("vmssroll.previous"))) > 3 * 256


def test_the_rollout_document_status_shows() -> None:
    from vmssroll.domain.progressive import rollout_document

    rec = record(phase=Phase.ROLLING, previous={"version": "1"}, target={"version": "2"})
    doc = rollout_document(rec.to_tags({"env": "x"}), None)
    assert doc == {
        "record": rec.to_json(),
        "standing": "rolling (latest upgrade: none)",
        "undoRestores": {"version": "1"},
    }
    assert rollout_document({"env": "x"}, None) is None
    broken = {"vmssroll.rollout": "x", "vmssroll.kind": "image", "vmssroll.phase": "sideways"}
    unread = rollout_document(broken, None)
    assert unread is not None and unread["record"] is None and unread["undoRestores"] is None
    assert unread["standing"].startswith(
        "unknown: the scale set's rollout record (tags vmssroll.*) cannot be read: "
    )
    assert "sideways" in unread["standing"]  # the reason read, quoted


T1 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("st", "baking", "left", "stale", "action", "text"),
    [
        (None, True, 0.0, None, Action.DONE, "Rollout done: Completed and baked with every gate passing"),
        (None, True, 30.0, None, Action.CONTINUE, "baking"),
        (status("Completed", ok=10), False, 0.0, None, Action.BAKE, "Completed"),
        # the upgrade left behind ended Completed: not this rollout's end
        (status("Completed", ok=10, start=T0), False, 0.0, T0, Action.CONTINUE, "waiting for the upgrade to start"),
        # a newer upgrade than the one left behind: its end is this rollout's
        (status("Completed", ok=10, start=T1), False, 0.0, T0, Action.BAKE, "Completed"),
        (status("Faulted", error="MaxUnhealthy"), False, 0.0, None, Action.AZURE_STOPPED,
         "Azure stopped the upgrade (Faulted: MaxUnhealthy)"),
        (status("Faulted"), False, 0.0, None, Action.AZURE_STOPPED, "Azure stopped the upgrade (Faulted)"),
        (status("Cancelled"), False, 0.0, None, Action.CANCELLED, "the upgrade was cancelled outside this rollout"),
    ],
)  # fmt: skip
def test_step_words(st, baking, left, stale, action, text) -> None:
    found = step(record(), st, FINE, baking=baking, bake_left=left, stale_start=stale)
    assert (found.action, found.message) == (action, text)
