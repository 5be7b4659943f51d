"""Network failures: one line with the host and the cause, exit 4, no login advice, and no slow retries for
what cannot pass by itself (a name that does not resolve, a refused connection, an untrusted certificate)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.helpers import target
from tests.reliability.checks import one_clear_line
from vmssroll.adapter.client import Azure
from vmssroll.adapter.connection import EmulatorCredential, QuietDefaultCredential


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_listener() -> Iterator[int]:
    """A socket that listens but never accepts: its queue is filled, so the kernel drops new connections."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for sock in [*fillers, server]:
            sock.close()


def no_login_advice(line: str) -> None:
    assert "az login" not in line and "credential" not in line, line


def test_a_closed_port_is_one_line_exit_4_and_not_retried(vmssroll, emu):
    port = closed_port()
    result = vmssroll("status", *target(), "--endpoint", f"https://127.0.0.1:{port}")
    assert result.exit_code == 4, result.output
    line = one_clear_line(result)  # no "retrying" warnings either: a refused connection is not retried
    assert line.startswith(
        f"error: reading scale set web: cannot reach 127.0.0.1:{port}: the connection was refused"
    )
    assert "((" not in line and "))" not in line
    no_login_advice(line)


def test_a_name_that_does_not_resolve_is_one_line_exit_4(vmssroll, emu, mocker):
    # A credential that works (as after `az login`), so only the network can fail.
    mocker.patch("vmssroll.adapter.client.credential_for", return_value=EmulatorCredential())
    result = vmssroll("policy", "show", *target(), "--endpoint", "https://nonexistent.invalid")
    assert result.exit_code == 4, result.output
    line = one_clear_line(result)
    assert "cannot reach nonexistent.invalid: the name does not resolve (DNS)" in line, line
    no_login_advice(line)


def test_an_untrusted_certificate_is_one_line_exit_4_and_not_retried(vmssroll, emu):
    result = vmssroll("status", *target(), env={"VMSSROLL_CA_BUNDLE": ""})
    assert result.exit_code == 4, result.output
    line = one_clear_line(result)
    assert f"cannot reach 127.0.0.1:{emu.url.rsplit(':', 1)[1]}: its TLS certificate is not trusted" in line
    assert "--ca-bundle" in line
    assert emu.requests == []


def test_a_server_that_never_answers_times_out_with_one_line(vmssroll, emu):
    with silent_listener() as port:
        result = vmssroll(
            "status",
            *target(),
            "--endpoint",
            f"https://127.0.0.1:{port}",
            azure_factory=lambda conn, retries: Azure(conn, retries=retries, connection_timeout=0.3),
        )
    assert result.exit_code == 4, result.output
    line = one_clear_line(result)
    assert f"cannot reach 127.0.0.1:{port}: the connection timed out after 0.3 s" in line, line
    no_login_advice(line)


@pytest.mark.parametrize(
    ("authority", "cause"),
    [("nonexistent.invalid", "the name does not resolve (DNS)"), (None, "the connection was refused")],
    ids=["dns", "refused"],
)
def test_credentials_that_exist_but_cannot_reach_their_token_endpoint_are_a_network_error(
    monkeypatch, tmp_path, authority, cause
):
    """A service principal in the environment and no way to the token endpoint: exit 4 and the host, not exit
    9 and "run az login" (which sends the operator the wrong way), and at once, not after azure-core's
    back-off."""
    from vmssroll.domain.errors import Unreachable

    host = authority or f"127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111")
    monkeypatch.setenv("AZURE_TENANT_ID", "22222222-2222-2222-2222-222222222222")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-real-secret")
    # No instance discovery: with an authority it does not know, MSAL would first ask the public cloud about
    # it.
    credential = QuietDefaultCredential(host, disable_instance_discovery=True)
    with pytest.raises(Unreachable) as caught:
        credential.get_token("https://management.azure.com/.default")
    err = caught.value
    assert err.exit_code == 4 and err.host == host
    assert err.message == f"getting a token: cannot reach {host}: {cause}"
    no_login_advice(f"{err.message} {err.hint}")
    assert not err.transient
