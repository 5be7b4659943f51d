"""Where to send requests and with which credential: clouds, endpoints, CA bundles, the emulator token."""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from vmssroll.domain.errors import AuthFailed, InvalidInput, has_control, shown
from vmssroll.redaction import remember

# The static token vmssroll presents to an endpoint on a loopback address (the emulator needs no login).
EMULATOR_TOKEN = "vmssroll-emulator-token-7f3a9c"
NEVER_EXPIRES = 4_102_444_800  # 2100-01-01: a static token needs no refresh, and no clock is read for it


@dataclass(frozen=True)
class Cloud:
    name: str
    endpoint: str
    authority: str


CLOUDS = {
    c.name.lower(): c
    for c in (
        Cloud("AzureCloud", "https://management.azure.com", "login.microsoftonline.com"),
        Cloud("AzureUSGovernment", "https://management.usgovcloudapi.net", "login.microsoftonline.us"),
        Cloud("AzureChinaCloud", "https://management.chinacloudapi.cn", "login.chinacloudapi.cn"),
    )
}


@dataclass(frozen=True)
class Connection:
    """Everything needed to build a client, validated before any request."""

    endpoint: str
    scope: str
    authority: str
    ca_bundle: str | None
    subscription: str
    debug: bool = False

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.endpoint)


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_connection(
    *, cloud: str, endpoint: str | None, ca_bundle: str | None, subscription: str, debug: bool = False
) -> Connection:
    chosen = CLOUDS.get(cloud.lower())
    if chosen is None:
        raise InvalidInput(f"--cloud {cloud!r} is not one of {', '.join(c.name for c in CLOUDS.values())}")
    url = (endpoint or chosen.endpoint).rstrip("/")
    parsed = urlparse(url)
    if "@" in parsed.netloc:
        # Never quoted back, not even in part: it holds a user name and maybe a password.
        raise InvalidInput(
            "--endpoint must not carry user info (user:password@host): vmssroll sends only a bearer token, "
            "from your Azure sign-in"
        )
    try:
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:
        port_ok = False
    if (
        parsed.scheme != "https"
        or not parsed.hostname
        or not port_ok
        or parsed.query
        or parsed.fragment
        or has_control(url)
        or " " in url
    ):
        raise InvalidInput(
            f"--endpoint {shown(endpoint or url, 120)} must be an https:// URL with a host, and no query "
            "(bearer tokens are never sent over http)"
        )
    if ca_bundle is not None:
        from vmssroll.documents import DocumentError, read_bounded

        try:
            head = read_bounded(ca_bundle, limit=4 * 1024 * 1024)[:4096]  # a regular file: a FIFO never hangs
        except DocumentError as exc:
            raise InvalidInput(f"--ca-bundle {shown(ca_bundle, 200)}: {exc}") from None
        if b"-----BEGIN CERTIFICATE-----" not in head:
            raise InvalidInput(f"--ca-bundle {shown(ca_bundle, 200)} is not a PEM certificate file")
    return Connection(
        endpoint=url,
        scope=f"{chosen.endpoint}/.default",
        authority=chosen.authority,
        ca_bundle=ca_bundle,
        subscription=subscription,
        debug=debug,
    )


class EmulatorCredential:
    """A static bearer token for loopback endpoints."""

    def __init__(self) -> None:
        from azure.core.credentials import AccessToken  # imported here, never in SharedToken's thread

        self._token = AccessToken(EMULATOR_TOKEN, NEVER_EXPIRES)

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        remember(EMULATOR_TOKEN)
        return self._token


class QuietDefaultCredential:
    """DefaultAzureCredential with its warnings silenced and its failure turned into one clear line."""

    def __init__(self, authority: str, **options: Any) -> None:
        from azure.identity import DefaultAzureCredential

        for name in ("azure.identity", "azure.identity._credentials", "msal"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            # retry_connect=0: a token endpoint that cannot be reached (no DNS, refused, untrusted
            # certificate) fails at once instead of after azure-core's back-off; see network_failure.
            self._inner = DefaultAzureCredential(
                authority=authority, exclude_interactive_browser_credential=True, retry_connect=0, **options
            )
        except (ValueError, OSError) as exc:  # e.g. AZURE_CLIENT_CERTIFICATE_PATH naming no readable file
            raise AuthFailed(
                f"the Azure credential settings are not usable: {exc}",
                hint="check the AZURE_CLIENT_* and AZURE_TOKEN_CREDENTIALS variables",
            ) from None

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        from vmssroll.adapter.errors import looks_like_network, network_failure, no_credential

        try:
            token = self._inner.get_token(*scopes, **kwargs)
            remember(token.token)  # redacted from every output from now on, in any form
            return token
        except ClientAuthenticationError as err:
            # The chain stops at the first credential that failed for a reason other than "not configured";
            # when that reason is the network, saying "run az login" would send the operator the wrong way.
            tried = [line.strip() for line in str(err).splitlines() if line.startswith("\t")]
            if tried and looks_like_network(tried[-1]):
                raise network_failure(err, action="getting a token", text=tried[-1]) from None
            raise no_credential() from None


def credential_for(conn: Connection) -> Any:
    return EmulatorCredential() if conn.is_loopback else QuietDefaultCredential(conn.authority)


class SharedToken:
    """The command's credential behind one lock: its token is fetched in the background from the moment the
    client is being built (so the Azure CLI, which takes most of a second, runs while the SDK is imported),
    and every thread's requests share that one token instead of each asking for its own.

    The credential is built (azure.identity imported) before the thread starts: two threads importing parts
    of azure.core at once can meet Python's import deadlock detection (`_DeadlockError`, seen in the tests),
    and imports hold the GIL anyway, so only the waiting (the Azure CLI's process, a token endpoint) is
    overlapped. A failure in the background is kept and raised by the first request that needs the token, as
    if it had asked itself; the next one asks again. A token is reused while it has more than REUSE_MARGIN
    seconds left, more than the bearer policy's own refresh margin (5 minutes plus up to a minute of jitter),
    so a refresh it asks for is never answered with the token it is refreshing."""

    REUSE_MARGIN = 600

    def __init__(self, credential: Any, scope: str) -> None:
        self._credential = credential
        self._scope = scope
        self._lock = threading.Lock()
        self._token: Any = None
        self._failure: BaseException | None = None

    def prefetch(self) -> SharedToken:
        """Start getting the token in a daemon thread (it never keeps a finished command waiting)."""
        threading.Thread(target=self._prefetch, name="vmssroll-token", daemon=True).start()
        return self

    def _prefetch(self) -> None:
        try:
            self.get_token(self._scope)
        except Exception as err:  # said by the first request that needs the token
            with self._lock:
                self._failure = err

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        with self._lock:  # a second caller waits for the token being fetched, and gets it
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
            plain = scopes == (self._scope,) and not any(kwargs.values())
            token = self._token
            if plain and token is not None and token.expires_on - time.time() > self.REUSE_MARGIN:
                return token
            token = self._credential.get_token(*scopes, **kwargs)
            if plain:
                self._token = token
            return token
