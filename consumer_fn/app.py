"""Example consumer: lists the first page of GeckoForm forms with the tokens the rotation keeps.

The layer brings geckoform_tokens (with requests and PyJWT); the function needs the stack's read
policy on the secret and GECKOFORM_SECRET_ID. The tokens object lives at module scope, so the
secret is read once per execution environment, not once per invocation.
"""

from __future__ import annotations

import os
from typing import Any

from geckoform_tokens import GeckoFormTokens
from geckoform_tokens.exceptions import ConfigurationError

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 100

SECRET_ID = os.environ.get("GECKOFORM_SECRET_ID", "")
if not SECRET_ID:
    raise ConfigurationError("Set GECKOFORM_SECRET_ID to the token secret's name or ARN.")
TOKENS = GeckoFormTokens(SECRET_ID)
SESSION = TOKENS.session()


def per_page(event: object) -> int:
    """`per_page` from the event, 1 to 100; 15 when absent."""
    value = event.get("per_page", DEFAULT_PER_PAGE) if isinstance(event, dict) else DEFAULT_PER_PAGE
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be a whole number from 1 to {MAX_PER_PAGE}.")
    return value


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    response = SESSION.get("/forms", params={"per_page": per_page(event)})
    response.raise_for_status()
    forms = response.json().get("data", [])
    return {
        "region": TOKENS.region,
        "count": len(forms),
        "forms": [{"id": form.get("id"), "name": form.get("name")} for form in forms],
    }
