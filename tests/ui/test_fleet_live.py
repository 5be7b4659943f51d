"""The fleet's live view at a fixed size: 200 scale sets on one screen, the ones that matter first."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from vmssroll.domain.fleetrun import SetRow, SetState, WaveSpec, summary
from vmssroll.ui.fleet_live import view

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def render(renderable, width: int = 120, height: int = 40) -> str:
    console = Console(file=io.StringIO(), width=width, height=height, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def fleet_of_200() -> tuple[list[WaveSpec], list[SetRow]]:
    waves, rows = [], []
    states = {"canary": [SetState.DONE] * 2, "ring": [SetState.DONE] * 30 + [SetState.ROLLING] * 8
              + [SetState.FAULTED] + [SetState.COMPLETED] * 5 + [SetState.PENDING] * 4}  # fmt: skip
    states["rest"] = [SetState.PENDING] * (200 - sum(len(v) for v in states.values()))
    for wave, found in states.items():
        keys = []
        for i, state in enumerate(found):
            name = f"{wave}-{i:03d}"
            keys.append(name)
            percent = 40 if state is SetState.ROLLING else None
            rows.append(SetRow(wave, name, "rg-web", "sub", "eastus", state, percent, "Faulted" if
                               state is SetState.FAULTED else "", "2/5"))  # fmt: skip
        waves.append(WaveSpec(wave, tuple(keys)))
    return waves, rows


def test_200_sets_fit_one_screen_with_the_rolling_and_failed_ones_first() -> None:
    waves, rows = fleet_of_200()
    states = {r.name: r.state for r in rows}
    text = render(
        view(
            title="Fleet web-3.1: image version 3.1.0",
            waves=summary(waves, states),
            rows=rows,
            current="ring",
            now=NOW,
            height=40,
        )
    )
    lines = text.splitlines()
    assert len(lines) <= 40
    assert lines[0] == "Fleet web-3.1: image version 3.1.0 · 2026-01-05T09:30:00Z"
    assert "▶ ring" in text and "30/48" in text and "2/2" in text
    body = [line for line in lines if line.startswith(("canary ", "ring ", "rest "))]
    assert [line.split()[1] for line in body[:9]] == [f"ring-{i:03d}" for i in range(30, 38)] + ["ring-038"]
    assert "rolling" in body[0] and "40%" in body[0] and body[0].endswith("2/5") and "faulted" in body[8]
    assert "2/5" not in body[8]  # a batch only while it rolls
    assert lines[-1].startswith("… and ") and "more:" in lines[-1]
    shown, rest = len(body), int(lines[-1].split()[2])
    assert shown + rest == 200


def test_a_small_fleet_shows_every_set() -> None:
    waves = [WaveSpec("only", ("a", "b"))]
    rows = [SetRow("only", "a", "rg", "sub", "westus2", SetState.DONE, 100),
            SetRow("only", "b", "rg", "sub", "westus2", SetState.STARTING, 0, "image version 2 sent")]  # fmt: skip
    text = render(view(title="Fleet f", waves=summary(waves, {"a": SetState.DONE, "b": SetState.STARTING}),
                       rows=rows, current="only", now=NOW))  # fmt: skip
    assert "more:" not in text
    assert text.index(" b ") < text.index(" a ")  # the one starting first
    assert "image version 2 sent" in text
