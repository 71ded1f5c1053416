"""The few errors this project raises. Messages say what is wrong and what to do, never a token."""

from __future__ import annotations

ACTIVE_SESSIONS_HINT = (
    "Copy the latest Access, ID and Refresh tokens from the API user's Active Sessions page "
    "into the secret (geckoform-tokens seed SECRET_ID)."
)


class GeckoTokensError(Exception):
    """Base class of every error raised by geckoform_tokens and the rotation function."""


class ConfigurationError(GeckoTokensError):
    """A setting is missing or unsafe."""


class InvalidTokenSet(GeckoTokensError):
    """A secret value or a GeckoAuth answer is not a usable set of GeckoForm tokens."""


class InvalidRegion(InvalidTokenSet):
    """The access token's region claim is not a single DNS label such as 'eu' or 'us-e'."""


class TokenExpired(InvalidTokenSet):
    """A token needed for the next step has passed its exp."""


class RefreshTokenRejected(GeckoTokensError):
    """GeckoAuth refused the refresh token (revoked, expired or already used)."""


class RefreshOutcomeUnknown(GeckoTokensError):
    """The refresh request may have been processed, so the refresh token may be spent."""


class RefreshUnavailable(GeckoTokensError):
    """GeckoAuth could not be reached or kept throttling; the refresh token was not spent."""


class AccessTokenRejected(GeckoTokensError):
    """The GeckoForm API refused an access token."""


class ApiUnavailable(GeckoTokensError):
    """The GeckoForm API did not answer usefully after retries."""


class SecretStoreError(GeckoTokensError):
    """Secrets Manager refused or failed a read or a write."""


class SecretNotFound(SecretStoreError):
    """The secret, or the asked-for version of it, does not exist or holds no value."""


class RotationStateError(GeckoTokensError):
    """The secret is not in a state the asked-for rotation step can act on."""


class RefreshResultNotStored(SecretStoreError):
    """New tokens were issued but not stored; they are kept in memory for the next attempt."""
