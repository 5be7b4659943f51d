"""What a write sets in motion, rendered at a fixed width into a string."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from tests.domain.test_consequence import MODEL, TO_AUTOMATIC, UNKNOWN, fleet, scale_set
from vmssroll.domain.consequence import consequence
from vmssroll.ui.consequence import consequence_view


def render(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    Console(file=out, width=110, color_system=None).print(consequence_view(doc))
    return out.getvalue()


def test_a_rolling_upgrade_comes_with_its_plan():
    text = render(consequence(scale_set("Rolling"), fleet(0), None, MODEL).to_json())
    assert (
        "What this sets in motion: starts a rolling upgrade of 10 instances in 5 batches of 2 (plan below)."
        in text
    )
    assert "unhealthy before" in text and "5 batches would pass" in text


def test_no_plan_no_plan_below_and_unsure_says_why():
    text = render(consequence(scale_set("Rolling"), UNKNOWN, None, TO_AUTOMATIC).to_json())
    assert "(plan below)" not in text
    assert "Not sure: the instances could not be read (listing throttled: 429 TooManyRequests)." in text
