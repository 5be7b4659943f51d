"""The Emulator: state, engine, faults and request log behind one lock, served over HTTPS."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from . import arm, control, scenarios
from .arm import ArmError, Response
from .clock import Clock, ManualClock, ScaledClock
from .engine import Engine
from .faults import Faults
from .handlers import Arm, Request
from .latency import Gate, Latency, parse_latency
from .ratelimits import ComputeBudgets, subscription_of

DROP = Response(0)  # sentinel: close the connection without answering


@dataclass
class RequestRecord:
    """One ARM request as the emulator saw it (never the Authorization header)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    sim_time: datetime
    if_match: str | None
    body: dict[str, Any] | None
    # Real time (time.monotonic()) when the request arrived and when its answer was ready: with a latency,
    # requests in flight at once overlap here (the simulated clock does not move with real time).
    received: float = 0.0
    answered: float = 0.0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["sim_time"] = arm.iso(self.sim_time)
        return out


class Emulator:
    """An in-process Azure Resource Manager for scale sets and rolling upgrades."""

    def __init__(
        self,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        page_size: int = 100,
        speed: float | None = None,
        scenario: str | Path | dict[str, Any] = "uniform-probe",
        latency: Latency | str | None = None,
    ) -> None:
        if clock is None:
            clock = ScaledClock(speed) if speed else ManualClock()
        self.clock = clock
        self.host, self.port, self.page_size = host, port, page_size
        self.faults = Faults()
        self.lock = threading.RLock()
        self._requests: list[RequestRecord] = []
        self._reads: dict[str, int] = {}  # GETs per subscription (ARM counts reads per subscription)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._ca_dir: Any = None
        self.url = ""
        self.ca_path = ""
        # Given here (`serve --latency`), it holds whatever scenario is loaded; else each scenario's own.
        self.fixed_latency = parse_latency(latency) if isinstance(latency, str) else latency
        self.latency = Latency()
        self.gate: Gate | None = None  # tests: hold answers until requests sent together have all arrived
        self.load_scenario(scenario)

    # --- lifecycle ---

    def start(self) -> Emulator:
        from .server import start_server

        if self._server is None:
            self._server, self._thread, self._ca_dir, self.ca_path = start_server(self, self.host, self.port)
            host, port = self._server.server_address[:2]
            host = connectable(host)
            shown = f"[{host}]" if ":" in host else host
            self.port = port
            self.url = f"https://{shown}:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._ca_dir is not None:
            self._ca_dir.cleanup()
            self._ca_dir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- state ---

    def load_scenario(self, source: str | Path | dict[str, Any], *, paths: bool = True) -> None:
        """Replace all state with a scenario; clears the request log and the faults. `paths=False` (the HTTP
        control API) loads built-in names and inline documents only, never a file."""
        data = scenarios.load(source, paths=paths)
        with self.lock:
            now = self.clock.now()
            world, pending = scenarios.build(data, now)
            self.scenario = data
            self.world = world
            self.engine = Engine(world, now)
            self.arm = Arm(world, self.engine, self.page_size, float(getattr(self.clock, "speed", 1.0)))
            for ss, inst, seconds in pending:
                self.engine.after(seconds, self._settler(ss, inst))
            for seconds, *image in scenarios.releases(data):
                self.engine.after(seconds, self._publisher(*image))
            self._requests.clear()
            self.faults.clear()
            self.budgets = ComputeBudgets()
            self.gate = None
            self.latency = (
                self.fixed_latency if self.fixed_latency is not None else parse_latency(data.get("latency"))
            )

    def _publisher(self, publisher: str, offer: str, sku: str, version: str) -> Any:
        return lambda: self.arm.automatic.publish(publisher, offer, sku, version)

    def publish_image(
        self, publisher: str, offer: str, sku: str, version: str, *, after: float = 0.0
    ) -> None:
        """Publish a platform image version now (or `after` simulated seconds): scale sets with automatic OS
        upgrades that follow it start upgrading (or, with deferral, wait for approval)."""
        with self.lock:
            self._advance()
            self.engine.after(max(0.0, after), self._publisher(publisher, offer, sku, str(version)))
            self.engine.advance_to(self.engine.now)

    def _settler(self, ss: Any, inst: Any) -> Any:
        gen = inst.gen
        return lambda: self.engine.settle(ss, inst, gen, self.engine.outcome(ss, inst))

    def set_health(
        self,
        rg: str,
        name: str,
        *,
        image_version: str | None = None,
        instance_id: str | None = None,
        health: str | None,
        subscription: str | None = None,
    ) -> None:
        """Make instances on an image version (or one instance) report `health` from now on; None lifts it."""
        from .state import HEALTH_STATES

        if (image_version is None) == (instance_id is None):
            raise ValueError("give exactly one of image_version or instance_id")
        if health is not None and health not in HEALTH_STATES:
            raise ValueError(f"health must be one of {', '.join(HEALTH_STATES)}")
        with self.lock:
            self._advance()
            ss = self.world.find(rg, name, subscription)
            self.engine.set_health_rule(
                ss, image_version=image_version, instance_id=instance_id, health=health
            )

    def app_health(self, rg: str, name: str, subscription: str | None = None) -> dict[str, Any]:
        """The application behind a scale set, as its own health endpoint would report it: failing requests in
        proportion to the running instances on an image version that breaks it (`app_broken_by`), whatever
        the VMs' health probe says. Instances still updating serve no traffic."""
        from .state import image_version

        with self.lock:
            self._advance()
            ss = self.world.find(rg, name, subscription)
            serving = [i for i in ss.members() if i.phase == "idle"]
            broken = sorted(
                (i for i in serving if image_version(i.profile) in ss.app_broken_by),
                key=lambda i: i.instance_id,
            )
            rate = round(100 * len(broken) / len(serving)) if serving else 0
            versions = sorted({str(image_version(i.profile)) for i in broken})
            message = (
                f"{rate}% of requests fail: {len(broken)} of {len(serving)} serving instance(s) run "
                f"{', '.join(versions)}, which the configuration service rejects"
                if broken
                else f"ok: {len(serving)} serving instance(s), no errors"
            )
            return {"healthy": not broken, "errorRate": rate, "message": message}

    def fleet_health(self) -> dict[str, Any]:
        """Every scale set's application at once (what a fleet-wide health check sees): healthy when none is
        broken; the broken ones listed with their own report."""
        with self.lock:
            sets = [(ss.sub, ss.rg, ss.name) for ss in self.world.scale_sets.values()]
        broken = []
        for sub, rg, name in sets:
            found = self.app_health(rg, name, sub)
            if not found["healthy"]:
                broken.append({"subscription": sub, "resourceGroup": rg, "name": name, **found})
        message = (
            f"{len(broken)} of {len(sets)} application(s) failing: "
            + "; ".join(f"{b['resourceGroup']}/{b['name']}: {b['message']}" for b in broken)
            if broken
            else f"ok: {len(sets)} application(s), no errors"
        )
        return {"healthy": not broken, "broken": broken, "message": message}

    def set_app_broken(
        self, rg: str, name: str, *, image_version: str, broken: bool, subscription: str | None = None
    ) -> None:
        """Make an image version break the application from now on (or stop breaking it)."""
        with self.lock:
            self._advance()
            ss = self.world.find(rg, name, subscription)
            (ss.app_broken_by.add if broken else ss.app_broken_by.discard)(image_version)

    def reset(self) -> None:
        self.load_scenario(self.scenario)

    @property
    def subscription_id(self) -> str:
        """The scenario's first (default) subscription."""
        return self.world.subscription_id

    @property
    def subscription_ids(self) -> list[str]:
        """Every subscription of the scenario, the default first."""
        return list(self.world.subscriptions)

    def _advance(self) -> None:
        self.engine.advance_to(self.clock.now())

    def vmss(self, rg: str, name: str, subscription: str | None = None) -> dict[str, Any]:
        """The full stored model of a scale set (secrets included), as a deep copy."""
        with self.lock:
            self._advance()
            ss = self.world.find(rg, name, subscription)
            out = copy.deepcopy(ss.model)
            out.update({"id": arm.vmss_id(ss.sub, ss.rg, ss.name), "name": ss.name, "etag": f'"{ss.etag}"'})
            return out

    def vms(self, rg: str, name: str, subscription: str | None = None) -> list[dict[str, Any]]:
        """Stored instances with their state (applied profile without secrets)."""
        from .state import strip_secrets

        with self.lock:
            self._advance()
            ss = self.world.find(rg, name, subscription)
            key = ss.profile_key()
            return [
                {
                    "instance_id": i.instance_id, "name": i.name, "zone": i.zone, "attached": i.attached,
                    "phase": i.phase, "provisioning_state": i.provisioning, "health": self.engine.reported(ss, i), "os_version": i.os_version,
                    "latest_model_applied": i.attached or i.profile_key == key,
                    "profile": strip_secrets(i.profile),
                }
                for i in ss.instances.values()
            ]  # fmt: skip

    @property
    def requests(self) -> list[RequestRecord]:
        with self.lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self.lock:
            self._requests.clear()

    # --- request handling (called by the server threads) ---

    def handle_control(self, method: str, path: str, body: Any) -> Response:
        return control.handle(self, method, path, body)

    def handle_arm(self, req: Request, authorized: bool) -> tuple[Response, bool]:
        """Answer an ARM request; returns (response, drop_connection)."""
        received = time.monotonic()
        gate = self.gate
        if gate is not None and gate.holds(req.method):
            gate.wait()
        delay = self.latency.draw()
        if delay:
            time.sleep(delay)  # real time, outside the lock: requests in flight together overlap, as on ARM
        rule = self.faults.pick(req.method, req.path)
        if rule is not None and rule.kind == "slow":
            time.sleep(min(rule.delay, 5.0))
            rule = None
        with self.lock:
            self._advance()
            drop = False
            if rule is not None and rule.kind == "drop" and not rule.after_commit:
                resp, drop = DROP, True
            elif rule is not None and rule.kind == "status":
                resp = self._error(rule.error(req.method, req.path))
            else:
                resp = self._dispatch(req, authorized)
                drop = rule is not None and rule.kind == "drop"
            self._record(req, 0 if drop else resp.status, received)
            budgets = self.budgets.header(req.method, req.path, self.engine.now)
            if budgets is not None and not drop:
                resp.headers.setdefault("x-ms-ratelimit-remaining-resource", budgets)
            if req.method == "GET" and not drop:
                sub = subscription_of(req.path)
                self._reads[sub] = self._reads.get(sub, 0) + 1
                remaining = "0" if resp.status == 429 else str(11999 - self._reads[sub] % 11000)
                resp.headers.setdefault("x-ms-ratelimit-remaining-subscription-reads", remaining)
            return resp, drop

    def _dispatch(self, req: Request, authorized: bool) -> Response:
        try:
            if not authorized:
                raise arm.missing_auth()
            return self.arm.dispatch(req)
        except ArmError as err:
            return self._error(err)

    @staticmethod
    def _error(err: ArmError) -> Response:
        return Response(err.status, err.body(), dict(err.headers))

    def _record(self, req: Request, status: int, received: float) -> None:
        body = req.body if isinstance(req.body, dict) else None
        self._requests.append(
            RequestRecord(
                req.method,
                req.path,
                dict(req.query),
                status,
                self.engine.now,
                req.headers.get("if-match"),
                copy.deepcopy(body),
                received,
                time.monotonic(),
            )
        )


def connectable(host: str) -> str:
    """The address to give clients for a bound address: 0.0.0.0 and :: mean "every address" when binding, but
    are not addresses to connect to, so the URL names the loopback address of the same family."""
    import ipaddress

    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return host
    if address.is_unspecified:
        return "::1" if address.version == 6 else "127.0.0.1"
    return host
