"""Serve the GeckoForm emulator through `responses`: no socket is opened."""

from __future__ import annotations

import re
from typing import Any

import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from tests.emulator import Drop, GeckoEmulator


def install(rsps: responses.RequestsMock, emulator: GeckoEmulator) -> None:
    """Route every GET through the emulator; a dropped connection becomes a requests error."""

    def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
        try:
            reply = emulator.handle(request.method, request.url, request.headers)
        except Drop as drop:
            if drop.processed:
                raise requests.ReadTimeout("Read timed out.") from None
            reason = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
            raise requests.ConnectionError(MaxRetryError(None, request.url, reason)) from None  # type: ignore[arg-type]
        return reply.status, dict(reply.headers), reply.body

    rsps.add_callback(responses.GET, re.compile(r".*"), callback=callback)
