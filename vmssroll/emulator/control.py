"""The control API under /_emulator: request log, clock, scenario, faults, stored state."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import arm
from .arm import Response
from .scenarios import ScenarioError

if TYPE_CHECKING:
    from .app import Emulator

PREFIX = "/_emulator"
_FAULT_FIELDS = {
    "kind", "status", "method", "path_regex", "count", "probability", "seed", "retry_after", "delay",
    "after_commit", "code", "message",
}  # fmt: skip


def _bad(message: str, status: int = 400) -> Response:
    return Response(status, arm.envelope("BadRequest" if status == 400 else "NotFound", message))


def handle(emu: Emulator, method: str, path: str, body: Any) -> Response:
    """Dispatch one control call."""
    sub = path[len(PREFIX) :].rstrip("/") or "/"
    if sub == "/requests" and method == "GET":
        return Response(200, [r.as_json() for r in emu.requests])
    if sub == "/requests" and method == "DELETE":
        emu.clear_requests()
        return Response(200, {"cleared": True})
    if sub == "/clock" and method == "GET":
        with emu.lock:
            emu._advance()
            return Response(200, {"now": arm.iso(emu.clock.now())})
    if sub == "/clock/advance" and method == "POST":
        seconds = (body or {}).get("seconds") if isinstance(body, dict) else None
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            return _bad('body must be {"seconds": N} with N >= 0')
        emu.clock.advance(float(seconds))
        with emu.lock:
            emu._advance()
            return Response(200, {"now": arm.iso(emu.clock.now())})
    if sub == "/scenario" and method == "POST":
        if not isinstance(body, dict):
            return _bad('body must be a scenario or {"name": ...}')
        source: Any = body["name"] if set(body) == {"name"} else body
        try:
            emu.load_scenario(source, paths=False)
        except ScenarioError as exc:
            return _bad(str(exc))
        return Response(
            200, {"subscription_id": emu.subscription_id, "subscription_ids": emu.subscription_ids}
        )
    if sub == "/faults" and method == "POST":
        if not isinstance(body, dict) or set(body) - _FAULT_FIELDS:
            return _bad(f"a fault rule is an object with fields among: {', '.join(sorted(_FAULT_FIELDS))}")
        try:
            rule = emu.faults.add(**body)
        except (TypeError, ValueError, re.error) as exc:
            return _bad(str(exc))
        return Response(201, rule.describe())
    if sub == "/faults" and method == "DELETE":
        emu.faults.clear()
        return Response(200, {"cleared": True})
    if sub == "/faults" and method == "GET":
        return Response(200, [r.describe() for r in emu.faults.rules])
    if sub == "/health" and method == "POST":
        fields = {"resource_group", "name", "image_version", "instance_id", "health", "subscription"}
        if not isinstance(body, dict) or set(body) - fields or not {"resource_group", "name"} <= set(body):
            return _bad(
                "body must be {resource_group, name, image_version | instance_id, health, subscription?}"
            )
        try:
            emu.set_health(
                body["resource_group"],
                body["name"],
                image_version=body.get("image_version"),
                instance_id=body.get("instance_id"),
                health=body.get("health"),
                subscription=body.get("subscription"),
            )
        except KeyError:
            return _bad(f"no scale set {body['name']!r} in {body['resource_group']!r}", 404)
        except ValueError as exc:
            return _bad(str(exc))
        return Response(200, {"ok": True})
    m = re.fullmatch(r"/app(?:/(?P<sub>[^/]+))?/(?P<rg>[^/]+)/(?P<name>[^/]+)", sub)
    if m and method == "GET":  # the application's own health endpoint: 200 when good, 503 when not
        try:
            found = emu.app_health(m["rg"], m["name"], m["sub"])
        except KeyError:
            return _bad(f"no scale set {m['name']!r} in {m['rg']!r}", 404)
        return Response(200 if found["healthy"] else 503, found)
    if sub == "/app" and method == "GET":  # every application at once: 503 when one of them is broken
        found = emu.fleet_health()
        return Response(200 if found["healthy"] else 503, found)
    if sub == "/app" and method == "POST":
        fields = {"resource_group", "name", "image_version", "broken"}
        if (
            not isinstance(body, dict)
            or not fields <= set(body) <= fields | {"subscription"}
            or not isinstance(body["broken"], bool)
        ):
            return _bad(
                "body must be {resource_group, name, image_version, broken: true|false, subscription?}"
            )
        try:
            emu.set_app_broken(
                body["resource_group"],
                body["name"],
                image_version=str(body["image_version"]),
                broken=body["broken"],
                subscription=body.get("subscription"),
            )
        except KeyError:
            return _bad(f"no scale set {body['name']!r} in {body['resource_group']!r}", 404)
        return Response(200, {"ok": True})
    if sub == "/images" and method == "POST":
        fields = {"publisher", "offer", "sku", "version", "after"}
        if (
            not isinstance(body, dict)
            or set(body) - fields
            or not all(
                isinstance(body.get(k), str) and body[k] for k in ("publisher", "offer", "sku", "version")
            )
            or not isinstance(body.get("after", 0), int | float)
            or isinstance(body.get("after"), bool)
            or body.get("after", 0) < 0
        ):
            return _bad("body must be {publisher, offer, sku, version (strings), after (seconds, optional)}")
        emu.publish_image(
            body["publisher"], body["offer"], body["sku"], body["version"], after=float(body.get("after", 0))
        )
        return Response(200, {"published": body["version"], "after": body.get("after", 0)})
    m = re.fullmatch(r"/state(?:/(?P<sub>[^/]+))?/(?P<rg>[^/]+)/(?P<name>[^/]+)", sub)
    if m and method == "GET":
        try:
            return Response(200, emu.vmss(m["rg"], m["name"], m["sub"]))
        except KeyError:
            return _bad(f"no scale set {m['name']!r} in {m['rg']!r}", 404)
    return _bad(f"unknown control call {method} {path}", 404)
