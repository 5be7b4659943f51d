"""The live view at a fixed width at the end of an upgrade: the header (Azure's status) and the instance
tables never disagree silently; the tables are fresh (re-listed after the end) or say they are stale."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from vmssroll.cli.watching import Listing, Snapshot
from vmssroll.domain.model import Health, Instance
from vmssroll.domain.rollout import STATES as ROLLOUT_STATES
from vmssroll.domain.rollout import summarize
from vmssroll.domain.upgrade import Progress, UpgradeStatus, verdict
from vmssroll.ui.watch import view

WIDTH = 100
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
END = START + timedelta(minutes=10)
STATES = tuple(ROLLOUT_STATES)  # the zone table's columns, in order


def fleet(
    *, behind: frozenset[int] = frozenset(), failed: frozenset[int] = frozenset()
) -> tuple[Instance, ...]:
    return tuple(
        Instance(
            str(i), f"web_{i}", "123"[i % 3], i not in behind, "Succeeded",
            Health.UNHEALTHY if i in failed else Health.HEALTHY,
            image={"version": "1.0.0" if i in behind else "2.0.0"},
        )
        for i in range(10)
    )  # fmt: skip


def status(code: str, progress: Progress, error: str | None = None) -> UpgradeStatus:
    return UpgradeStatus(
        code=code,
        last_action="Start",
        start_time=START,
        last_action_time=END,
        progress=progress,
        error_code=error,
        error_message="the upgraded instances breached the limit" if error else None,
        policy={"maxBatchInstancePercent": 20},
    )


def screen(snap: Snapshot) -> str:
    """What LiveSink draws for this refresh, at a fixed width without colour."""
    out = io.StringIO()
    rendered = view(
        name="web",
        status=snap.status,
        verdict=verdict(snap.status),
        summary=snap.summary,
        instances=snap.instances,
        recent=(),
        batch=None,
        now=snap.at,
        eta=None,
        notice=None,
        age=snap.age,
        stale=snap.stale,
    )
    Console(file=out, width=WIDTH, color_system=None).print(rendered)
    return out.getvalue()


def zone_rows(text: str) -> dict[str, dict[str, int]]:
    """The "All instances by zone" table, read back from the screen."""
    tail = text.split("All instances by zone", 1)[1]
    rows = {}
    for line in tail.splitlines():
        cells = re.findall(r"\S+", re.sub(r"[│┃|]", " ", line))
        if len(cells) == 1 + len(STATES) and all(c.isdigit() for c in cells):
            rows[cells[0]] = dict(zip(STATES, map(int, cells[1:]), strict=True))
    return rows


def snapshot(
    state: UpgradeStatus, instances: tuple[Instance, ...], *, listed_while_running: bool
) -> Snapshot:
    listed_at = END - timedelta(seconds=42) if listed_while_running else END
    listing = Listing(instances, summarize(instances), listed_at, listed_while_running, 1, {})
    return Snapshot(status=state, at=END, listing=listing, fresh=not listed_while_running)


COMPLETED = status("Completed", Progress(successful=10))
FAULTED = status(
    "Faulted", Progress(successful=6, failed=1, pending=3), "MaxUnhealthyUpgradedInstancePercentExceeded"
)


@pytest.mark.parametrize(
    ("case", "state", "instances", "failed_row"),
    [
        ("completed", COMPLETED, fleet(), set()),
        ("faulted", FAULTED, fleet(behind=frozenset({7, 8, 9}), failed=frozenset({6})), {"6"}),
    ],
)
def test_a_listing_made_after_the_end_agrees_with_the_header(case, state, instances, failed_row) -> None:
    text = screen(snapshot(state, instances, listed_while_running=False))
    assert all(len(line) <= WIDTH for line in text.splitlines()), case
    header = text.splitlines()[0]
    assert header.startswith(f"web  {state.code}  {state.progress.percent}%"), header
    assert "stale" not in text and "Instances as of just now" in text, case
    zones = zone_rows(text)
    assert set(zones) == {"1", "2", "3"}, text
    total = {s: sum(z[s] for z in zones.values()) for s in STATES}
    p = state.progress
    # The tables count what the header counts: Azure's successes are on the latest model, its failures failed,
    # its pending instances still behind; nothing is in flight once the upgrade has ended.
    assert total == {"onLatestModel": p.successful, "updating": 0, "initializing": 0, "failed": p.failed,
                     "healthUnknown": 0, "noHealthSignal": 0, "behind": p.pending}, (case, text)  # fmt: skip
    matter = text.split("Instances that matter now", 1)[1].split("All instances by zone", 1)[0]
    assert {m for m in re.findall(r"^\W*(\d+)\s", matter, re.M)} == failed_row, (case, matter)
    if state.error_code:
        assert state.error_code in text


@pytest.mark.parametrize("state", [COMPLETED, FAULTED], ids=["completed", "faulted"])
def test_a_listing_from_before_the_end_is_marked_stale_beside_the_final_header(state) -> None:
    """Three instances behind in a listing made while it ran: never shown as if current beside the verdict."""
    text = screen(snapshot(state, fleet(behind=frozenset({7, 8, 9})), listed_while_running=True))
    assert text.splitlines()[0].startswith(f"web  {state.code}"), text
    assert "Instances as of 42s ago, before the upgrade ended: stale" in re.sub(r"\s+", " ", text), text
    assert sum(z["behind"] for z in zone_rows(text).values()) == 3  # the old counts, said to be old
