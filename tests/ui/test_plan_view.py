"""The plan view, rendered at a fixed width into a string."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from rich.console import Console

from vmssroll.domain.model import Health, Instance
from vmssroll.domain.plan import plan_rollout
from vmssroll.domain.policy import effective
from vmssroll.ui.plan import plan_view


def render(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(plan_view(doc))
    return out.getvalue()


def document(
    n: int = 10,
    *,
    sick: tuple[int, ...] = (),
    behind: bool = True,
    everything: bool = False,
    notes: tuple[str, ...] = (),
    **policy: Any,
) -> dict[str, Any]:
    instances = [
        Instance(str(i), f"web_{i}", "123"[i % 3], not behind, "Succeeded",
                 Health.UNHEALTHY if i in sick else Health.HEALTHY)
        for i in range(n)
    ]  # fmt: skip
    plan = plan_rollout(
        instances, ("1", "2", "3"), effective(policy), batch_time=timedelta(minutes=5), everything=everything
    )
    header = {
        "scaleSet": {"id": "/x/web", "name": "web", "resourceGroup": "rg-demo", "zones": ["1", "2", "3"]},
        "mode": "Rolling",
        "proposed": bool(policy),
        "notes": list(notes),
    }
    return {**header, **plan.to_json()}


def test_zonal_plan() -> None:
    text = render(document())
    assert "web (rg-demo)" in text
    assert "stored, mode Rolling: batch 20%, unhealthy 20%, unhealthy upgraded 20%, pause PT0S" in text
    assert "10 of 10 behind the latest model; none unhealthy" in text
    assert "up to 2 (20% of 10)" in text
    assert "zone by zone" in text
    lines = text.splitlines()
    rows = [r for r in (line.split() for line in lines) if len(r) > 1 and r[0].isdigit() and r[1].isdigit()]
    assert [r[:4] for r in rows] == [
        ["1", "1", "0,", "3"],
        ["2", "1", "6,", "9"],
        ["3", "2", "1,", "4"],
        ["4", "2", "7", "1"],
        ["5", "3", "2,", "5"],
        ["6", "3", "8", "1"],
    ]
    assert "0 of 10 = 0%       up to 0 of 2" in text
    assert "0 of 10 = 0%       up to 2 of 10" in text
    assert "shrinks 2→" not in text
    assert "more than maxUnhealthyInstancePercent 20% and Azure refuses the batch" in " ".join(text.split())
    assert "6 batches would pass the health check before each batch." in text
    assert "Duration: at least 30m00s = 6 × 5m00s per batch + 5 × 0s pause." in text
    assert "Assumptions:" in text
    assert "- Azure does not publish its exact batching" in text
    assert "instances exist at once" not in text


def test_refused_plan_shows_the_arithmetic() -> None:
    text = render(document(sick=(4, 7, 8)))
    assert "3 unhealthy: 4, 7, 8" in text
    assert "3 of 10 = 30% refused" in text
    assert "3 unhealthy of 10 = 30% > limit 20%: Azure would fault the upgrade before batch 1" in " ".join(
        text.split()
    )
    assert "MaxUnhealthyInstancePercentExceededInRollingUpgrade" in text
    assert text.count("refused") == 1
    rows = [r for r in (line.split() for line in text.splitlines()) if r[:1] == ["1"]]
    assert len(rows) == 1 and rows[0][-1] == "-"  # only the refused batch, with no check after it
    assert "Duration" not in text


def test_shrunk_batches_are_marked() -> None:
    text = render(document(sick=(8,)))
    assert "1 of 10 = 10% shrinks 2→1" in text
    # cut from two or more left in the zone: 0, 3, 6 (zone 1), 1, 4 (zone 2), 2, 5 (zone 3)
    assert text.count("shrinks 2→1") == 7
    assert text.count("1 of 10 = 10%") == 10
    assert (
        "10 batches (7 shrunk by unhealthy instances) would pass the health check before each batch." in text
    )
    assert "Duration: at least 50m00s = 10 × 5m00s per batch + 9 × 0s pause." in text


def test_prioritized_marks_unhealthy_instances() -> None:
    text = render(document(sick=(2, 5, 7), prioritizeUnhealthyInstances=True, maxUnhealthyInstancePercent=50))
    assert "proposed, mode Rolling" in text
    assert "prioritize unhealthy" in text
    assert "7, 1 (unhealthy: 7)" in text


def test_max_surge() -> None:
    text = render(document(maxSurge=True, enableCrossZoneUpgrade=True))
    assert "across zones, by instance id" in text
    assert text.count("+2") == 5
    assert "MaxSurge: at most 12 instances exist at once." in text


def test_large_batches_are_shortened() -> None:
    text = render(document(1000, enableCrossZoneUpgrade=True))
    assert "200 (20% of 1000)" in text
    assert "0-199" in text
    assert "800-999" in text
    zonal = render(document(1000))
    assert "0, 3, 6, 9, 12, 15 …" in zonal
    assert "(+194)" in zonal
    assert "0 of 1000 = 0%" in zonal
    one = render(document(1000, sick=(1,)))  # 0.1%: room 200 - 1 = 199
    assert "1 of 1000 = 0.1% shrinks" in one and "200→199" in one
    assert "(+193)" in one


def test_nothing_behind() -> None:
    text = render(document(behind=False))
    assert "0 of 10 behind the latest model" in text
    assert "Nothing to upgrade: every instance runs the latest model." in text
    assert "--all" in text
    assert "Assumptions" not in text


def test_everything_and_notes() -> None:
    text = render(document(behind=False, everything=True, notes=("mode is Manual: no rolling by itself",)))
    assert "10 of 10 to re-image (--all)" in text
    assert "note: mode is Manual: no rolling by itself" in text
