"""ARM routes and their handlers (Microsoft.Compute scale sets, plus the few reads the tool needs)."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from . import arm, render
from .arm import ArmError, Response
from .automatic import AutomaticOS
from .engine import Engine
from .rolling import Roller
from .state import Instance, Operation, ScaleSet, World, canonical_enums, keep_protected_settings, merge
from .validate import validate_model

_READ_ONLY = ("id", "name", "type", "etag")
_READ_ONLY_PROPS = ("provisioningState", "uniqueId", "timeCreated")
HISTORY_PAGE = 10  # osUpgradeHistory entries per page (not verified: Azure's page size)


@dataclass
class Request:
    """A parsed ARM request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; never contains Authorization
    body: Any
    base_url: str

    @property
    def api_version(self) -> str:
        return self.query.get("api-version", "2026-04-01")


Handler = Callable[["Arm", Request, dict[str, str]], Response]
_VMSS_FILTER = re.compile(r"'?virtualMachineScaleSet/id'?\s+eq\s+'(?P<id>[^']+)'", re.IGNORECASE)
_S = r"^/subscriptions/(?P<sub>[^/]+)"
_V = (
    _S + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/virtualMachineScaleSets/(?P<name>[^/]+)"
)
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p + "/?$", re.IGNORECASE), h)
    for m, p, h in [
        ("GET", _S + r"/resourceGroups/(?P<rg>[^/]+)", "get_rg"),
        (
            "GET",
            _S + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/loadBalancers/(?P<lb>[^/]+)",
            "get_lb",
        ),
        (
            "GET",
            _S + r"/providers/Microsoft\.Features/providers/(?P<ns>[^/]+)/features/(?P<feature>[^/]+)",
            "get_feature",
        ),
        (
            "GET",
            _S + r"/providers/Microsoft\.Compute/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)",
            "get_operation",
        ),
        ("GET", _S + r"/providers/Microsoft\.Compute/virtualMachineScaleSets", "list_all"),
        ("GET", _S + r"/providers/Microsoft\.Compute/virtualMachines", "list_sub_vms"),
        (
            "GET",
            _S + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/virtualMachines",
            "list_rg_vms",
        ),
        (
            "GET",
            _S + r"/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Compute/virtualMachineScaleSets",
            "list_rg",
        ),
        ("GET", _V, "get_vmss"),
        ("PUT", _V, "put_vmss"),
        ("PATCH", _V, "patch_vmss"),
        ("GET", _V + r"/instanceView", "get_vmss_view"),
        ("GET", _V + r"/virtualMachines", "list_vms"),
        ("GET", _V + r"/virtualMachines/(?P<iid>[^/]+)", "get_vm"),
        ("GET", _V + r"/virtualMachines/(?P<iid>[^/]+)/instanceView", "get_vm_view"),
        ("POST", _V + r"/manualupgrade", "manual_upgrade"),
        ("GET", _V + r"/rollingUpgrades/latest", "get_latest"),
        ("POST", _V + r"/rollingUpgrades/cancel", "cancel"),
        ("POST", _V + r"/osRollingUpgrade", "os_upgrade"),
        ("POST", _V + r"/extensionRollingUpgrade", "extension_upgrade"),
        ("GET", _V + r"/osUpgradeHistory", "os_history"),
        ("POST", _V + r"/approveRollingUpgrade", "approve"),
    ]
]


class Arm:
    """Handlers over the world; the caller holds the lock and has advanced the engine."""

    def __init__(self, world: World, engine: Engine, page_size: int, speed: float = 1.0) -> None:
        self.world, self.engine, self.page_size = world, engine, page_size
        self.speed = (
            speed  # simulated seconds per real second: Retry-After is said in a client's (real) seconds
        )
        self.roller = Roller(engine)
        self.automatic = AutomaticOS(engine, self.roller)

    def dispatch(self, req: Request) -> Response:
        for method, pattern, name in ROUTES:
            m = pattern.match(req.path)
            if m and method == req.method:
                handler: Callable[[Request, dict[str, str]], Response] = getattr(self, name)
                return handler(req, m.groupdict())
        # not verified: ARM's wording for unknown routes varies by provider
        raise ArmError(
            404, "NotFound", f"No HTTP resource was found that matches the request URI '{req.path}'."
        )

    # --- lookups ---

    def _check_sub(self, sub: str) -> str:
        """The subscription as stored, or SubscriptionNotFound."""
        try:
            return self.world.subscription(sub)
        except KeyError:
            raise arm.subscription_not_found(sub) from None

    def _rg(self, sub: str, rg: str) -> dict[str, Any]:
        self._check_sub(sub)
        found = self.world.resource_groups.get((sub.lower(), rg.lower()))
        if found is None:
            raise arm.rg_not_found(rg)
        return found

    def _vmss(self, p: dict[str, str]) -> ScaleSet:
        self._rg(p["sub"], p["rg"])
        ss = self.world.scale_sets.get((p["sub"].lower(), p["rg"].lower(), p["name"].lower()))
        if ss is None:
            raise arm.vmss_not_found(p["rg"], p["name"])
        return ss

    # --- simple reads ---

    def get_rg(self, req: Request, p: dict[str, str]) -> Response:
        rg = self._rg(p["sub"], p["rg"])
        return Response(200, {
            "id": f"/subscriptions/{self._check_sub(p['sub'])}/resourceGroups/{rg['name']}",
            "name": rg["name"], "type": "Microsoft.Resources/resourceGroups", "location": rg["location"],
            "tags": rg.get("tags") or {}, "properties": {"provisioningState": "Succeeded"},
        })  # fmt: skip

    def get_lb(self, req: Request, p: dict[str, str]) -> Response:
        self._rg(p["sub"], p["rg"])
        body = self.world.load_balancers.get((p["sub"].lower(), p["rg"].lower(), p["lb"].lower()))
        if body is None:
            raise arm.resource_not_found("Microsoft.Network/loadBalancers", p["rg"], p["lb"])
        return Response(200, copy.deepcopy(body))

    def get_feature(self, req: Request, p: dict[str, str]) -> Response:
        sub = self._check_sub(p["sub"])
        name = f"{p['ns']}/{p['feature']}"
        return Response(200, {
            "id": f"/subscriptions/{sub}/providers/Microsoft.Features/providers/"
                  f"{p['ns']}/features/{p['feature']}",
            "name": name, "type": "Microsoft.Features/providers/features",
            "properties": {"state": self.world.feature_state(name)},
        })  # fmt: skip

    def list_all(self, req: Request, p: dict[str, str]) -> Response:
        """Every scale set of one subscription, paged by nextLink."""
        self._check_sub(p["sub"])
        sets = [s for k, s in self.world.scale_sets.items() if k[0] == p["sub"].lower()]
        return self._set_page(req, sets)

    def list_rg(self, req: Request, p: dict[str, str]) -> Response:
        self._rg(p["sub"], p["rg"])
        sets = [s for k, s in self.world.scale_sets.items() if k[:2] == (p["sub"].lower(), p["rg"].lower())]
        return self._set_page(req, sets)

    def _set_page(self, req: Request, sets: list[ScaleSet]) -> Response:
        try:
            start = int(req.query.get("$skiptoken", "0"))
        except ValueError as exc:
            raise arm.invalid_parameter("$skiptoken", "The skip token is not valid.") from exc
        body: dict[str, Any] = {"value": [render.vmss(s) for s in sets[start : start + self.page_size]]}
        if start + self.page_size < len(sets):
            q = f"api-version={quote(req.api_version)}&$skiptoken={start + self.page_size}"
            body["nextLink"] = f"{req.base_url}{req.path}?{q}"
        return Response(200, body)

    def get_vmss(self, req: Request, p: dict[str, str]) -> Response:
        ss = self._vmss(p)
        return Response(200, render.vmss(ss), {"ETag": render.etag(ss)})

    def get_vmss_view(self, req: Request, p: dict[str, str]) -> Response:
        return Response(200, render.vmss_instance_view(self.engine, self._vmss(p)))

    # --- VMs ---

    def list_vms(self, req: Request, p: dict[str, str]) -> Response:
        ss = self._vmss(p)
        if ss.flexible:
            raise arm.vmss_vm_api_on_flexible(ss.name)
        expand = "instanceview" in req.query.get("$expand", "").lower()
        try:
            start = int(req.query.get("$skiptoken", "0"))
        except ValueError as exc:
            raise arm.invalid_parameter("$skiptoken", "The skip token is not valid.") from exc
        insts = list(ss.instances.values())
        page = insts[start : start + self.page_size]
        source, key = self.engine.health_source(ss), ss.profile_key()
        body: dict[str, Any] = {"value": [render.vm(self.engine, ss, i, expand, source, key) for i in page]}
        if start + self.page_size < len(insts):
            q = f"api-version={quote(req.api_version)}&$skiptoken={start + self.page_size}"
            if "$expand" in req.query:
                q += f"&$expand={quote(req.query['$expand'])}"
            body["nextLink"] = f"{req.base_url}{req.path}?{q}"
        return Response(200, body)

    # --- Microsoft.Compute/virtualMachines: how Flexible members are listed ---

    def list_sub_vms(self, req: Request, p: dict[str, str]) -> Response:
        self._check_sub(p["sub"])
        return self._vm_page(req, p["sub"], None)

    def list_rg_vms(self, req: Request, p: dict[str, str]) -> Response:
        self._rg(p["sub"], p["rg"])
        return self._vm_page(req, p["sub"], p["rg"])

    def _vm_page(self, req: Request, sub: str, rg: str | None) -> Response:
        """Flexible members (attached VMs included) as plain VMs, filtered by
        `$filter='virtualMachineScaleSet/id' eq '{id}'` (only that filter; without one, every Flexible member
        in scope), paged by nextLink."""
        wanted = None
        if "$filter" in req.query:
            m = _VMSS_FILTER.fullmatch(req.query["$filter"].strip())
            if m is None:
                # not verified: the wording of Compute's refusal of an unsupported filter
                raise arm.invalid_parameter("$filter", "The filter expression is not supported.")
            wanted = m["id"].rstrip("/").lower()
        members = [
            (ss, inst)
            for ss in self.world.scale_sets.values()
            if ss.flexible and ss.sub.lower() == sub.lower() and (rg is None or ss.rg.lower() == rg.lower())
            if wanted is None or arm.vmss_id(ss.sub, ss.rg, ss.name).lower() == wanted
            for inst in ss.instances.values()
        ]
        try:
            start = int(req.query.get("$skiptoken", "0"))
        except ValueError as exc:
            raise arm.invalid_parameter("$skiptoken", "The skip token is not valid.") from exc
        expand = "instanceview" in req.query.get("$expand", "").lower()
        page = members[start : start + self.page_size]
        body: dict[str, Any] = {
            "value": [
                render.flexible_vm(self.engine, ss, i, expand, self.engine.health_source(ss))
                for ss, i in page
            ]
        }
        if start + self.page_size < len(members):
            q = {k: v for k, v in req.query.items() if k != "$skiptoken"}
            q["$skiptoken"] = str(start + self.page_size)
            body["nextLink"] = f"{req.base_url}{req.path}?" + "&".join(
                f"{quote(k, safe='$')}={quote(v)}" for k, v in q.items()
            )
        return Response(200, body)

    def _inst(self, ss: ScaleSet, p: dict[str, str]) -> Instance:
        inst = ss.instances.get(p["iid"])
        if inst is None:
            raise arm.resource_not_found(
                "Microsoft.Compute/virtualMachineScaleSets/virtualMachines", p["rg"], f"{ss.name}/{p['iid']}"
            )
        return inst

    def get_vm(self, req: Request, p: dict[str, str]) -> Response:
        ss = self._vmss(p)
        if ss.flexible:
            raise arm.vmss_vm_api_on_flexible(ss.name)
        expand = "instanceview" in req.query.get("$expand", "").lower()
        source, key = self.engine.health_source(ss), ss.profile_key()
        return Response(200, render.vm(self.engine, ss, self._inst(ss, p), expand, source, key))

    def get_vm_view(self, req: Request, p: dict[str, str]) -> Response:
        ss = self._vmss(p)
        if ss.flexible:
            raise arm.vmss_vm_api_on_flexible(ss.name)
        inst = self._inst(ss, p)
        return Response(200, render.vm_instance_view(self.engine, ss, inst, self.engine.health_source(ss)))

    # --- writes ---

    def _check_if_match(self, req: Request, ss: ScaleSet | None) -> None:
        if_match = req.headers.get("if-match")
        if if_match is not None and (ss is None or if_match.strip() not in ("*", render.etag(ss))):
            raise arm.precondition_failed()
        if req.headers.get("if-none-match", "").strip() == "*" and ss is not None:
            raise arm.precondition_failed()

    def _body_dict(self, req: Request) -> dict[str, Any]:
        if not isinstance(req.body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            )
        body = copy.deepcopy(req.body)
        for key in _READ_ONLY:
            body.pop(key, None)
        props = body.get("properties")
        if isinstance(props, dict):
            for key in _READ_ONLY_PROPS:
                props.pop(key, None)
        return body

    def _written(self, req: Request, ss: ScaleSet, status: int, was_rolling: bool = False) -> Response:
        """After a write: react to the model change and answer with an async operation.

        In Rolling mode (before or after the write) Azure takes minutes: the answer and every GET say
        provisioningState Updating, and the operation stays InProgress for the scale set's `timings.write`,
        its polls answered with Retry-After (FACTS.md). Otherwise it succeeds at the first poll."""
        capacity = (ss.model.get("sku") or {}).get("capacity")
        if isinstance(capacity, int) and capacity != len(ss.members()):
            self.engine.scale_to(ss, capacity)
        self._react(ss)
        op = self.world.new_operation("write", ss.location, self.engine.now)
        if (was_rolling or ss.mode == "Rolling") and ss.timings.write > 0:
            op.due = self.engine.now + timedelta(seconds=ss.timings.write)
            op.retry_after = ss.timings.write_retry_after
            self.engine.schedule(op.due, lambda: op.finish(self.engine.now))
            ss.write_op = op
        else:
            op.finish(self.engine.now)  # quick in Azure: succeeded on the first poll
        headers = {"Azure-AsyncOperation": self._op_url(req, ss, op.op_id), "ETag": render.etag(ss)}
        return Response(status, render.vmss(ss), headers)

    def _react(self, ss: ScaleSet) -> None:
        """Upgrade-policy reaction to a write: Rolling starts an upgrade, Automatic updates everyone."""
        mode = ss.mode
        if mode == "Rolling":
            ss.writes += 1
            if ss.timings.upgrade_start > 0:  # Azure takes a moment: latest still shows the upgrade before
                write = ss.writes

                def start_if_last() -> None:  # a later write starts its own clock
                    if write == ss.writes:
                        self._start_model_upgrade(ss)

                self.engine.after(ss.timings.upgrade_start, start_if_last)
            else:
                self._start_model_upgrade(ss)
        elif mode == "Automatic":
            self.engine.update_group(ss, [i for i in ss.behind() if i.phase == "idle"], None)
        self.automatic.consider(ss)  # automatic OS upgrades just turned on may find a newer image waiting

    def _start_model_upgrade(self, ss: ScaleSet) -> None:
        latest = ss.latest()
        if ss.mode == "Rolling" and (latest is None or not latest.active):
            self.roller.start(ss, "Model")

    def patch_vmss(self, req: Request, p: dict[str, str]) -> Response:
        ss = self._vmss(p)
        self._check_if_match(req, ss)
        was_rolling = ss.mode == "Rolling"
        new = merge(ss.model, self._body_dict(req))
        keep_protected_settings(ss.profile, (new.get("properties") or {}).get("virtualMachineProfile") or {})
        validate_model(self.engine, self.world, new, ss.model)
        canonical_enums(new)
        ss.model = new
        ss.etag += 1
        return self._written(req, ss, 200, was_rolling)

    def put_vmss(self, req: Request, p: dict[str, str]) -> Response:
        rg = self._rg(p["sub"], p["rg"])
        key = (p["sub"].lower(), p["rg"].lower(), p["name"].lower())
        ss = self.world.scale_sets.get(key)
        self._check_if_match(req, ss)
        body = self._body_dict(req)
        if not body.get("location"):
            raise arm.invalid_parameter("location", "The 'location' property is required.")
        validate_model(self.engine, self.world, body, ss.model if ss else None)
        canonical_enums(body)
        if ss is not None:
            was_rolling = ss.mode == "Rolling"
            ss.model = body
            ss.etag += 1
            return self._written(req, ss, 200, was_rolling)
        ss = ScaleSet(self._check_sub(p["sub"]), rg["name"], p["name"], body, self.engine.now)
        self.world.scale_sets[key] = ss
        return self._written(req, ss, 201)

    # --- long-running actions ---

    def _op_url(self, req: Request, ss: ScaleSet, op_id: str, monitor: bool = False) -> str:
        url = (
            f"{req.base_url}/subscriptions/{ss.sub}/providers/Microsoft.Compute/locations/{ss.location}"
            f"/operations/{op_id}?"
        )
        return url + ("monitor=true&" if monitor else "") + f"api-version={quote(req.api_version)}"

    def _accepted(self, req: Request, ss: ScaleSet, op_id: str) -> Response:
        """A POST action's answer as Azure gives it: 202, both operation URLs, no Retry-After (FACTS.md)."""
        return Response(
            202,
            None,
            {
                "Azure-AsyncOperation": self._op_url(req, ss, op_id),
                "Location": self._op_url(req, ss, op_id, monitor=True),
            },
        )

    def get_operation(self, req: Request, p: dict[str, str]) -> Response:
        self._check_sub(p["sub"])
        op = self.world.operations.get(p["op"])
        if op is None:
            raise arm.no_rolling_upgrade()
        if req.query.get("monitor", "").lower() != "true":
            return Response(200, render.operation(op), self._poll_after(op))
        if op.status == "InProgress":
            return Response(
                202, None, {"Location": req.base_url + req.path + "?" + _query(req), "Retry-After": "0"}
            )
        if op.status == "Succeeded":
            return Response(200, None)
        # not verified: the HTTP status a failed operation's Location answers with
        err = op.error or {"code": "OperationFailed", "message": "The operation failed."}
        raise ArmError(409 if op.status == "Canceled" else 400, err["code"], err["message"])

    def _poll_after(self, op: Operation) -> dict[str, str]:
        """A slow write's poll, while it runs: Retry-After, at most the write's own, never past its end (at
        least 1 s), in the client's seconds. not verified: how Azure chooses the value (recorded: up to
        ~97 s)."""
        if op.status != "InProgress" or op.due is None or op.retry_after is None:
            return {}
        left = (op.due - self.engine.now).total_seconds()
        seconds = max(1, math.ceil(min(op.retry_after, left)))
        return {"Retry-After": f"{seconds / self.speed:g}"}

    def manual_upgrade(self, req: Request, p: dict[str, str]) -> Response:
        ss = self._vmss(p)
        if ss.flexible:
            raise arm.manual_upgrade_on_flexible(ss.name)
        ids = (req.body or {}).get("instanceIds") if isinstance(req.body, dict) else None
        if not isinstance(ids, list) or not ids:
            raise arm.invalid_parameter(
                "instanceIds", "The 'instanceIds' list must contain at least one instance ID."
            )
        if "*" in [str(i) for i in ids]:  # Azure accepts ["*"] on Uniform: every instance
            ids = list(ss.instances)
        missing = [str(i) for i in ids if str(i) not in ss.instances]
        if missing:
            raise arm.invalid_parameter("instanceIds", f"Instance IDs not found: {', '.join(missing)}.")
        key = ss.profile_key()
        insts = [ss.instances[str(i)] for i in ids]
        insts = [i for i in insts if i.profile_key != key and i.phase == "idle" and not i.attached]
        op = self.world.new_operation("manualupgrade", ss.location, self.engine.now)
        self.engine.update_group(ss, insts, op)
        return self._accepted(req, ss, op.op_id)

    def get_latest(self, req: Request, p: dict[str, str]) -> Response:
        ss = self._vmss(p)
        up = ss.latest()
        if up is None:
            raise arm.no_rolling_upgrade()
        return Response(200, render.rolling_status(self.engine, ss, up))

    def cancel(self, req: Request, p: dict[str, str]) -> Response:
        ss = self._vmss(p)
        op = self.world.new_operation("cancel", ss.location, self.engine.now)
        try:
            self.roller.cancel(ss, op)
        except ArmError:
            del self.world.operations[op.op_id]
            raise
        return self._accepted(req, ss, op.op_id)

    def _start(self, req: Request, p: dict[str, str], kind: str) -> Response:
        ss = self._vmss(p)
        latest = ss.latest()
        if latest is not None and latest.active:
            raise arm.upgrade_already_running(ss.name)
        op = self.world.new_operation(f"{kind}RollingUpgrade", ss.location, self.engine.now)
        self.roller.start(ss, kind, op)
        return self._accepted(req, ss, op.op_id)

    def os_upgrade(self, req: Request, p: dict[str, str]) -> Response:
        ss = self._vmss(p)
        image = (ss.profile.get("storageProfile") or {}).get("imageReference") or {}
        custom = any(image.get(k) for k in ("id", "sharedGalleryImageId", "communityGalleryImageId"))
        if custom or not all(image.get(k) for k in ("publisher", "offer", "sku")):  # not a platform image
            raise arm.custom_image_os_upgrade()
        return self._start(req, p, "OS")

    def extension_upgrade(self, req: Request, p: dict[str, str]) -> Response:
        return self._start(req, p, "Extension")

    def os_history(self, req: Request, p: dict[str, str]) -> Response:
        """The OS upgrades (started by a user or by the platform), newest first, paged by nextLink."""
        ss = self._vmss(p)
        ups = [u for u in reversed(ss.upgrades) if u.kind == "OS"]
        try:
            start = max(0, int(req.query.get("$skiptoken", "0")))
        except ValueError as exc:
            raise arm.invalid_parameter("$skiptoken", "The skip token is not valid.") from exc
        page = ups[start : start + HISTORY_PAGE]
        body: dict[str, Any] = {"value": [render.os_history_entry(self.engine, ss, u) for u in page]}
        if start + HISTORY_PAGE < len(ups):
            q = f"api-version={quote(req.api_version)}&$skiptoken={start + HISTORY_PAGE}"
            body["nextLink"] = f"{req.base_url}{req.path}?{q}"
        return Response(200, body)

    def approve(self, req: Request, p: dict[str, str]) -> Response:
        """approveRollingUpgrade: the deferred OS upgrade runs, for every pending instance or those named.
        Answers 202 with a Location to poll, as the official example shows, until the upgrade it lets run
        ends."""
        ss = self._vmss(p)
        ids: list[str] | None = None
        if isinstance(req.body, dict) and req.body.get("instanceIds") is not None:
            given = req.body["instanceIds"]
            if not isinstance(given, list) or not all(isinstance(i, str) for i in given):
                raise arm.invalid_parameter(
                    "instanceIds", "The 'instanceIds' value must be a list of strings."
                )
            ids = None if "*" in given or not given else list(given)
        elif req.body is not None and not isinstance(req.body, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            )
        op = self.world.new_operation("approveRollingUpgrade", ss.location, self.engine.now)
        try:
            self.automatic.approve(ss, ids, op)
        except ArmError:
            del self.world.operations[op.op_id]
            raise
        return Response(202, None, {"Location": self._op_url(req, ss, op.op_id, monitor=True)})


def _query(req: Request) -> str:
    return "&".join(f"{quote(k, safe='$')}={quote(v)}" for k, v in req.query.items())
