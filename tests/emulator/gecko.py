"""GeckoAuth and GeckoForm as one in-memory object: mints JWTs, enforces single-use refresh
tokens, accepts an access token only at its region's API host, and injects faults on demand.

It speaks plain (method, url, headers) -> Reply so that one implementation serves both the
`responses` adapter (unit and functional tests) and the loopback HTTP server (demo, e2e).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import jwt

from geckoform_tokens.config import DEFAULT_API_URL_TEMPLATE, DEFAULT_AUTH_URL
from geckoform_tokens.tokens import fingerprint

SIGNING_KEY = "emulator-signing-key-not-a-secret-0123456789"
DAY = 86400


class Fault(Enum):
    """What the next matching request suffers."""

    UNAVAILABLE = "503"  # 503, nothing processed
    THROTTLED = "429"  # 429 with Retry-After, nothing processed
    CONNECT = "connect"  # the connection is never made, nothing processed
    LOST = "lost"  # processed (refresh token spent), then the answer is lost
    HTML = "html"  # processed, answered with an HTML page
    INCOMPLETE = "incomplete"  # processed, answered with JSON lacking the refresh token
    REJECT = "401"  # 401 whatever the token
    SERVER_ERROR = "500"  # processed, 500


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: object) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


class Drop(Exception):
    """The connection fails: before the request reached the server, or after it was processed."""

    def __init__(self, processed: bool) -> None:
        super().__init__("answer lost after processing" if processed else "connection never made")
        self.processed = processed


def _template_pattern(template: str) -> re.Pattern[str]:
    escaped = re.escape(template.rstrip("/")).replace(re.escape("{region}"), "(?P<region>[^/]+)")
    return re.compile(f"^{escaped}(?P<path>/.*)?$")


class GeckoEmulator:
    """GeckoAuth (/tokens/refresh) and GeckoForm (/forms) for the tests. Thread-safe."""

    def __init__(
        self,
        auth_url: str = DEFAULT_AUTH_URL,
        api_url_template: str = DEFAULT_API_URL_TEMPLATE,
        clock: Callable[[], float] = time.time,
        access_ttl: int = DAY,
        refresh_ttl: int = 30 * DAY,
    ) -> None:
        self.auth_url = auth_url.rstrip("/")
        self.api_url_template = api_url_template
        self._api = _template_pattern(api_url_template)
        self.clock = clock
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.refresh_faults: deque[Fault] = deque()
        self.api_faults: deque[Fault] = deque()
        self.refresh_log: list[tuple[str, int | str]] = []  # (refresh fingerprint, status or fault)
        self.api_log: list[tuple[str, int | str]] = []  # (region asked, status or fault)
        self.live_refresh: set[str] = set()  # refresh tokens GeckoAuth still accepts
        self.spent_refresh: set[str] = set()
        self.issued: list[dict[str, str]] = []
        self.minted: list[str] = []  # every token it ever signed, for leak checks
        self.lost_answers = 0
        self._jti = itertools.count(1)
        self._lock = threading.Lock()

    # -- minting ---------------------------------------------------------------------------
    def mint(self, claims: Mapping[str, Any]) -> str:
        """Sign arbitrary claims (tests use it for hostile or broken tokens)."""
        token = jwt.encode(dict(claims), SIGNING_KEY, algorithm="HS256")
        self.minted.append(token)
        return token

    def issue(
        self, region: str = "eu", sub: str = "api-user-1", **overrides: Any
    ) -> dict[str, str]:
        """A live token set, as Active Sessions shows it; `overrides` go on the access token."""
        with self._lock:
            return self._issue(region, sub, overrides)

    def _issue(self, region: str, sub: str, overrides: Mapping[str, Any]) -> dict[str, str]:
        now = int(self.clock())
        base = {"sub": sub, "iat": now}
        access = self.mint(
            {
                **base,
                "typ": "access",
                "region": region,
                "exp": now + self.access_ttl,
                "jti": f"a{next(self._jti)}",
                **overrides,
            }
        )
        id_token = self.mint(
            {**base, "typ": "id", "exp": now + self.access_ttl, "jti": f"i{next(self._jti)}"}
        )
        refresh = self.mint(
            {
                **base,
                "typ": "refresh",
                "region": region,
                "exp": now + self.refresh_ttl,
                "jti": f"r{next(self._jti)}",
            }
        )
        self.live_refresh.add(refresh)
        tokens = {"AccessToken": access, "IdToken": id_token, "RefreshToken": refresh}
        self.issued.append(tokens)
        return tokens

    def revoke(self, refresh_token: str) -> None:
        with self._lock:
            self.live_refresh.discard(refresh_token)

    def _claims(self, token: str) -> dict[str, Any] | None:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                SIGNING_KEY,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return None
        return claims if claims.get("exp", 0) >= self.clock() else None

    # -- serving ---------------------------------------------------------------------------
    def handle(self, method: str, url: str, headers: Mapping[str, str]) -> Reply:
        """Answer one request, or raise Drop. The adapters call this."""
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        plain = url.split("?", 1)[0]
        with self._lock:
            if method == "GET" and plain == f"{self.auth_url}/tokens/refresh":
                return self._refresh(token)
            match = self._api.match(plain)
            if method == "GET" and match and (match.group("path") or "").startswith("/forms"):
                return self._forms(match.group("region"), token)
        return Reply.json(404, {"message": "Not Found"})

    def _refresh(self, token: str) -> Reply:
        fp = fingerprint(token)
        fault = self.refresh_faults.popleft() if self.refresh_faults else None
        if fault in (Fault.UNAVAILABLE, Fault.THROTTLED, Fault.CONNECT, Fault.REJECT):
            self.refresh_log.append((fp, fault.value))
            return self._unprocessed(fault)
        claims = self._claims(token)
        if claims is None or claims.get("typ") != "refresh" or token not in self.live_refresh:
            self.refresh_log.append((fp, 401))
            return Reply.json(401, {"message": "Unauthorized"})
        self.live_refresh.discard(token)
        self.spent_refresh.add(token)
        new = self._issue(claims["region"], claims["sub"], {})
        self.refresh_log.append((fp, fault.value if fault else 200))
        if fault is Fault.LOST:
            self.lost_answers += 1
            raise Drop(processed=True)
        if fault is Fault.HTML:
            return Reply(
                200, b"<html><body>Gateway says hello</body></html>", {"Content-Type": "text/html"}
            )
        if fault is Fault.INCOMPLETE:
            return Reply.json(200, {"AccessToken": new["AccessToken"], "IdToken": new["IdToken"]})
        if fault is Fault.SERVER_ERROR:
            return Reply.json(500, {"message": "Internal Server Error"})
        expires = int(self.clock()) + self.access_ttl
        return Reply.json(200, {**new, "ExpiresIn": expires, "TokenType": None})

    def _forms(self, region: str, token: str) -> Reply:
        fault = self.api_faults.popleft() if self.api_faults else None
        if fault is not None:
            self.api_log.append((region, fault.value))
            if fault is Fault.LOST:
                raise Drop(processed=True)
            return self._unprocessed(fault)
        claims = self._claims(token)
        ok = claims is not None and claims.get("typ") == "access" and claims.get("region") == region
        self.api_log.append((region, 200 if ok else 401))
        if not ok:
            return Reply.json(401, {"message": "Unauthenticated."})
        return Reply.json(200, {"data": [{"id": 1, "name": "Open day"}], "meta": {"per_page": 1}})

    @staticmethod
    def _unprocessed(fault: Fault) -> Reply:
        if fault is Fault.CONNECT:
            raise Drop(processed=False)
        if fault is Fault.THROTTLED:
            return Reply(429, b'{"message": "Too Many Attempts."}', {"Retry-After": "1"})
        if fault is Fault.REJECT:
            return Reply.json(401, {"message": "Unauthorized"})
        if fault is Fault.SERVER_ERROR:
            return Reply.json(500, {"message": "Internal Server Error"})
        return Reply.json(503, {"message": "Service Unavailable"})
