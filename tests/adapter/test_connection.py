"""Where requests go and with which credential: the cloud and endpoint checked before anything is sent, the
loopback rule for the emulator's static token, the credential chain's failure turned into one line, and one
token shared by every thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from vmssroll.adapter.connection import (
    CLOUDS,
    EMULATOR_TOKEN,
    NEVER_EXPIRES,
    Connection,
    EmulatorCredential,
    QuietDefaultCredential,
    SharedToken,
    credential_for,
    is_loopback,
    resolve_connection,
)
from vmssroll.domain.errors import AuthFailed, InvalidInput, Unreachable
from vmssroll.redaction import redact

SUB = "6f1c9b2e-0d3a-4c7e-9a51-2b8f4e7d1a01"
ENDPOINT_RULE = "must be an https:// URL with a host, and no query (bearer tokens are never sent over http)"


def resolve(
    cloud: str = "AzureCloud", endpoint: str | None = None, ca_bundle: str | None = None
) -> Connection:
    return resolve_connection(cloud=cloud, endpoint=endpoint, ca_bundle=ca_bundle, subscription=SUB)


@pytest.mark.parametrize(
    ("cloud", "endpoint", "authority"),
    [
        ("AzureCloud", "https://management.azure.com", "login.microsoftonline.com"),
        ("azurecloud", "https://management.azure.com", "login.microsoftonline.com"),
        ("AzureUSGovernment", "https://management.usgovcloudapi.net", "login.microsoftonline.us"),
        ("AZURECHINACLOUD", "https://management.chinacloudapi.cn", "login.chinacloudapi.cn"),
    ],
)
def test_each_cloud_has_its_endpoint_scope_and_authority(cloud: str, endpoint: str, authority: str) -> None:
    conn = resolve(cloud)
    assert conn == Connection(
        endpoint=endpoint,
        scope=f"{endpoint}/.default",
        authority=authority,
        ca_bundle=None,
        subscription=SUB,
        debug=False,
    )
    assert conn.is_loopback is False


def test_an_unknown_cloud_names_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve("AzureGermanCloud")
    assert caught.value.message == (
        "--cloud 'AzureGermanCloud' is not one of AzureCloud, AzureUSGovernment, AzureChinaCloud"
    )
    assert sorted(CLOUDS) == ["azurechinacloud", "azurecloud", "azureusgovernment"]


def test_an_endpoint_keeps_the_clouds_scope_and_authority_and_loses_its_trailing_slash() -> None:
    conn = resolve_connection(
        cloud="AzureUSGovernment",
        endpoint="https://arm.example.net:8443/base/",
        ca_bundle=None,
        subscription=SUB,
        debug=True,
    )
    assert (conn.endpoint, conn.scope, conn.authority, conn.debug) == (
        "https://arm.example.net:8443/base",
        "https://management.usgovcloudapi.net/.default",
        "login.microsoftonline.us",
        True,
    )


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://management.azure.com",
        "ftp://management.azure.com",
        "management.azure.com",
        "https://",
        "https://:443/x",
        "https://arm.example.net:0",
        "https://arm.example.net:99999",
        "https://arm.example.net:port",
        "https://arm.example.net/?x=1",
        "https://arm.example.net/#top",
        "https://arm.example.net/a b",
        "https://arm.example.net/\x1b[2J",
    ],
)
def test_an_endpoint_that_is_not_a_plain_https_url_is_refused(endpoint: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve(endpoint=endpoint)
    assert caught.value.message.startswith("--endpoint ")
    assert caught.value.message.endswith(ENDPOINT_RULE)
    assert "\x1b" not in caught.value.message


def test_the_refused_endpoint_is_quoted_back() -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve(endpoint="http://arm.example.net")
    assert caught.value.message == f"--endpoint 'http://arm.example.net' {ENDPOINT_RULE}"


@pytest.mark.parametrize("endpoint", ["https://user:secret@arm.example.net", "https://user@arm.example.net/"])
def test_an_endpoint_with_user_info_is_refused_without_quoting_it(endpoint: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve(endpoint=endpoint)
    assert caught.value.message == (
        "--endpoint must not carry user info (user:password@host): vmssroll sends only a bearer token, "
        "from your Azure sign-in"
    )


PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_a_ca_bundle_must_be_a_pem_certificate_file(tmp_path: Path) -> None:
    good = tmp_path / "ca.pem"
    good.write_bytes(b"# a comment first\n" + PEM)
    assert resolve(ca_bundle=str(good)).ca_bundle == str(good)
    bad = tmp_path / "ca.txt"
    bad.write_bytes(b"not a certificate\n")
    with pytest.raises(InvalidInput) as caught:
        resolve(ca_bundle=str(bad))
    assert caught.value.message == f"--ca-bundle '{bad}' is not a PEM certificate file"
    late = tmp_path / "late.pem"
    late.write_bytes(b"#" * 5000 + b"\n" + PEM)  # only the head is looked at
    with pytest.raises(InvalidInput):
        resolve(ca_bundle=str(late))


def test_a_ca_bundle_that_cannot_be_read_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(InvalidInput) as caught:
        resolve(ca_bundle=str(missing))
    assert caught.value.message.startswith(f"--ca-bundle '{missing}': ")
    with pytest.raises(InvalidInput) as caught:
        resolve(ca_bundle=str(tmp_path))
    assert caught.value.message.startswith(f"--ca-bundle '{tmp_path}': ")


def test_validation_comes_before_the_ca_bundle_is_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve(endpoint="http://x", ca_bundle=str(tmp_path / "missing.pem"))
    assert caught.value.message.startswith("--endpoint ")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("https://localhost:8443", True),
        ("https://127.0.0.1:8443/x", True),
        ("https://127.9.9.9", True),
        ("https://[::1]:8443", True),
        ("https://LOCALHOST", True),
        ("https://localhost.example.com", False),
        ("https://10.0.0.1", False),
        ("https://[::2]", False),
        ("https://management.azure.com", False),
        ("not a url", False),
    ],
)
def test_loopback_endpoints(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_a_loopback_endpoint_gets_the_emulators_static_token() -> None:
    conn = resolve(endpoint="https://127.0.0.1:8443")
    assert conn.is_loopback is True
    credential = credential_for(conn)
    assert isinstance(credential, EmulatorCredential)
    token = credential.get_token(conn.scope)
    assert (token.token, token.expires_on) == (EMULATOR_TOKEN, NEVER_EXPIRES)
    assert credential.get_token("other/.default", tenant_id="t") is token


class Chain:
    """A test double for DefaultAzureCredential's chain: it fails as the chain does, or hands out tokens."""

    def __init__(
        self, failure: Exception | None = None, lifetime: float = 3600.0, prefix: str = "token"
    ) -> None:
        self.failure = failure
        self.prefix = prefix
        self.lifetime = lifetime
        self.calls: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self.lock:
            self.calls.append((scopes, kwargs))
            number = len(self.calls)
        if self.failure is not None:
            raise self.failure
        return AccessToken(f"{self.prefix}-{number}", int(time.time() + self.lifetime))


def quiet(chain: Chain) -> QuietDefaultCredential:
    credential = QuietDefaultCredential("login.microsoftonline.com")
    credential._inner = chain  # type: ignore[assignment]  # the chain replaced by its double
    return credential


def chain_failure(*tried: str) -> ClientAuthenticationError:
    lines = "\n".join(f"\t{line}" for line in tried)
    return ClientAuthenticationError(
        "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
        f"Attempted credentials:\n{lines}\nTo mitigate this issue, please refer to the troubleshooting guide."
    )


def test_the_chains_token_is_handed_on(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = Chain()
    token = quiet(chain).get_token("https://management.azure.com/.default")
    assert token.token == "token-1"
    assert chain.calls == [(("https://management.azure.com/.default",), {})]


def test_the_chains_token_is_redacted_from_everything_written_after() -> None:
    token = quiet(Chain(prefix="chain-token-5c1e09d7")).get_token("s").token
    assert redact(f"echoed {token} back") == "echoed REDACTED back"


def test_a_chain_that_finds_no_credential_says_how_to_sign_in() -> None:
    failure = chain_failure(
        "EnvironmentCredential: EnvironmentCredential authentication unavailable.",
        "AzureCliCredential: Please run 'az login' to set up an account",
    )
    with pytest.raises(AuthFailed) as caught:
        quiet(Chain(failure)).get_token("s")
    assert caught.value.message == "no Azure credential could get a token"
    assert caught.value.hint is not None and "az login" in caught.value.hint


def test_a_chain_that_stopped_on_the_network_says_which_host_and_why() -> None:
    failure = chain_failure(
        "EnvironmentCredential: EnvironmentCredential authentication unavailable.",
        "ClientSecretCredential: HTTPSConnectionPool(host='login.example.net', port=443): Max retries exceeded "
        "(Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))",
    )
    with pytest.raises(Unreachable) as caught:
        quiet(Chain(failure)).get_token("s")
    assert (
        caught.value.message == "getting a token: cannot reach login.example.net: the connection was refused"
    )
    assert caught.value.host == "login.example.net"


def test_only_the_last_credential_tried_decides() -> None:
    failure = chain_failure(
        "ManagedIdentityCredential: HTTPSConnectionPool(host='169.254.169.254', port=80): timed out",
        "AzureCliCredential: Please run 'az login' to set up an account",
    )
    with pytest.raises(AuthFailed):
        quiet(Chain(failure)).get_token("s")
    untabbed = ClientAuthenticationError("Connection refused by login.example.net")
    with pytest.raises(AuthFailed):  # not the chain's list of credentials: nothing to read the cause from
        quiet(Chain(untabbed)).get_token("s")


def test_unusable_credential_settings_are_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AZURE_CLIENT_SECRET", "AZURE_USERNAME", "AZURE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000000")
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.setenv("AZURE_CLIENT_CERTIFICATE_PATH", str(tmp_path / "missing.pem"))
    with pytest.raises(AuthFailed) as caught:
        QuietDefaultCredential("login.microsoftonline.com")
    assert caught.value.message.startswith("the Azure credential settings are not usable: ")
    assert caught.value.hint == "check the AZURE_CLIENT_* and AZURE_TOKEN_CREDENTIALS variables"


SCOPE = "https://management.azure.com/.default"


def test_one_token_is_shared_while_it_has_time_left() -> None:
    chain = Chain(lifetime=3600)
    shared = SharedToken(chain, SCOPE)
    first = shared.get_token(SCOPE)
    assert shared.get_token(SCOPE) is first and len(chain.calls) == 1


def test_a_token_near_its_end_is_fetched_again() -> None:
    chain = Chain(lifetime=SharedToken.REUSE_MARGIN - 30)
    shared = SharedToken(chain, SCOPE)
    assert SharedToken.REUSE_MARGIN == 600
    assert [shared.get_token(SCOPE).token for _ in range(2)] == ["token-1", "token-2"]
    roomy = Chain(lifetime=SharedToken.REUSE_MARGIN + 60)
    shared = SharedToken(roomy, SCOPE)
    assert [shared.get_token(SCOPE).token for _ in range(2)] == ["token-1", "token-1"]


def test_a_request_for_another_scope_or_with_options_is_asked_for_itself() -> None:
    chain = Chain()
    shared = SharedToken(chain, SCOPE)
    shared.get_token(SCOPE)
    assert shared.get_token("https://other/.default").token == "token-2"
    assert shared.get_token(SCOPE, claims='{"x":1}').token == "token-3"
    assert shared.get_token(SCOPE, tenant_id=None).token == "token-1"  # an empty option is no option
    assert shared.get_token(SCOPE).token == "token-1"  # neither replaced the shared one
    assert chain.calls[2] == ((SCOPE,), {"claims": '{"x":1}'})


def test_the_prefetched_token_is_the_one_every_thread_gets() -> None:
    chain = Chain()
    shared = SharedToken(chain, SCOPE).prefetch()
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(shared.get_token(SCOPE).token)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert got == ["token-1"] * 4 and len(chain.calls) == 1


def test_a_failure_in_the_background_is_raised_once_by_the_first_request() -> None:
    chain = Chain(failure=AuthFailed("no token"))
    shared = SharedToken(chain, SCOPE)
    shared._prefetch()
    assert len(chain.calls) == 1
    chain.failure = None
    with pytest.raises(AuthFailed) as caught:
        shared.get_token(SCOPE)
    assert caught.value.message == "no token"
    assert len(chain.calls) == 1  # raised as kept, not asked again
    assert shared.get_token(SCOPE).token == "token-2"  # the next one asks again
