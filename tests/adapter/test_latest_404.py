"""A 404 on `rollingUpgrades/latest` whose text names the scale set: "no upgrade has run yet" when the scale
set exists, "no such scale set" when it does not, whichever of the reads sent together answers first."""

from __future__ import annotations

import pytest

from tests.helpers import azure, ref
from vmssroll.domain.errors import NotFound


def _naming_404(emu, name: str = "web") -> None:
    emu.faults.add(
        kind="status",
        status=404,
        method="GET",
        path_regex=r"/rollingUpgrades/latest$",
        code="ResourceNotFound",
        message=f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/{name}' under resource group "
        "'rg-demo' was not found.",
    )


def test_answered_before_the_scale_set_was_asked_the_scale_set_is_read_then(emu):
    # The state a status command is in when the latest upgrade's 404 comes back before its own thread has
    # begun the scale-set read sent together with it.
    _naming_404(emu)
    client = azure(emu)
    emu.clear_requests()
    assert client.latest_upgrade(ref(emu)) is None
    assert [r.path.rsplit("/", 1)[-1] for r in emu.requests] == ["latest", "web"]


def test_for_a_scale_set_that_is_missing_it_is_not_found(emu):
    _naming_404(emu, "gone")
    client = azure(emu)
    with pytest.raises(NotFound):
        client.latest_upgrade(ref(emu, "gone"))


def test_after_a_failed_read_of_the_scale_set_it_is_not_read_again(emu):
    _naming_404(emu, "gone")
    client = azure(emu)
    with pytest.raises(NotFound):
        client.scale_set(ref(emu, "gone"))
    emu.clear_requests()
    with pytest.raises(NotFound):
        client.latest_upgrade(ref(emu, "gone"))
    assert [r.path.rsplit("/", 1)[-1] for r in emu.requests] == ["latest"]
