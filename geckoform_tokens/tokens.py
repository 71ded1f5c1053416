"""The token model: one GeckoForm token set, parsed, validated and described without its values.

Every entry point (rotation function, CLI, consumer library) reads tokens through this module.
Tokens are decoded without verifying their signature: GeckoAuth publishes no signing keys, and
the GeckoForm API itself is the judge of a token (testSecret asks it).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import jwt

from geckoform_tokens.exceptions import InvalidRegion, InvalidTokenSet, TokenExpired

ACCESS_KEY: Final = "AccessToken"
ID_KEY: Final = "IdToken"
REFRESH_KEY: Final = "RefreshToken"
TOKEN_KEYS: Final = (ACCESS_KEY, ID_KEY, REFRESH_KEY)

# One DNS label, lower case: 'eu', 'us-e'. Anything else (empty, dotted, slashed, '@', '#',
# ports, upper case) is refused before a URL is built, so a token is never sent elsewhere.
_NOT_JSON: Final = object()
_REGION_LABEL: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def validate_region(region: object) -> str:
    """Return `region` if it is a single lower-case DNS label, else raise InvalidRegion."""
    if not isinstance(region, str) or not _REGION_LABEL.fullmatch(region):
        raise InvalidRegion(
            "The access token's region claim is not a single DNS label such as 'eu' or 'us-e'; "
            "the token will not be sent anywhere."
        )
    return region


def fingerprint(value: str) -> str:
    """A short, non-reversible name for a token: the first 12 hex digits of its sha256."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def iso(timestamp: int | float) -> str:
    """A unix time as an ISO 8601 UTC string, to the second."""
    return (
        datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


class Jwt:
    """One encoded JWT and its (unverified) claims. Its value never appears in repr or str."""

    __slots__ = ("_value", "claims", "kind")

    def __init__(self, kind: str, value: str, claims: Mapping[str, Any]) -> None:
        self.kind = kind
        self._value = value
        self.claims = claims

    @classmethod
    def parse(cls, kind: str, value: object) -> Jwt:
        """Decode `value` as a JWT carrying an integer `exp`, or raise InvalidTokenSet."""
        if not isinstance(value, str) or value.count(".") != 2:
            raise InvalidTokenSet(f"{kind} is not a JWT (three dot-separated parts).")
        try:
            claims = jwt.decode(value, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidTokenSet(f"{kind} is not a decodable JWT.") from exc
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise InvalidTokenSet(f"{kind} has no integer exp claim.")
        return cls(kind, value, claims)

    @property
    def value(self) -> str:
        """The encoded token. Only for sending it to GeckoForm or storing it."""
        return self._value

    @property
    def exp(self) -> int:
        return int(self.claims["exp"])

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._value)

    def seconds_left(self, now: float | None = None) -> float:
        return self.exp - (time.time() if now is None else now)

    def expired(self, now: float | None = None, margin: float = 0.0) -> bool:
        """True once fewer than `margin` seconds are left (exp is the last valid second)."""
        return self.seconds_left(now) < margin

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Jwt) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"<Jwt {self.kind} fp={self.fingerprint} exp={iso(self.exp)}>"

    __str__ = __repr__


class TokenSet:
    """GeckoForm's three tokens, as one secret version holds them."""

    __slots__ = ("access", "id", "refresh")

    def __init__(self, access: Jwt, id_token: Jwt, refresh: Jwt) -> None:
        self.access = access
        self.id = id_token
        self.refresh = refresh

    @classmethod
    def from_mapping(cls, data: object, source: str = "secret value") -> TokenSet:
        """Build from a mapping with GeckoAuth's keys; other keys are ignored."""
        if not isinstance(data, Mapping):
            raise InvalidTokenSet(f"The {source} is not a JSON object.")
        missing = [key for key in TOKEN_KEYS if not data.get(key)]
        if missing:
            raise InvalidTokenSet(f"The {source} lacks {', '.join(missing)}.")
        return cls(
            Jwt.parse(ACCESS_KEY, data[ACCESS_KEY]),
            Jwt.parse(ID_KEY, data[ID_KEY]),
            Jwt.parse(REFRESH_KEY, data[REFRESH_KEY]),
        )

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "secret value") -> TokenSet:
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            data = _NOT_JSON  # raised below, outside the except: the JSON error holds the text
        if data is _NOT_JSON:
            raise InvalidTokenSet(f"The {source} is not JSON.")
        return cls.from_mapping(data, source)

    @property
    def region(self) -> str:
        """The API region from the access token's `region` claim, strictly validated."""
        return validate_region(self.access.claims.get("region"))

    @property
    def subject(self) -> object:
        return self.access.claims.get("sub")

    def require_refreshable(self, now: float | None = None) -> None:
        """Raise TokenExpired unless the refresh token can still be used."""
        if self.refresh.expired(now):
            raise TokenExpired(
                f"The refresh token expired at {iso(self.refresh.exp)}; the chain is broken. "
                "Copy the latest tokens from the API user's Active Sessions page into the secret."
            )

    def require_same_subject(self) -> None:
        """Raise InvalidTokenSet unless the three tokens name the same `sub`."""
        subjects = {repr(token.claims.get("sub")) for token in self.tokens()}
        if len(subjects) != 1 or self.subject is None:
            raise InvalidTokenSet(
                "The three tokens do not belong together (their sub claims differ or are missing); "
                "copy all three from the same Active Sessions entry."
            )

    def tokens(self) -> tuple[Jwt, Jwt, Jwt]:
        return (self.access, self.id, self.refresh)

    def to_json(self) -> str:
        """The secret value: the three tokens plus non-secret facts for readers."""
        data: dict[str, Any] = {
            ACCESS_KEY: self.access.value,
            ID_KEY: self.id.value,
            REFRESH_KEY: self.refresh.value,
            "AccessTokenExpiresAt": iso(self.access.exp),
            "RefreshTokenExpiresAt": iso(self.refresh.exp),
        }
        region = self.access.claims.get("region")
        if isinstance(region, str):
            data["Region"] = region
        return json.dumps(data)

    def describe(self, now: float | None = None) -> dict[str, Any]:
        """Non-secret facts about the set: safe to log or print."""
        now = time.time() if now is None else now
        region = self.access.claims.get("region")
        return {
            "region": region
            if isinstance(region, str) and _REGION_LABEL.fullmatch(region)
            else None,
            "access_expires_at": iso(self.access.exp),
            "access_hours_left": round(self.access.seconds_left(now) / 3600, 1),
            "refresh_expires_at": iso(self.refresh.exp),
            "refresh_days_left": round(self.refresh.seconds_left(now) / 86400, 1),
            "access_fp": self.access.fingerprint,
            "refresh_fp": self.refresh.fingerprint,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenSet) and other.tokens() == self.tokens()

    def __hash__(self) -> int:
        return hash(self.tokens())

    def __repr__(self) -> str:
        return f"<TokenSet access={self.access.fingerprint} refresh={self.refresh.fingerprint}>"

    __str__ = __repr__
