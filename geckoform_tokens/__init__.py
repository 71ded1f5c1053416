"""GeckoForm API tokens: the token model, Secrets Manager storage, and a cached consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geckoform_tokens.consumer import GeckoFormTokens

__all__ = ["GeckoFormTokens"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the rotation function's cold start does not pay for the consumer.
    if name == "GeckoFormTokens":
        from geckoform_tokens.consumer import GeckoFormTokens

        return GeckoFormTokens
    raise AttributeError(name)
