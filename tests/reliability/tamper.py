"""A tiny HTTPS proxy in front of the emulator that can rewrite answers (bodies the emulator would never
send).

Each request is forwarded to the emulator unchanged; `tamper(method, path, status, body)` may return a new
`(status, body_bytes)` for the answer. The emulator's address is rewritten to the proxy's in every header and
body, so nextLink and Azure-AsyncOperation URLs come back through the proxy too.
"""

from __future__ import annotations

import http.client
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trustme

Tamper = Callable[[str, str, int, bytes], "tuple[int, bytes] | None"]


@contextmanager
def tampering_proxy(emu: Any, tamper: Tamper) -> Iterator[tuple[str, str]]:
    """Serve a proxy in front of `emu`; yields (url, ca_path)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    upstream = urlsplit(emu.url)
    upstream_ctx = ssl.create_default_context(cafile=emu.ca_path)
    holder: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            conn = http.client.HTTPSConnection(
                upstream.hostname, upstream.port, context=upstream_ctx, timeout=10
            )
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(self.command, self.path, body=raw or None, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            status = resp.status
            out_headers = [
                (k, v) for k, v in resp.getheaders() if k.lower() not in ("content-length", "connection")
            ]
            conn.close()
            body = body.replace(emu.url.encode(), holder["url"].encode())
            out_headers = [(k, v.replace(emu.url, holder["url"])) for k, v in out_headers]
            changed = tamper(self.command, self.path.split("?", 1)[0], status, body)
            if changed is not None:
                status, body = changed
            self.send_response(status)
            for key, value in out_headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    holder["url"] = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    with tempfile.TemporaryDirectory(prefix="vmssroll-tamper-") as tmp:
        ca_path = str(Path(tmp) / "ca.pem")
        ca.cert_pem.write_to_path(ca_path)
        try:
            yield holder["url"], ca_path
        finally:
            server.shutdown()
            server.server_close()
