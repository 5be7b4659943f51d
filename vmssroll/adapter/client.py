"""The Azure adapter: scale sets, instances and rolling upgrades through azure-mgmt-compute."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote

from vmssroll import __version__
from vmssroll.adapter.connection import Connection, SharedToken, credential_for
from vmssroll.adapter.convert import (
    instance_from_rest,
    member_from_rest,
    os_upgrade_from_rest,
    scale_set_from_rest,
    upgrade_from_rest,
)
from vmssroll.adapter.errors import azure_errors, unreadable
from vmssroll.adapter.requestlog import request_log_policy
from vmssroll.adapter.transport import (
    Budget,
    bounded_transport,
    host_bound_auth_policy,
    host_of,
    retry_after_seconds,
)
from vmssroll.domain.durations import human
from vmssroll.domain.errors import AzureRequestFailed, NotFound, TimedOut, VmssrollError, WriteInterrupted
from vmssroll.domain.history import OsUpgrade
from vmssroll.domain.model import Instance, ScaleSet
from vmssroll.domain.operation import OperationStatus
from vmssroll.domain.ratelimit import read_budgets
from vmssroll.domain.target import ScaleSetRef
from vmssroll.domain.unknown import Unknown, is_supplementary_failure
from vmssroll.domain.upgrade import UpgradeStatus
from vmssroll.domain.watch import Reading, server_time
from vmssroll.domain.writing import WriteProgress, WriteWait

log = logging.getLogger("vmssroll.adapter")

COMPUTE_API = "2026-04-01"  # the SDK's own (azure-mgmt-compute 39) for the reads sent as it would send them
FEATURES_API = "2021-07-01"
SDK_MAX_WAIT = 30.0  # the longest Retry-After the SDK's own retries wait out; longer ones end the request
STATE_POLL = 10.0  # between reads of a scale set whose write's operation is unknown (its answer was lost)
MAX_PAGES = 200  # 1,000 instances (a scale set's most) at ARM's smallest page size are far fewer
NETWORK_API = "2024-05-01"
T = TypeVar("T")


class Azure:
    """One ComputeManagementClient and the few calls vmssroll makes with it."""

    def __init__(
        self,
        conn: Connection,
        *,
        retries: bool = True,
        lro_interval: float | None = None,
        retry_total: int | None = None,
        connection_timeout: float = 10,
        credential: SharedToken | None = None,
    ) -> None:
        # The token first, in the background: the Azure CLI (most of a second) runs while the SDK is imported.
        # A credential given is another client's of the same command: its token is shared, not fetched again.
        credential = credential or SharedToken(credential_for(conn), conn.scope).prefetch()
        from azure.mgmt.compute import ComputeManagementClient

        self.conn = conn
        # Between polls of a write's operation when Azure gives no Retry-After (the SDK's default is 30 s).
        self.poll_interval = lro_interval if lro_interval is not None else (0.05 if conn.is_loopback else 5)
        self.credential = credential  # every request's token comes from it (and `Azure.credential.get_token`)
        options: dict[str, Any] = {
            "base_url": conn.endpoint,
            "credential_scopes": [conn.scope],
            # Explicit, so REQUESTS_CA_BUNDLE in the environment never decides whom we trust: requests
            # replaces `verify=True` with that variable, but never an explicit path (measured: with True, a CA
            # named only in REQUESTS_CA_BUNDLE was trusted).
            "connection_verify": conn.ca_bundle or default_ca_bundle(),
            "polling_interval": lro_interval
            if lro_interval is not None
            else (0.05 if conn.is_loopback else 5),
            "user_agent": f"vmssroll/{__version__}",
            "connection_timeout": connection_timeout,
            "read_timeout": 60,
        }
        if conn.is_loopback:
            options["retry_backoff_factor"] = 0.05
        # A connection that cannot be made (no DNS, refused, untrusted certificate, no route) is not retried
        # by the SDK: it would not change within its back-off, and the operator waits for one clear line
        # instead. Dropped or silent connections after sending (read failures) and 429/5xx answers are still
        # retried.
        options["retry_connect"] = 0
        if retry_total is not None:
            options["retry_total"] = retry_total
        if not retries:
            options["retry_total"] = 0
        # Deadlines, bounded bodies, sane Retry-After, the token for the endpoint's host only (transport.py).
        self.budget = Budget()
        options["retry_policy"] = visible_retry_policy(deadline=self.budget, **options)
        options["transport"] = bounded_transport(
            self.budget,
            connection_verify=options["connection_verify"],
            connection_timeout=connection_timeout,
            read_timeout=options["read_timeout"],
        )
        options["authentication_policy"] = host_bound_auth_policy(credential, conn.scope, conn.endpoint)
        options["per_retry_policies"] = [request_log_policy()]
        # What this client has read, shared by the threads of reads sent together (adapter/parallel.py).
        self._lock = threading.Lock()
        self._reading: dict[str, threading.Event] = {}  # scale sets being read now, by id
        self._scale_sets_read: set[str] = set()  # ids this client read successfully (see latest_upgrade)
        self._scale_sets_asked: set[str] = set()  # ids this client began to read, successfully or not
        self._models: dict[
            str, ScaleSet
        ] = {}  # the latest model read of each (Flexible sets list differently)
        self.client = ComputeManagementClient(credential, conn.subscription, **options)

    def set_deadline(self, clock: Any, at: float | None) -> None:
        """Every request from now on ends by `at` (on `clock.monotonic()`), whatever the server does."""
        self.budget.set(clock, at)

    # Reads -------------------------------------------------------------------------------------------------

    def scale_set_document(self, ref: ScaleSetRef) -> dict[str, Any]:
        """The scale set as Azure answered it (the GET the SDK's `virtual_machine_scale_sets.get` sends)."""
        action = f"reading scale set {ref.name}"
        with azure_errors(action):
            doc, _ = self._get_object(f"{ref.id}?api-version={COMPUTE_API}", action)
        self._scale_sets_read.add(ref.id.lower())
        return doc

    def scale_set(self, ref: ScaleSetRef) -> ScaleSet:
        key = ref.id.lower()
        done = threading.Event()
        with self._lock:
            self._reading[key] = done
            self._scale_sets_asked.add(key)
        try:
            found = scale_set_from_rest(self.scale_set_document(ref))
            with self._lock:
                self._models[key] = found
            return found
        finally:
            with self._lock:
                if self._reading.get(key) is done:
                    del self._reading[key]
            done.set()

    def _settled(self, ref: ScaleSetRef) -> None:
        """Wait for a read of this scale set that another thread has in flight (reads sent together), so that
        what this client knows of it is what a sequential command would know by now."""
        with self._lock:
            reading = self._reading.get(ref.id.lower())
        if reading is not None:
            reading.wait()

    def shares_reads_with(self, other: Azure) -> None:
        """Know what `other` (another client of the same command) reads, and wait for its reads in flight as
        for this client's own: the watch reads the scale set with one client while its first refresh lists
        the instances with the other."""
        self._lock, self._reading = other._lock, other._reading
        self._scale_sets_read, self._models = other._scale_sets_read, other._models
        self._scale_sets_asked = other._scale_sets_asked

    def scale_set_exists(self, ref: ScaleSetRef, scale_set: ScaleSet | None = None) -> None:
        """Another client of this command just read the scale set (see `latest_upgrade` and `instances`)."""
        self._scale_sets_read.add(ref.id.lower())
        if scale_set is not None:
            self._models[ref.id.lower()] = scale_set

    def instances(self, ref: ScaleSetRef) -> list[Instance]:
        return self.instances_reading(ref).value

    def instances_reading(self, ref: ScaleSetRef) -> Reading[list[Instance]]:
        """Every instance with its instance view; one GET per page, with the pages counted, the last page's
        remaining read budgets and Azure's time of the first page.

        Uniform: the scale set's VM API. Flexible has none (Azure refuses it with 400): its members are plain
        VMs, listed with `virtualMachines?$filter='virtualMachineScaleSet/id' eq '{id}'`, as the SDK's
        `virtual_machines.list(rg, filter=..., expand="instanceView")` sends it; they are named, not numbered,
        and whether each runs the latest model is judged against the scale set's model when Azure does not
        say. A scale set this client has not read is tried as Uniform first, and listed as Flexible when
        refused so.

        The pages go through the client's own pipeline (credential, retries, policies), as the SDK's `list`
        would send them, but are read as JSON straight into domain values: the SDK's model deserialisation and
        `as_dict()` cost about a second of CPU per 1,000 instances (measured by benchmarks/run.py), the JSON a
        few milliseconds. Errors are raised as the SDK raises them, so they translate the same way.
        """
        model = self._models.get(ref.id.lower())
        if model is None or not model.is_flexible:
            try:
                return self._pages(
                    f"listing the instances of {ref.name}",
                    f"{ref.id}/virtualMachines?api-version={COMPUTE_API}&$expand=instanceView",
                    instance_from_rest,
                )
            except AzureRequestFailed as err:
                if model is not None or not _refused_as_flexible(err):
                    raise
                self._settled(ref)  # a Flexible scale set: its model, read alongside, or read now
                model = self._models.get(ref.id.lower()) or self.scale_set(ref)
        members = f"'virtualMachineScaleSet/id' eq '{model.id}'"
        scale_set = model
        return self._pages(
            f"listing the VMs of Flexible scale set {ref.name}",
            f"/subscriptions/{ref.subscription}/resourceGroups/{ref.resource_group}/providers/Microsoft.Compute/"
            f"virtualMachines?api-version={COMPUTE_API}&$filter={quote(members, safe='')}&$expand=instanceView",
            lambda doc: member_from_rest(doc, scale_set),
        )

    def list_all(self) -> Reading[list[ScaleSet]]:
        """Every scale set of the client's subscription (`virtual_machine_scale_sets.list_all`, as the SDK
        sends it), page by page through `nextLink`, read as JSON straight into domain values."""
        return self._pages(
            f"listing the scale sets of subscription {self.conn.subscription}",
            f"/subscriptions/{self.conn.subscription}/providers/Microsoft.Compute/virtualMachineScaleSets"
            "?api-version=2026-04-01",
            scale_set_from_rest,
        )

    def os_upgrade_history(self, ref: ScaleSetRef) -> Reading[list[OsUpgrade]]:
        """Every OS image upgrade Azure recorded (`osUpgradeHistory`, as the SDK's
        `virtual_machine_scale_sets.get_os_upgrade_history` sends it), page by page through `nextLink`, with
        the same guards as the instance listing."""
        return self._pages(
            f"reading the OS upgrade history of {ref.name}",
            f"{ref.id}/osUpgradeHistory?api-version={COMPUTE_API}",
            os_upgrade_from_rest,
        )

    def _get_object(self, url: str, action: str) -> tuple[dict[str, Any], Any]:
        """One GET through the client's own pipeline (credential, retries, policies), as the SDK's operation
        would send it, read as JSON, not into the SDK's models: deserialising a scale set into them costs
        tens of milliseconds of CPU on a command's first read (the models' annotations are evaluated then),
        which `as_dict()` then undoes. An error answer is raised as the SDK raises it, so it translates the
        same way; an answer that is not a JSON object is one clear failure. Returns the body and headers."""
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceExistsError,
            ResourceNotFoundError,
            map_error,
        )
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.exceptions import ARMErrorFormat

        errors = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError}
        response = self.client.send_request(HttpRequest("GET", url, headers={"Accept": "application/json"}))
        if response.status_code != 200:
            map_error(status_code=response.status_code, response=response, error_map=errors)
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        try:
            body = response.json()
        except ValueError as err:  # not JSON, or not UTF-8
            raise unreadable(action, type(err).__name__) from None
        if not isinstance(body, dict):
            raise unreadable(action, f"a {type(body).__name__} where an object was expected")
        return body, response.headers

    def _pages(self, action: str, url: Any, convert: Callable[[dict[str, Any]], T]) -> Reading[list[T]]:
        found: list[T] = []
        pages = 0
        visited: set[str] = set()
        limits: dict[str, int] = {}
        when = None
        with azure_errors(action):
            while url:
                body, headers = self._get_object(url, f"{action}, page {pages + 1}")
                pages += 1
                when = when or server_time(headers.get("Date"))
                limits = rate_limits(headers) or limits
                values = body.get("value")
                found.extend(convert(vm) for vm in values or () if isinstance(vm, dict))
                url = self._next_page(body.get("nextLink"), visited, pages, action)
        return Reading(found, max(1, pages), limits, when)

    def instances_or_unknown(self, ref: ScaleSetRef, *, transient: bool = True) -> list[Instance] | Unknown:
        """The instances, or why they could not be listed: a supplementary read never ends a command.

        With `transient=False` a failure worth retrying soon (throttling, 5xx, no answer) is raised instead,
        for a caller that retries on its own (the watch loop)."""
        try:
            return self.instances(ref)
        except VmssrollError as err:
            if not is_supplementary_failure(err):
                raise
            if not transient and isinstance(err, AzureRequestFailed) and err.transient:
                raise
            log.info("could not list the instances of %s: %s", ref.name, err.message)
            return Unknown.of("instances", "listing", err)

    def _next_page(self, link: Any, visited: set[str], pages: int, action: str) -> str | None:
        """The next page's URL, or None at the end; a listing that leaves the endpoint's host, comes back to a
        page it has read, or goes on past MAX_PAGES ends with an error instead of following it."""
        if not isinstance(link, str) or not link:
            return None
        if link.startswith("/"):
            link = self.conn.endpoint + link
        if host_of(link) != host_of(self.conn.endpoint) or not link.lower().startswith("https://"):
            raise AzureRequestFailed(
                f"{action}: the answer's next page is on another host; not followed",
                code="NextLinkOnAnotherHost",
            )
        if link in visited:
            raise AzureRequestFailed(
                f"{action}: the answer's next page is one already read (a loop); stopped", code="NextLinkLoop"
            )
        if pages >= MAX_PAGES:
            raise AzureRequestFailed(f"{action}: more than {MAX_PAGES} pages; stopped", code="TooManyPages")
        visited.add(link)
        return link

    def latest_upgrade(self, ref: ScaleSetRef) -> UpgradeStatus | None:
        """The latest rolling upgrade, or None when none has ever run (Azure answers 404)."""
        return self.latest_reading(ref).value

    def latest_reading(self, ref: ScaleSetRef) -> Reading[UpgradeStatus | None]:
        """The latest rolling upgrade (None: none has run yet), with Azure's clock and remaining read budgets
        from the answer's headers."""
        action = f"reading the latest rolling upgrade of {ref.name}"
        try:
            with azure_errors(action):
                doc, headers = self._get_object(
                    f"{ref.id}/rollingUpgrades/latest?api-version={COMPUTE_API}", action
                )
        except NotFound as err:
            # A 404 here means "no upgrade has run yet", unless the scale set or its group is what is missing:
            # right after this client read the scale set, it means that whatever the error text says.
            missing = (
                err.code == "ResourceGroupNotFound" or f"virtualMachineScaleSets/{ref.name}'" in err.message
            )
            key = ref.id.lower()
            if missing:
                self._settled(ref)
            if missing and key not in self._scale_sets_read:
                if key in self._scale_sets_asked:
                    raise  # its read failed: that failure says what is missing
                # Not asked yet: a read sent together may not have started when this answer came. Ask now, as
                # a sequential command would have by then; it raises when the scale set is really missing.
                self.scale_set(ref)
            return Reading(None, server_time=_date_of(err))
        return Reading(
            upgrade_from_rest(doc),
            rate_limits=rate_limits(headers),
            server_time=server_time(headers.get("Date")),
        )

    def raw_get(self, path: str, api_version: str) -> dict[str, Any] | None:
        """GET an ARM path outside Microsoft.Compute (features, load balancers); None on 404."""
        from azure.core.rest import HttpRequest

        with azure_errors(f"reading {path}"):
            response = self.client.send_request(HttpRequest("GET", f"{path}?api-version={api_version}"))
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            try:
                error = response.json().get("error") or {}
            except (ValueError, AttributeError):
                error = {}
            if not isinstance(error, dict):
                error = {}
            raise AzureRequestFailed(
                f"reading {path}: {error.get('code', response.status_code)}: {error.get('message', response.content[:200].decode('utf-8', 'replace'))}",
                code=error.get("code"),
                status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            raise AzureRequestFailed(f"reading {path}: the answer was not JSON") from None
        return body if isinstance(body, dict) else None

    def feature_state(self, namespace: str, feature: str) -> str | None:
        doc = self.raw_get(
            f"/subscriptions/{self.conn.subscription}/providers/Microsoft.Features/providers/{namespace}/features/{feature}",
            FEATURES_API,
        )
        props = None if doc is None else doc.get("properties")
        return props.get("state") if isinstance(props, dict) else None

    def load_balancer_probes(self, load_balancer_id: str) -> list[str] | None:
        """The probe names of a load balancer, or None when it does not exist."""
        doc = self.raw_get(load_balancer_id, NETWORK_API)
        if doc is None:
            return None
        props = doc.get("properties")
        probes = props.get("probes") if isinstance(props, dict) else None
        return [str(p.get("name")) for p in probes or [] if isinstance(p, dict)]

    # Writes ------------------------------------------------------------------------------------------------

    def patch(
        self,
        ref: ScaleSetRef,
        body: Mapping[str, Any],
        etag: str | None,
        *,
        applied: Callable[[ScaleSet], bool],
        wait: WriteWait | None,
        unconditional: bool = False,
    ) -> ScaleSet:
        """PATCH only `body`, with If-Match on `etag`; wait for Azure to finish it, re-read and return what
        Azure stored. With `wait=None`, return once Azure accepted it: the scale set as its answer gave it (in
        Rolling mode still provisioningState Updating), with no poll and no re-read.

        The wait polls the write's operation (Azure-AsyncOperation, else Location) through the client's
        pipeline on `wait.clock`, as often as Retry-After asks, until it ends or `wait.limit` passes
        (TimedOut).

        When the answer is lost (dropped connection) or a retry meets its own earlier success (412), the
        stored model is read back and `applied` decides whether the change is in place; nothing is sent twice
        blindly. The same PATCH is sent once more only when the read-back proves the first never landed (the
        etag is still the one we sent as If-Match), so a resend can only apply this change, to the state it
        was planned on.
        """
        from azure.core.exceptions import ResourceModifiedError, ServiceRequestError, ServiceResponseError

        if not etag and not unconditional:
            raise AzureRequestFailed(
                f"updating scale set {ref.name}: Azure returned no etag for it, so the change cannot be made "
                "conditional on what was read (If-Match); nothing was sent",
                hint="re-run; if Azure keeps returning no etag, report it",
            )
        uncertain = (ServiceRequestError, ServiceResponseError, ResourceModifiedError)
        sent: list[bool] = []
        for attempt in (1, 2):
            try:
                with interrupted_write(ref, sent):
                    answer, operation = self._send_patch(ref, body, etag, sent)
            except AzureRequestFailed as err:
                cause = err.__cause__
                if not isinstance(cause, uncertain):
                    raise
                current = self._read_back(ref, err)
                if applied(current):
                    log.info("the change is in place (read back after %s)", type(cause).__name__)
                    if wait is not None and _updating(current):
                        with interrupted_write(ref, sent):
                            return self._await_provisioned(ref, current, wait)
                    return current
                if isinstance(cause, ResourceModifiedError):
                    raise
                if attempt == 1 and etag and current.etag == etag:
                    log.warning(
                        "no answer to the update of %s, and reading it back shows it did not land; "
                        "sending the same change again (If-Match %s)",
                        ref.name,
                        etag,
                    )
                    continue
                if current.etag == etag:
                    raise AzureRequestFailed(
                        f"updating scale set {ref.name}: Azure did not answer; reading it back shows the change "
                        "is not in place and nothing else changed",
                        hint=err.hint,
                    ) from err
                raise AzureRequestFailed(
                    f"updating scale set {ref.name}: Azure did not answer, and the scale set has changed since "
                    "it was read, so whether this change is in place is unknown",
                    hint=f"check it with `vmssroll status {ref.args()}` before re-running",
                ) from err
            else:
                if wait is None:
                    return answer
                with interrupted_write(ref, sent):
                    self._await_write(ref, answer, operation, wait)
                return self.scale_set(ref)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_patch(
        self, ref: ScaleSetRef, body: Mapping[str, Any], etag: str | None, sent: list[bool] | None = None
    ) -> tuple[ScaleSet, str | None]:
        """Send the PATCH; Azure's answer (the scale set as accepted) and the URL of its operation, if any.

        `polling=False`: the SDK's poller would wait in real time in a thread of its own; the write is waited
        for on the command's clock instead (`_await_write`)."""
        from azure.core import MatchConditions
        from azure.mgmt.compute.models import VirtualMachineScaleSetUpdate

        operation: list[str] = []

        def keep_operation(pipeline_response: Any) -> None:
            headers = pipeline_response.http_response.headers
            url = headers.get("Azure-AsyncOperation") or headers.get("Location")
            if url:
                operation[:] = [url]

        action = f"updating scale set {ref.name}"
        with azure_errors(action):
            poller = self.client.virtual_machine_scale_sets.begin_update(
                ref.resource_group,
                ref.name,
                VirtualMachineScaleSetUpdate(dict(body)),
                etag=etag,
                match_condition=MatchConditions.IfNotModified if etag else None,
                # noted as the PATCH leaves (the last policy before the transport), for a Ctrl-C's message
                raw_request_hook=lambda _: sent.append(True) if sent is not None else None,
                raw_response_hook=keep_operation,
                polling=False,
            )
            answer = scale_set_from_rest(_document(poller.result(), action))
        return answer, operation[0] if operation else None

    def _await_write(self, ref: ScaleSetRef, answer: ScaleSet, url: str | None, wait: WriteWait) -> None:
        """Poll the write's operation until it ends: the first poll at once (in Manual mode it has ended),
        then after each answer's Retry-After (else `poll_interval`), never past `wait.limit` after acceptance.

        A poll that fails for a passing reason (throttled, 5xx, no answer) is tried again at the next turn."""
        if url is None:
            return  # nothing to follow: Azure gave no operation, its answer was the end of it
        status = OperationStatus("InProgress")

        def poll() -> tuple[bool, float | None]:
            nonlocal status
            try:
                status, after = self._poll_operation(url, f"waiting for the update of {ref.name}")
            except AzureRequestFailed as err:
                if not err.transient:
                    raise
                log.warning("%s; asking again", err.message)
                return False, None
            return status.status.lower() != "inprogress", after

        self._until_done(ref, wait, answer.provisioning_state or "Updating", poll, self.poll_interval)
        if status.status.lower() != "succeeded":
            detail = f"{status.error_code or status.status}: {status.error_message or ''}".rstrip(": ")
            raise AzureRequestFailed(
                f"updating scale set {ref.name}: Azure accepted the change but its operation ended "
                f"{status.status} ({detail})",
                code=status.error_code,
                hint=f"see what is stored with `vmssroll policy show {ref.args()}`",
            )

    def _await_provisioned(self, ref: ScaleSetRef, current: ScaleSet, wait: WriteWait) -> ScaleSet:
        """After a lost answer (and with it the operation's URL): read the scale set every STATE_POLL seconds
        until its provisioningState is no longer Updating; the last read."""
        read: list[ScaleSet] = []

        def poll() -> tuple[bool, float | None]:
            read.append(self.scale_set(ref) if read else current)  # the first: the read-back just made
            return not _updating(read[-1]), None

        self._until_done(ref, wait, current.provisioning_state or "Updating", poll, STATE_POLL)
        return read[-1]

    def _until_done(
        self,
        ref: ScaleSetRef,
        wait: WriteWait,
        state: str,
        poll: Callable[[], tuple[bool, float | None]],
        every: float,
    ) -> None:
        """Call `poll` (done?, Retry-After) at once, then after each Retry-After (else `every`) on
        `wait.clock`, reporting to `wait.progress`, until it is done; TimedOut at `wait.limit` after the
        start, an absolute deadline that every request ends by too (the client's budget), whatever
        Retry-After says."""
        clock = wait.clock
        began = clock.monotonic()
        deadline = began + wait.limit
        outer = (self.budget.clock, self.budget.at)
        if outer[1] is None or outer[0] is not clock or deadline < outer[1]:
            self.budget.set(clock, deadline)
        polls = 0
        try:
            while True:
                done, after = poll()
                polls += 1
                if done:
                    break
                wait.progress(WriteProgress(ref.name, state, clock.monotonic() - began))
                pause = after if after else every
                self._sleep_until(wait, min(clock.monotonic() + pause, deadline), ref.name, state, began)
                if clock.monotonic() >= deadline:
                    raise TimedOut(
                        f"Azure accepted the change to {ref.name} but had not finished it after "
                        f"{human(wait.limit)} (provisioningState {state}); it may still land",
                        hint=f"check with `vmssroll policy show {ref.args()}` before re-running",
                    )
        finally:
            self.budget.set(*outer)
        if polls > 1:
            wait.progress(WriteProgress(ref.name, "done", clock.monotonic() - began, done=True))

    @staticmethod
    def _sleep_until(wait: WriteWait, until: float, name: str, state: str, began: float) -> None:
        """Sleep on the wait's clock until `until`, waking every `tick` to report the elapsed time."""
        clock = wait.clock
        while (left := until - clock.monotonic()) > 0:
            step = min(left, wait.tick) if wait.tick else left
            clock.sleep(step)
            if wait.tick:
                wait.progress(WriteProgress(name, state, clock.monotonic() - began))

    def _read_back(self, ref: ScaleSetRef, err: AzureRequestFailed) -> ScaleSet:
        try:
            return self.scale_set(ref)
        except AzureRequestFailed as again:
            raise AzureRequestFailed(
                f"updating scale set {ref.name}: Azure did not answer and the scale set could not be read back, "
                "so whether the change is in place is unknown",
                hint=f"check it with `vmssroll status {ref.args()}` before re-running",
            ) from again

    def cancel(self, ref: ScaleSetRef) -> None:
        """Ask Azure to cancel the running upgrade; does not wait (the caller watches the status).

        A POST is not retried by the SDK when its answer is lost: the latest upgrade is read back instead, and
        a cancel already in effect counts as accepted (re-sending would only meet "no ongoing upgrade").
        `polling=False`: the SDK sends the POST and reads its answer, but starts no poller thread, which would
        otherwise go on polling the operation after the command returned.
        """
        action = f"cancelling the rolling upgrade of {ref.name}"
        with self._uncertain_post(
            ref, action, lambda s: s is not None and (s.last_action or "").lower() == "cancel"
        ):
            self.client.virtual_machine_scale_set_rolling_upgrades.begin_cancel(
                ref.resource_group, ref.name, polling=False
            )

    def start(self, ref: ScaleSetRef, kind: str) -> str | None:
        """Start an OS-image or extension rolling upgrade; does not wait for it to finish (same read-back, and
        no poller left running, as for `cancel`). Returns the URL of the operation Azure gave for it
        (`Azure-AsyncOperation`, else `Location`), when it gave one."""
        ops = self.client.virtual_machine_scale_set_rolling_upgrades
        begin = ops.begin_start_os_upgrade if kind == "os" else ops.begin_start_extension_upgrade
        action = f"starting the {kind} rolling upgrade of {ref.name}"
        seen, hook = _operation_url()

        with self._uncertain_post(ref, action, lambda s: s is not None and s.running):
            begin(ref.resource_group, ref.name, polling=False, raw_response_hook=hook)
        return seen[0] if seen else None

    def approve(self, ref: ScaleSetRef, instance_ids: list[str] | None) -> str | None:
        """approveRollingUpgrade: the deferred OS upgrade runs, for the given instances or every pending one;
        does not wait (same read-back, and no poller left running, as `start`). Returns the URL of the
        operation Azure gave for it (`Azure-AsyncOperation`, else `Location`)."""
        action = f"approving the deferred OS upgrade of {ref.name}"
        seen, hook = _operation_url()

        from azure.mgmt.compute.models import VirtualMachineScaleSetVMInstanceIDs

        body = VirtualMachineScaleSetVMInstanceIDs(instance_ids=list(instance_ids)) if instance_ids else None
        with self._uncertain_post(ref, action, lambda s: s is not None and s.running):
            self.client.virtual_machine_scale_sets.begin_approve_rolling_upgrade(
                ref.resource_group, ref.name, body, polling=False, raw_response_hook=hook
            )
        return seen[0] if seen else None

    def manual_upgrade(self, ref: ScaleSetRef, instance_ids: list[str]) -> str | None:
        """manualupgrade: these instances take the scale set's latest model now (Uniform; Azure refuses it on
        Flexible); does not wait, and leaves no poller running. The caller reads the instances to see them
        settle. Returns the URL of the operation Azure gave for it, when it gave one."""
        from azure.core.exceptions import ServiceResponseError
        from azure.mgmt.compute.models import VirtualMachineScaleSetVMInstanceRequiredIDs

        seen, hook = _operation_url()
        body = VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=list(instance_ids))
        action = f"upgrading instance(s) {', '.join(instance_ids)} of {ref.name}"
        try:
            with azure_errors(action):
                self.client.virtual_machine_scale_sets.begin_update_instances(
                    ref.resource_group, ref.name, body, polling=False, raw_response_hook=hook
                )
        except AzureRequestFailed as err:
            # The answer was lost (a POST is not re-sent): the instances say whether Azure took it.
            if not isinstance(err.__cause__, ServiceResponseError) or not self._upgrading(ref, instance_ids):
                raise
            log.info("%s: no answer, but the instances show it took effect", action)
        return seen[0] if seen else None

    def _upgrading(self, ref: ScaleSetRef, instance_ids: list[str]) -> bool:
        """Whether a manualupgrade of instances behind the model took effect: one of them is updating, or
        already on the model. Unknown (the read fails too) is not taken for yes."""
        from vmssroll.domain.rollout import in_flight

        listed = self.instances_or_unknown(ref)
        if isinstance(listed, Unknown):
            return False
        return any(i.instance_id in instance_ids and (in_flight(i) or i.latest_model_applied) for i in listed)

    def operation_status(self, url: str) -> OperationStatus:
        """One read of a long-running operation (`{"status", "error"}`); a `monitor=true` Location answers 202
        while running and 200 with no body once done."""
        return self._poll_operation(url, "reading the upgrade's operation")[0]

    def _poll_operation(self, url: str, action: str) -> tuple[OperationStatus, float | None]:
        """One read of an operation, and the Retry-After its answer asked for (seconds; None when none)."""
        from azure.core.rest import HttpRequest

        with azure_errors(action):
            response = self.client.send_request(HttpRequest("GET", url))
        after = retry_after_seconds(response.headers.get("Retry-After"), date=response.headers.get("Date"))
        if response.status_code == 202:
            return OperationStatus("InProgress"), after
        if response.status_code >= 400:
            raise AzureRequestFailed(
                f"{action}: HTTP {response.status_code}",
                status=response.status_code,
                code="OperationUnreadable",
            )
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise unreadable(action, "not a JSON object")
        error = body.get("error")
        error = error if isinstance(error, dict) else {}
        status = OperationStatus(
            str(body.get("status") or "Succeeded"),
            error_code=_str_or_none(error.get("code")),
            error_message=_str_or_none(error.get("message")),
        )
        return status, after

    @contextmanager
    def _uncertain_post(
        self, ref: ScaleSetRef, action: str, landed: Callable[[UpgradeStatus | None], bool]
    ) -> Iterator[None]:
        from azure.core.exceptions import ServiceResponseError

        try:
            with azure_errors(action):
                yield
        except AzureRequestFailed as err:
            if not isinstance(err.__cause__, ServiceResponseError):
                raise
            try:
                status = self.latest_upgrade(ref)
            except AzureRequestFailed:
                raise err from err.__cause__
            if not landed(status):
                raise
            log.info("%s: no answer, but the latest upgrade shows it took effect", action)


@contextmanager
def interrupted_write(ref: ScaleSetRef, sent: list[bool]) -> Iterator[None]:
    """Ctrl-C during a write: say whether the change was sent, and how to check whether it landed."""
    try:
        yield
    except KeyboardInterrupt:
        if not sent:
            raise WriteInterrupted(
                f"interrupted before the update of {ref.name} was sent: nothing was changed"
            ) from None
        raise WriteInterrupted(
            f"interrupted after the update of {ref.name} was sent: Azure may have applied it. Check with "
            f"`vmssroll status {ref.args()}` (and `vmssroll policy show {ref.args()}`) before re-running; "
            "nothing was cancelled"
        ) from None


def _updating(ss: ScaleSet) -> bool:
    """Azure is still applying a write to it (provisioningState Updating, in any case)."""
    return (ss.provisioning_state or "").lower() == "updating"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _refused_as_flexible(err: AzureRequestFailed) -> bool:
    """Azure's 400 for the scale-set VM API on a Flexible scale set (FACTS.md)."""
    return err.status == 400 and "virtualMachines.GET' is not allowed" in err.message


def rate_limits(headers: Mapping[str, str]) -> dict[str, int]:
    """The read budgets an answer states (see `domain.ratelimit`): what the watch slows down for."""
    return read_budgets(headers)


def _date_of(err: Exception) -> Any:
    """Azure's `Date` from the answer behind a translated error, when there was one."""
    response = getattr(err.__cause__, "response", None)
    headers = getattr(response, "headers", None) or {}
    return server_time(headers.get("Date"))


def _document(model: Any, action: str) -> dict[str, Any]:
    """An SDK model as its REST document; the SDK hands back a bare list, string or None when Azure's answer
    was not an object, and that is one clear failure, not an AttributeError."""
    as_dict = getattr(model, "as_dict", None)
    if as_dict is None:
        raise unreadable(action, f"a {type(model).__name__} where an object was expected")
    return dict(as_dict())


def _operation_url() -> tuple[list[str], Any]:
    """A list that gets the URL of the operation Azure answers with (`Azure-AsyncOperation`, else `Location`),
    and the SDK's `raw_response_hook` that fills it."""
    seen: list[str] = []

    def hook(pipeline_response: Any) -> None:
        headers = pipeline_response.http_response.headers
        url = headers.get("Azure-AsyncOperation") or headers.get("Location")
        if url and not seen:
            seen.append(url)

    return seen, hook


def default_ca_bundle() -> str:
    """The CA bundle requests trusts by default (certifi's), named explicitly; see `connection_verify`."""
    from requests.utils import DEFAULT_CA_BUNDLE_PATH

    return str(DEFAULT_CA_BUNDLE_PATH)


def visible_retry_policy(deadline: Budget | None = None, **options: Any) -> Any:
    """azure-core's RetryPolicy with the same settings and decisions, but every wait is said on the log (a
    warning, so a command that is slow because Azure throttles or fails says so instead of looking hung)."""
    from azure.core.pipeline.policies import RetryPolicy

    class VisibleRetryPolicy(RetryPolicy):
        def is_retry(self, settings: Any, response: Any) -> bool:
            # azure-core retries ANY answer with Retry-After; on one that is not an error (an operation's poll
            # saying InProgress) it says when to poll next, which the caller does on its own clock.
            if response.http_response.status_code < 400:
                return False
            return bool(super().is_retry(settings, response))

        def increment(self, settings: Any, response: Any = None, error: Any = None) -> bool:
            # Azure asking for a longer wait than a command should sit silent for (or longer than the time
            # left): the answer is returned as it is, and the command reports it (a watch waits on its own).
            answered = response is not None and hasattr(response, "http_response")
            wait = self.get_retry_after(response) if answered else None
            left = deadline.left() if deadline is not None else None
            if wait is not None and (wait > SDK_MAX_WAIT or (left is not None and wait >= left)):
                return False
            return bool(super().increment(settings, response=response, error=error))

        def sleep(self, settings: Any, transport: Any, response: Any = None) -> None:
            wait = self.get_retry_after(response) if response is not None else None
            if not wait:
                wait = self.get_backoff_time(settings)
            if deadline is not None:
                wait = deadline.cap(
                    wait
                )  # never past the deadline (Retry-After is already capped and finite)
            history = settings.get("history") or []
            if response is not None:
                http = response.http_response
                what = f"{http.status_code} {http.reason or ''}".strip()
                request = response.http_request
                budget = min(self.total_retries, self.status_retries)
            else:
                last = history[-1] if history else None
                what = f"no answer ({type(getattr(last, 'error', None)).__name__})"
                request = getattr(last, "http_request", None)
                budget = min(self.total_retries, max(self.connect_retries, self.read_retries))
            log.warning(
                "Azure: %s on %s; retrying in %.1fs (retry %d of at most %d)",
                what,
                getattr(request, "method", "request"),
                wait,
                len(history),
                budget,
            )
            transport.sleep(wait)  # what RetryPolicy.sleep would wait, capped

    return VisibleRetryPolicy(**options)
