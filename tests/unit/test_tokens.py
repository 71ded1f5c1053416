"""The token model: parsing, validation, description without values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from geckoform_tokens.exceptions import InvalidRegion, InvalidTokenSet, TokenExpired
from geckoform_tokens.tokens import Jwt, TokenSet, fingerprint, validate_region
from tests.emulator import GeckoEmulator
from tests.support.leaks import fragments, leaked


@pytest.fixture
def tokens(emulator: GeckoEmulator) -> dict[str, str]:
    return emulator.issue("us-e")


def test_parses_a_token_set_and_reads_claims(tokens: dict[str, str]) -> None:
    parsed = TokenSet.from_json(json.dumps({**tokens, "Region": "ignored"}))
    assert parsed.region == "us-e"
    assert parsed.subject == "api-user-1"
    assert parsed.refresh.value == tokens["RefreshToken"]
    assert parsed.refresh.exp > parsed.access.exp
    parsed.require_same_subject()
    parsed.require_refreshable()


def test_to_json_round_trips_and_adds_readable_facts(tokens: dict[str, str]) -> None:
    parsed = TokenSet.from_mapping(tokens)
    data = json.loads(parsed.to_json())
    assert {k: data[k] for k in tokens} == tokens
    assert data["Region"] == "us-e"
    assert data["AccessTokenExpiresAt"].endswith("Z")
    assert TokenSet.from_json(parsed.to_json()) == parsed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nope", "not JSON"),
        ("[]", "not a JSON object"),
        ("{}", "lacks AccessToken, IdToken, RefreshToken"),
    ],
)
def test_rejects_values_that_are_not_token_sets(value: str, message: str) -> None:
    with pytest.raises(InvalidTokenSet, match=message):
        TokenSet.from_json(value)


@pytest.mark.parametrize(
    "bad", ["", "a.b", "a.b.c.d", "abc.def.ghi", 42, None, "eyJhbGciOiJIUzI1NiJ9.e30.sig"]
)
def test_rejects_what_is_not_a_jwt(bad: Any) -> None:
    with pytest.raises(InvalidTokenSet):
        Jwt.parse("AccessToken", bad)


@pytest.mark.parametrize("exp", [None, "123", 1.5, True])
def test_requires_an_integer_exp(emulator: GeckoEmulator, exp: Any) -> None:
    claims = {"sub": "x"} if exp is None else {"sub": "x", "exp": exp}
    with pytest.raises(InvalidTokenSet, match="exp"):
        Jwt.parse("IdToken", emulator.mint(claims))


def test_expired_refresh_token_is_reported(emulator: GeckoEmulator, tokens: dict[str, str]) -> None:
    expired = emulator.mint({"sub": "api-user-1", "exp": 1_000_000})
    parsed = TokenSet.from_mapping({**tokens, "RefreshToken": expired})
    with pytest.raises(TokenExpired, match="Active Sessions"):
        parsed.require_refreshable()


def test_tokens_of_different_subjects_do_not_belong_together(
    emulator: GeckoEmulator, tokens: dict[str, str]
) -> None:
    other = emulator.issue("us-e", sub="someone-else")
    with pytest.raises(InvalidTokenSet, match="belong together"):
        TokenSet.from_mapping(
            {**tokens, "RefreshToken": other["RefreshToken"]}
        ).require_same_subject()


@pytest.mark.parametrize("region", ["eu", "us-e", "ap-south-1", "x"])
def test_region_labels_are_accepted(region: str) -> None:
    assert validate_region(region) == region


@pytest.mark.parametrize(
    "region",
    [
        "",
        None,
        7,
        "eu.geckoform.com",
        "eu/",
        "a@b",
        "eu#",
        "EU",
        "-eu",
        "eu-",
        "e u",
        "eu:1",
        "a" * 64,
    ],
)
def test_hostile_regions_are_refused(region: Any) -> None:
    with pytest.raises(InvalidRegion):
        validate_region(region)


def test_no_view_of_the_model_shows_a_token(tokens: dict[str, str]) -> None:
    parsed = TokenSet.from_mapping(tokens)
    views = [
        repr(parsed),
        str(parsed),
        repr(parsed.access),
        str(parsed.refresh),
        json.dumps(parsed.describe()),
        f"{parsed}",
        f"{parsed.id!r}",
    ]
    assert not leaked("\n".join(views), tokens.values())
    assert parsed.refresh.fingerprint in repr(parsed)
    assert fingerprint(tokens["RefreshToken"]) == parsed.refresh.fingerprint


def test_leak_finder_finds_whole_tokens_and_bare_signatures(tokens: dict[str, str]) -> None:
    access = tokens["AccessToken"]
    signature = access.rsplit(".", 1)[1]
    assert leaked(f"x {access} y", [access])
    assert leaked(f"sig={signature}", [access])
    assert not leaked("nothing here", [access])
    assert fragments([access]) == {access, signature}


def test_a_value_that_is_not_json_is_not_carried_along_by_the_error() -> None:
    secret_text = '{"RefreshToken": "eyJsecret.eyJpart.signature-that-must-not-travel"'
    with pytest.raises(InvalidTokenSet) as caught:
        TokenSet.from_json(secret_text)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
