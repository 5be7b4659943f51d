"""Fleet targets through ARM: every scale set of each subscription (`list_all`, one client per subscription),
listed together, kept as the fleet's members."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmssroll.domain.fleet import Fleet, Member, matches, member_of
from vmssroll.domain.model import ScaleSet

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure

MAX_LISTED = 50_000  # scale sets read from one subscription's list before it is called endless


@dataclass(frozen=True)
class Resolved:
    """The fleet's targets as Azure lists them now, each with the model the list returned."""

    members: tuple[Member, ...]  # the targets, in listing order (subscription, resource group, name)
    models: Mapping[str, ScaleSet]  # lower-case id -> the listed model (tags hold each set's rollout record)
    listed: int  # scale sets listed in all, targets or not

    def model(self, member: Member) -> ScaleSet:
        return self.models[member.id.lower()]


def list_scale_sets(azure: Azure) -> list[ScaleSet]:
    """Every scale set of the client's subscription (`virtual_machine_scale_sets.list_all`, every page)."""
    from vmssroll.adapter.convert import scale_set_from_rest
    from vmssroll.adapter.errors import azure_errors, unreadable

    action = f"listing the scale sets of subscription {azure.conn.subscription}"
    found: list[ScaleSet] = []
    with azure_errors(action):
        for item in azure.client.virtual_machine_scale_sets.list_all():
            as_dict = getattr(item, "as_dict", None)
            if as_dict is None:
                raise unreadable(action, f"a {type(item).__name__} where a scale set was expected")
            found.append(scale_set_from_rest(dict(as_dict())))
            if len(found) > MAX_LISTED:
                raise unreadable(action, f"more than {MAX_LISTED} scale sets (an endless list?)")
    return found


def resolve(fleet: Fleet, clients: Mapping[str, Azure]) -> Resolved:
    """List every subscription of the fleet at once (one client each) and keep the sets that are targets. A
    subscription that cannot be listed fails the whole resolution: a fleet with a part unknown is no plan."""
    from vmssroll.adapter.parallel import together

    subscriptions = list(fleet.targets.subscriptions)
    listed = together(*(lambda sub=sub: list_scale_sets(clients[sub]) for sub in subscriptions))
    models: dict[str, ScaleSet] = {}
    members: dict[str, Member] = {}
    total = 0
    for sets in listed:
        for ss in sets:
            total += 1
            member = member_of(ss)
            if matches(fleet.targets, member):
                members[member.id.lower()] = member
                models[member.id.lower()] = ss
    ordered = tuple(sorted(members.values(), key=lambda m: m.key))
    return Resolved(ordered, models, total)
