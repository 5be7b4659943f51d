"""Fleet targets through ARM: every scale set of each subscription (`list_all`, one client per subscription),
listed together (`Azure.list_all`), the targets kept as the fleet's members."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmssroll.domain.fleet import Fleet, Member, matches, member_of
from vmssroll.domain.model import ScaleSet

if TYPE_CHECKING:
    from vmssroll.adapter.client import Azure


@dataclass(frozen=True)
class Resolved:
    """The fleet's targets as Azure lists them now, each with the model the list returned."""

    members: tuple[Member, ...]  # the targets, in listing order (subscription, resource group, name)
    models: Mapping[str, ScaleSet]  # lower-case id -> the listed model (tags hold each set's rollout record)
    listed: int  # scale sets listed in all, targets or not

    def model(self, member: Member) -> ScaleSet:
        return self.models[member.id.lower()]


def resolve(fleet: Fleet, clients: Mapping[str, Azure]) -> Resolved:
    """List every subscription of the fleet at once (one client each) and keep the sets that are targets. A
    subscription that cannot be listed fails the whole resolution: a fleet with a part unknown is no plan."""
    from vmssroll.adapter.parallel import together

    subscriptions = list(fleet.targets.subscriptions)
    listed = together(*(lambda sub=sub: clients[sub].list_all().value for sub in subscriptions))
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
