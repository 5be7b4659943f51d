"""HTTPS server (http.server + ssl, trustme certificates) for the Emulator."""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import trustme

from .arm import Response
from .control import PREFIX
from .handlers import Request

if TYPE_CHECKING:
    from .app import Emulator


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator
    ssl_context: ssl.SSLContext

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients dropping connections (and dropped-by-fault ones) are not worth a traceback

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        # The TLS handshake happens lazily in the handler thread, never in the accept loop.
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        self.request.settimeout(60)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet; the emulator keeps its own request log

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Every answer's `Date` header, as ARM sends one: on the emulator's (simulated) clock."""
        return email.utils.format_datetime(self.server.emulator.clock.now(), usegmt=True)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        emu = self.server.emulator
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if parts.path.startswith(PREFIX):
            self._send(emu.handle_control(method, parts.path, body))
            return
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
        auth = self.headers.get("Authorization") or ""
        req = Request(method, parts.path, dict(parse_qsl(parts.query)), headers, body, emu.url)
        resp, drop = emu.handle_arm(req, auth.lower().startswith("bearer ") and len(auth) > 7)
        if drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(resp)

    def _send(self, resp: Response) -> None:
        payload = b"" if resp.body is None else json.dumps(resp.body).encode()
        self.send_response(resp.status)
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


def start_server(emu: Emulator, host: str, port: int) -> tuple[Any, threading.Thread, Any, str]:
    """Start serving `emu` over HTTPS in a daemon thread; returns (server, thread, ca dir, ca path)."""
    ca = trustme.CA()
    names = sorted({host, "127.0.0.1", "localhost", "::1"})
    cert = ca.issue_cert(*names)
    ca_dir = tempfile.TemporaryDirectory(prefix="vmssroll-emulator-")
    ca_path = str(Path(ca_dir.name) / "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    server_cls: type[_Server] = _Server6 if ":" in host else _Server
    server = server_cls((host, port), _Handler)
    server.emulator = emu
    server.ssl_context = ctx
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread, ca_dir, ca_path
