"""GeckoFormTokens: the tokens for other Lambdas, read from Secrets Manager and cached.

A consumer creates one instance at module scope and reads `access_token` (or uses `session()`)
in its handler. The secret's AWSCURRENT version is read once per execution environment and again
only when the cached access token comes within `expiry_margin` seconds of its `exp`, after
`max_age` seconds (so a rotation is picked up), or when the GeckoForm API answers 401.

The refresh token is parsed with the rest of the secret (one token model) and dropped at once:
nothing here keeps it, shows it or spends it. Only the rotation function calls /tokens/refresh,
because a refresh token works once and a second user of it would break the chain for everyone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, NoReturn
from urllib.parse import urlsplit

import boto3
import requests
from requests.structures import CaseInsensitiveDict

from geckoform_tokens.config import Settings
from geckoform_tokens.exceptions import InvalidTokenSet, SecretStoreError, TokenExpired
from geckoform_tokens.gecko import bearer
from geckoform_tokens.store import CURRENT, SecretStore
from geckoform_tokens.tokens import Jwt, TokenSet, iso

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE: Final = 300.0
DEFAULT_EXPIRY_MARGIN: Final = 60.0
# When even a fresh read holds an access token inside the margin (rotation is late), or a re-read
# fails while the cached token is still good, that token is served and the secret read again at
# most this often meanwhile.
LATE_ROTATION_RECHECK: Final = 5.0
STATUS_HINT: Final = "Check the secret with `geckoform-tokens status {secret_id}`."

# requests.Session.request's parameters after (method, url), in order, for positional callers.
_REQUEST_ARGS: Final = (
    "params",
    "data",
    "headers",
    "cookies",
    "files",
    "auth",
    "timeout",
    "allow_redirects",
    "proxies",
    "hooks",
    "stream",
    "verify",
    "cert",
    "json",
)


@dataclass(frozen=True, repr=False, eq=False)
class _Cached:
    """What one read of AWSCURRENT leaves behind: no refresh token, and when to read again."""

    access: Jwt
    id: Jwt
    region: str
    api_url: str
    stale_at: float


def _usable(tokens: TokenSet, settings: Settings) -> tuple[Jwt, Jwt, str, str]:
    """The parts a consumer needs. The TokenSet, refresh token included, dies with this frame."""
    region = tokens.region
    return tokens.access, tokens.id, region, settings.api_url(region)


class GeckoFormTokens:
    """GeckoForm tokens from one secret, cached per instance, safe to share between threads.

    `secret_id` is the secret's name or ARN. `max_age` (seconds) bounds how long a read is reused,
    so a rotation is served at most that long after it happens; `expiry_margin` (seconds) is how
    close to its `exp` an access token may come before the secret is read again. `client` is a
    boto3 Secrets Manager client (made on first use when not given), `settings` the GeckoForm
    URLs and timeouts (read from the environment when not given), `clock` the time source.
    """

    def __init__(
        self,
        secret_id: str,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        expiry_margin: float = DEFAULT_EXPIRY_MARGIN,
        client: SecretsManagerClient | None = None,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret_id:
            raise ValueError("secret_id must be the token secret's name or ARN.")
        if max_age < 0 or expiry_margin < 0:
            raise ValueError("max_age and expiry_margin must be zero or more seconds.")
        self.secret_id = secret_id
        self.max_age = float(max_age)
        self.expiry_margin = float(expiry_margin)
        self.settings = settings if settings is not None else Settings.from_env()
        self._client = client
        self._store: SecretStore | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: _Cached | None = None

    # -- what a consumer reads ---------------------------------------------------------------
    @property
    def access_token(self) -> str:
        """The current access token, never expired and never within `expiry_margin` of exp
        unless rotation is late (then it is served until it expires, and TokenExpired after)."""
        return self._fresh().access.value

    @property
    def id_token(self) -> str:
        """The ID token stored with the current access token (its own exp is not checked)."""
        return self._fresh().id.value

    @property
    def region(self) -> str:
        """The API region from the access token's `region` claim, e.g. 'eu'."""
        return self._fresh().region

    @property
    def api_url(self) -> str:
        """The region's GeckoForm API base URL, e.g. 'https://api-eu.geckoform.com'."""
        return self._fresh().api_url

    def session(self) -> GeckoFormSession:
        """A requests.Session for the GeckoForm API: see GeckoFormSession."""
        return GeckoFormSession(self)

    def reload(self) -> None:
        """Read the secret again now, e.g. after the API refused the access token."""
        self._reload(self._cached)

    # -- the cache ---------------------------------------------------------------------------
    def _fresh(self) -> _Cached:
        cached = self._cached
        if cached is not None and self._clock() < cached.stale_at:
            return cached
        return self._reload(cached, keep_on_failure=True)

    def _reload(self, seen: _Cached | None, keep_on_failure: bool = False) -> _Cached:
        """Read AWSCURRENT unless another thread already replaced `seen` with a fresh read.

        With `keep_on_failure`, a read that Secrets Manager fails while the cached access token
        is still outside the margin keeps serving that token, and is tried again shortly.
        """
        with self._lock:
            cached = self._cached
            if cached is not None and cached is not seen and self._clock() < cached.stale_at:
                return cached
            try:
                self._cached = self._read()
            except SecretStoreError as exc:
                now = self._clock()
                if (
                    not keep_on_failure
                    or cached is None
                    or cached.access.expired(now, self.expiry_margin)
                ):
                    raise
                logger.warning(
                    "could not read the secret again: serving the cached access token",
                    extra={"secret_id": self.secret_id, "error": str(exc)},
                )
                retry_at = min(now + LATE_ROTATION_RECHECK, cached.access.exp - self.expiry_margin)
                self._cached = replace(cached, stale_at=retry_at)
            return self._cached

    def _read(self) -> _Cached:
        if self._store is None:
            self._store = SecretStore(self._client or boto3.client("secretsmanager"))
        try:
            access, id_token, region, api_url = _usable(
                self._store.read_tokens(self.secret_id, CURRENT), self.settings
            )
        except InvalidTokenSet as exc:
            problem, why = type(exc), str(exc)
        else:
            return self._cache(access, id_token, region, api_url)
        # Raised outside the except block, so that no chained exception or traceback frame
        # keeps the secret's text or the parsed token set alive.
        raise problem(f"Secret {self.secret_id}: {why} {self._hint()}")

    def _cache(self, access: Jwt, id_token: Jwt, region: str, api_url: str) -> _Cached:
        now = self._clock()
        if access.expired(now):
            raise TokenExpired(
                f"The access token in {self.secret_id} (AWSCURRENT, fp {access.fingerprint}) "
                f"expired at {iso(access.exp)}: rotation seems stuck. {self._hint()}"
            )
        if access.expired(now, self.expiry_margin):
            logger.warning(
                "serving an access token close to its expiry: rotation is late",
                extra={
                    "secret_id": self.secret_id,
                    "access_fp": access.fingerprint,
                    "access_expires_at": iso(access.exp),
                },
            )
            fresh_until = min(now + LATE_ROTATION_RECHECK, access.exp)
        else:
            fresh_until = access.exp - self.expiry_margin
        stale_at = min(now + self.max_age, fresh_until)
        return _Cached(access, id_token, region, api_url, stale_at)

    def _hint(self) -> str:
        return STATUS_HINT.format(secret_id=self.secret_id)

    # -- what is shown of it -----------------------------------------------------------------
    def __repr__(self) -> str:
        cached = self._cached
        if cached is None:
            return f"<GeckoFormTokens secret={self.secret_id} not read yet>"
        return (
            f"<GeckoFormTokens secret={self.secret_id} region={cached.region} "
            f"access={cached.access.fingerprint} id={cached.id.fingerprint} "
            f"access_expires_at={iso(cached.access.exp)}>"
        )

    __str__ = __repr__

    def __getstate__(self) -> NoReturn:
        raise TypeError(
            "GeckoFormTokens holds live tokens and a lock, so it is not pickled or copied; "
            "create one per process (at module scope in a Lambda)."
        )


class GeckoFormSession(requests.Session):
    """A requests.Session for the GeckoForm API of the tokens' region.

    Per request: a relative path ('/forms') is joined to `api_url` (an absolute URL must be on
    the same origin: the token goes nowhere else); `Authorization: Bearer <access token>` with
    the token current at that moment, and `Accept: application/json` unless given; the default
    timeouts from Settings unless a timeout is given. On a 401 the secret is read again once and,
    if it holds a different access token, the request is sent again once with it; otherwise the
    401 response is returned.
    """

    def __init__(self, tokens: GeckoFormTokens) -> None:
        super().__init__()
        self.tokens = tokens

    def __getstate__(self) -> NoReturn:
        self.tokens.__getstate__()

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.update(zip(_REQUEST_ARGS, args, strict=False))
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.tokens.settings.timeouts
        headers: Mapping[str, Any] | None = kwargs.pop("headers", None)
        path = url.decode() if isinstance(url, bytes) else url
        used = self.tokens._fresh()
        response = self._send(method, path, used, headers, kwargs)
        if response.status_code != 401 or not _replayable(kwargs):
            return response
        renewed = self.tokens._reload(used)
        if renewed.access == used.access:
            return response
        response.close()
        return self._send(method, path, renewed, headers, kwargs)

    def _send(
        self,
        method: str | bytes,
        path: str,
        cached: _Cached,
        headers: Mapping[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> requests.Response:
        auth = bearer(cached.access)
        merged: CaseInsensitiveDict[Any] = CaseInsensitiveDict(headers or {})
        merged.setdefault("Accept", auth["Accept"])
        merged["Authorization"] = auth["Authorization"]
        return super().request(method, _resolve(path, cached.api_url), headers=merged, **kwargs)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _resolve(path: str, api_url: str) -> str:
    if "://" not in path:
        return f"{api_url}/{path.lstrip('/')}"
    if _origin(path) != _origin(api_url):
        raise ValueError(
            f"This session sends the GeckoForm access token, so it only requests {api_url}; "
            "use a plain requests.Session for other hosts."
        )
    return path


def _replayable(kwargs: Mapping[str, Any]) -> bool:
    """True when the request body can be sent a second time (no stream, no file)."""
    if kwargs.get("files"):
        return False
    data = kwargs.get("data")
    return data is None or isinstance(data, str | bytes | Mapping | list | tuple)
