"""The GeckoForm emulator served over real HTTP on a free loopback port (demo and e2e tests).

One server answers both GeckoAuth and the GeckoForm API: GeckoAuth at its root
(`/tokens/refresh`) and each region's API under `/api-<region>` (`/api-eu/forms`), so the
function is pointed at it with

    GECKO_AUTH_URL=http://127.0.0.1:PORT
    GECKO_API_URL_TEMPLATE=http://127.0.0.1:PORT/api-{region}

The emulator's Drop becomes, over a socket:
- Drop(processed=True), the answer lost after GeckoAuth spent the token: the connection is
  closed without a byte of answer, so the client sees the server hang up after it sent the
  request and cannot know what happened;
- Drop(processed=False), the connection never made: a live server cannot refuse a connection
  it has already accepted, so it resets it (TCP RST) without a byte of answer. The client
  sees a reset, not a refused connect, and rightly treats it as an unknown outcome; the
  emulator knows nothing was processed (the token is not spent). A true refused connect is
  produced by pointing GECKO_AUTH_URL at a closed loopback port (see `closed_port`).
"""

from __future__ import annotations

import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.emulator.gecko import Drop, GeckoEmulator

API_PATH_PREFIX = "/api-"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: a drop never hits a reused one
    dropped = False

    def do_GET(self) -> None:
        emulator = self.server.emulator
        url = self.server.base_url + self.path
        try:
            reply = emulator.handle("GET", url, dict(self.headers.items()))
        except Drop as drop:
            self.close_connection = self.dropped = True
            if drop.processed:
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                _reset(self.connection)
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def finish(self) -> None:
        if not self.dropped:  # a dropped connection has nothing left to flush
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log: its lines would go to stderr of the demo."""


def _reset(connection: socket.socket) -> None:
    """Close with SO_LINGER 0, which sends a TCP RST instead of an orderly FIN."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: GeckoEmulator
    base_url: str


class EmulatorServer:
    """A GeckoEmulator on a free loopback port; use as a context manager or start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", **emulator_options: Any) -> None:
        self._httpd = _Server((host, 0), _Handler)
        port = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{port}"
        self.emulator = GeckoEmulator(
            auth_url=self.auth_url, api_url_template=self.api_url_template, **emulator_options
        )
        self._httpd.emulator = self.emulator
        self._httpd.base_url = self.base_url
        self._thread: threading.Thread | None = None

    @property
    def auth_url(self) -> str:
        return self.base_url

    @property
    def api_url_template(self) -> str:
        return self.base_url + API_PATH_PREFIX + "{region}"

    def environment(self) -> dict[str, str]:
        """The function's settings that point it at this server."""
        return {"GECKO_AUTH_URL": self.auth_url, "GECKO_API_URL_TEMPLATE": self.api_url_template}

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="gecko-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port(host: str = "127.0.0.1") -> int:
    """A loopback port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
