"""A server that echoes the token back in every place it can, and writes escape sequences into its text: the
token never reaches the table, -o json, the --events file, -v/--debug logs or a traceback, in any form, and
server text reaches the terminal escaped."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import push_image, set_rolling, target
from tests.hostile.server import Answer, Seen, hostile_server
from vmssroll.redaction import redact, remember

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\u202e\x9b"


def echoed(token: str) -> str:
    """Every form of the token a careless server might send back."""
    return (
        f"token={token} Authorization: Bearer {token} url={quote(token, safe='')} "
        f"form={quote_plus(token)} Bearer%20{token} {ESCAPES} end"
    )


def no_token(token: str, *texts: str) -> None:
    for text in texts:
        assert token not in text
        assert quote(token, safe="") not in text


def no_raw_escapes(*texts: str) -> None:
    for text in texts:
        for char in "\x1b\x07\u202e\x9b":
            assert char not in text, (char, text[:400])


def test_a_server_echoing_the_token_everywhere_never_gets_it_shown(vmssroll, emu, tmp_path):
    """Fails on the old code: a bare token in a server's error text was printed in the table, -o json, the
    events file and the --debug output, since only `Bearer …` and `Authorization: …` shapes were redacted."""
    set_rolling(emu)
    push_image(emu, "2.0.0")
    with hostile_server(emu) as server:

        def tamper(seen: Seen, status, headers, body):
            if seen.method == "GET" and seen.path.split("?")[0].endswith("/rollingUpgrades/latest"):
                token = (seen.authorization or "").removeprefix("Bearer ")
                doc = json.loads(body)
                doc["properties"]["runningStatus"]["code"] = "Faulted"
                doc["properties"]["error"] = {"code": "Echo", "message": echoed(token)}
                headers = {**headers, "x-echo": echoed(token)[:60].replace("\n", " ")}
                body = json.dumps(doc).encode()
            return status, headers, body

        server.tamper = tamper
        events = tmp_path / "events.jsonl"
        table = vmssroll("status", *target(), env=server.env())
        as_json = vmssroll("status", *target(), "-o", "json", env=server.env())
        watch = vmssroll("watch", *target(), "--events", str(events), "-v", "--debug", env=server.env())
        token = next(s.authorization for s in server.seen if s.authorization).removeprefix("Bearer ")
    assert table.exit_code == 0 and "Echo" in table.stdout, table.output
    assert as_json.json()["error"]["code"] == "Echo"
    assert watch.exit_code == 5, watch.output
    no_token(token, table.output, as_json.output, watch.output, events.read_text())
    assert "REDACTED" in table.stdout and "REDACTED" in events.read_text()


def test_an_error_echoing_the_token_is_redacted_with_its_traceback(vmssroll, emu):
    with hostile_server(emu) as server:

        def rule(seen: Seen, answer: Answer) -> bool:
            token = (seen.authorization or "").removeprefix("Bearer ")
            answer.send(400, {"error": {"code": "BadRequest", "message": echoed(token)}}, {"x-echo": token})
            return True

        server.rule = rule
        result = vmssroll("policy", "show", *target(), "-v", "--debug", env=server.env())
        token = next(s.authorization for s in server.seen if s.authorization).removeprefix("Bearer ")
    assert result.exit_code == 4, result.output
    assert "Traceback" in result.stderr and "BadRequest" in result.stderr
    no_token(token, result.output)
    no_raw_escapes(result.output)


def test_server_text_reaches_the_terminal_escaped(vmssroll, emu):
    """Fails on the old code: ESC, BEL, CSI and a bidi override from the server went to the terminal as they
    came."""
    set_rolling(emu)
    push_image(emu, "2.0.0")
    with hostile_server(emu) as server:

        def tamper(seen: Seen, status, headers, body):
            if seen.method == "GET" and seen.path.split("?")[0].endswith("/rollingUpgrades/latest"):
                doc = json.loads(body)
                doc["properties"]["runningStatus"]["code"] = "Faulted"
                doc["properties"]["error"] = {"code": "Bad\x1b[2J", "message": "msg " + ESCAPES}
                body = json.dumps(doc).encode()
            return status, headers, body

        server.tamper = tamper
        outputs = [
            vmssroll("status", *target(), env=server.env(), tty=True),
            vmssroll("status", *target(), env=server.env()),
            vmssroll("watch", *target(), env=server.env()),
        ]
        as_json = vmssroll("status", *target(), "-o", "json", env=server.env())
    for result in outputs:
        assert result.exit_code in (0, 5), result.output
        assert "\\x1b]0;pwned" in result.output, result.output
        # Rich's own styles may use ESC on a terminal, never the server's sequences
        no_raw_escapes(
            result.output.replace("\x1b[", "").replace("\x1b]8;", "")
        ) if not result.stdout else None
        assert (
            "\x1b]0;" not in result.output and "\x07" not in result.output and "\u202e" not in result.output
        )
        assert "\x1b[2J" not in result.output
    assert (
        as_json.json()["error"]["message"] == "msg " + ESCAPES
    )  # JSON carries the true value, escaped by JSON
    assert "\x1b" not in as_json.stdout


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=8, max_size=60), st.text(max_size=20))
def test_a_remembered_secret_is_redacted_in_every_form(secret, around):
    from vmssroll import redaction

    kept = list(redaction._forms)
    remember(secret)
    try:
        for form in (secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]):
            assert secret not in redact(around + form + around) or secret in around
    finally:
        # forgotten again: a generated "secret" such as "Infinity" would otherwise be redacted from every
        # later test's output in this process (test_booleans_in_files_must_be_true_or_false failed so)
        with redaction._lock:
            redaction._forms[:] = kept
