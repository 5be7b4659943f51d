"""Health signals of a scale set, instance health counts, and the load balancer probe id read apart."""

from __future__ import annotations

import pytest

from vmssroll.domain.errors import ExitCode, exit_codes_text
from vmssroll.domain.health import count_health, parse_probe_id
from vmssroll.domain.model import Health, Instance

LB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb-web"


@pytest.mark.parametrize(
    ("probe_id", "parsed"),
    [
        (f"{LB}/probes/http", (LB, "http")),
        (f"{LB}/probes/http/", (LB, "http")),
        (f"{LB}/probes/probeX", (LB, "probeX")),  # only slashes are stripped from the ends
        (f"{LB.lower()}/PROBES/Http", (LB.lower(), "Http")),  # case kept as given, matched without it
        ("Microsoft.Network/loadBalancers/lb/probes/p", ("/Microsoft.Network/loadBalancers/lb", "p")),
        (f"{LB}/backendAddressPools/pool", None),  # not a probe
        (f"{LB}/probes", None),
        (f"{LB}/probes/http/extra", None),
        (LB.replace("Microsoft.Network", "Microsoft.Compute") + "/probes/http", None),
        ("loadBalancers/lb/probes/http", None),  # no provider before it
        (
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationGateways/gw/probes/p",
            None,
        ),
        ("", None),
    ],
)
def test_a_load_balancer_probe_id(probe_id: str, parsed: tuple[str, str] | None) -> None:
    assert parse_probe_id(probe_id) == parsed


def test_health_counts() -> None:
    instances = [
        Instance("10", "a", None, False, None, Health.UNHEALTHY),
        Instance("2", "b", None, False, None, Health.UNKNOWN),
        Instance("1", "c", None, True, None, Health.HEALTHY),
        Instance("3", "d", None, None, None, Health.SILENT),
    ]
    counts = count_health(instances)
    assert (counts.total, counts.unhealthy, counts.healthy, counts.behind) == (4, 2, 1, ("2", "10"))
    assert counts.to_json() == {
        "total": 4,
        "healthy": 1,
        "unhealthy": 1,
        "initializing": 0,
        "unknown": 1,
        "silent": 1,
        "notOnLatestModel": ["2", "10"],
    }


def test_the_exit_codes_in_the_apps_help() -> None:
    assert exit_codes_text() == (
        "Exit codes: 0 ok/Completed, 1 unexpected, 2 bad input (nothing sent), 3 not ready or refused, "
        "4 Azure failed the request, 5 Faulted, 6 Cancelled, 7 timed out, 8 conflict, 9 authentication, "
        "130 interrupted."
    )
    assert ExitCode.FAULTED.meaning == "Faulted"
