"""A hostile HTTPS server for tests: on 127.0.0.1 only, with a trustme CA (as the emulator's), in front of the
emulator. Every request is forwarded to the emulator unless the test's `rule` answers it itself, and a rule
can answer as no honest server would: echo the token, trickle bytes, never answer, send a giant Retry-After, a
foreign or looping nextLink, a huge body, no etag, or escape sequences. Every request it receives is recorded
(with its Authorization header) so that a test can say where the token went."""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trustme

CA = trustme.CA()  # one CA for every hostile server, so a "foreign" one is trusted too: only the host differs
CERT = CA.issue_cert("127.0.0.1", "localhost")


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None
    headers: dict[str, str] = field(default_factory=dict)


class Answer:
    """What a rule can do with the handler `h` it is given."""

    def __init__(self, h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        self.h = h
        self.stop = stop

    def send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        self.h.send_response(status)
        self.h.send_header("Content-Type", "application/json; charset=utf-8")
        self.h.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.h.send_header(key, value)
        self.h.end_headers()
        self.h.wfile.write(payload)

    def trickle(self, status: int, body: bytes, every: float = 0.2) -> None:
        """Headers at once, then one byte of the body every `every` seconds."""
        self.h.send_response(status)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Content-Length", str(len(body)))
        self.h.end_headers()
        self.h.wfile.flush()
        for byte in body:
            if self.stop.wait(every):
                return
            self.h.wfile.write(bytes([byte]))
            self.h.wfile.flush()

    def hang(self) -> None:
        """Read the request and never answer (until the server stops)."""
        self.stop.wait(600)

    def endless(self, chunk: int = 1 << 20) -> None:
        """A 200 with a chunked body that never ends (until the client goes away)."""
        self.h.send_response(200)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Transfer-Encoding", "chunked")
        self.h.end_headers()
        block = b" " * chunk
        with contextlib.suppress(OSError):
            head = b'{"value": ['
            self.h.wfile.write(f"{len(head):x}\r\n".encode() + head + b"\r\n")
            while not self.stop.is_set():
                self.h.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")


Rule = Callable[[Seen, Answer], bool]  # True: answered; False: forward to the emulator


class Hostile:
    def __init__(self, emu: Any) -> None:
        self.emu = emu
        self.rule: Rule = lambda seen, answer: False
        self.seen: list[Seen] = []
        self.stop_event = threading.Event()
        self.tamper: (
            Callable[[Seen, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]] | None
        ) = None
        self._dir = tempfile.TemporaryDirectory(prefix="vmssroll-hostile-")
        self.ca_path = str(Path(self._dir.name) / "ca.pem")
        CA.cert_pem.write_to_path(self.ca_path)
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                seen = Seen(
                    self.command,
                    self.path,
                    self.headers.get("Authorization"),
                    {k.lower(): v for k, v in self.headers.items()},
                )
                hostile.seen.append(seen)
                if hostile.rule(seen, Answer(self, hostile.stop_event)):
                    return
                status, headers, body = hostile.forward(self.command, self.path, dict(self.headers), raw)
                if hostile.tamper is not None:
                    status, headers, body = hostile.tamper(seen, status, headers, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        CERT.configure_cert(ctx)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def forward(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, bytes]:
        upstream = urlsplit(self.emu.url)
        conn = http.client.HTTPSConnection(
            upstream.hostname,
            upstream.port,
            context=ssl.create_default_context(cafile=self.emu.ca_path),
            timeout=10,
        )
        sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection", "content-length")}
        conn.request(method, path, body=raw or None, headers=sent)
        resp = conn.getresponse()
        body = resp.read().replace(self.emu.url.encode(), self.url.encode())
        out = {
            k: v.replace(self.emu.url, self.url)
            for k, v in resp.getheaders()
            if k.lower() not in ("content-length", "connection", "transfer-encoding")
        }
        conn.close()
        return resp.status, out, body

    def env(self) -> dict[str, str]:
        return {"VMSSROLL_ARM_ENDPOINT": self.url, "VMSSROLL_CA_BUNDLE": self.ca_path}

    def close(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
        self._dir.cleanup()


@contextlib.contextmanager
def hostile_server(emu: Any) -> Iterator[Hostile]:
    server = Hostile(emu)
    try:
        yield server
    finally:
        server.close()


def in_time(fn: Callable[[], Any], seconds: float = 20.0) -> tuple[Any, float]:
    """Run fn in a thread and return (its result, real seconds taken); fail instead of hanging the suite."""
    box: list[Any] = []

    def call() -> None:
        try:
            box.append(("ok", fn()))
        except BaseException as exc:
            box.append(("raised", exc))

    began = time.monotonic()
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds}s"
    kind, value = box[0]
    if kind == "raised":
        raise value
    return value, time.monotonic() - began
