"""The 1,000-instance scenario: every instance listed once, pages of the configured size."""

from __future__ import annotations

from tests.emulator.emu_helpers import START, make_client
from vmssroll.emulator import Emulator, ManualClock


def test_thousand_instances_are_listed_with_correct_paging() -> None:
    with Emulator(clock=ManualClock(start=START), scenario="large", page_size=100) as emu:
        client = make_client(emu)
        vms = list(client.virtual_machine_scale_set_vms.list("rg-large", "fleet", expand="instanceView"))
        assert [v.instance_id for v in vms] == [str(i) for i in range(1000)]
        assert {v.zones[0] for v in vms} == {"1", "2", "3"}
        assert all(v.instance_view.vm_health.status.code == "HealthState/healthy" for v in vms)
        pages = [r for r in emu.requests if r.path.endswith("/virtualMachines")]
        assert len(pages) == 10
        assert [r.query.get("$skiptoken") for r in pages] == [None, *[str(n * 100) for n in range(1, 10)]]
        assert all(r.query.get("$expand") == "instanceView" for r in pages)
