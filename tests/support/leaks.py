"""Find token material in text: every output path of the project is checked with this."""

from __future__ import annotations

from collections.abc import Iterable


def fragments(tokens: Iterable[str]) -> set[str]:
    """What must never appear: each whole token, and each signature (the credential part)."""
    found: set[str] = set()
    for token in tokens:
        found.add(token)
        parts = token.split(".")
        if len(parts) == 3 and len(parts[2]) >= 16:
            found.add(parts[2])
    return found


def leaked(text: str, tokens: Iterable[str]) -> list[str]:
    """The fingerprint-free description of every fragment of `tokens` found in `text`."""
    return [f"fragment of {len(f)} chars" for f in fragments(tokens) if f in text]
