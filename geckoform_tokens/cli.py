"""geckoform-tokens: seed a token secret, see its health, rotate it, recover a stuck rotation.

A thin shell over the token model (tokens.py), the store (store.py) and the judgement
(health.py). Everything it writes goes through one `Output`, which never prints a token.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from geckoform_tokens.exceptions import (
    GeckoTokensError,
    InvalidTokenSet,
    RotationStateError,
    SecretNotFound,
)
from geckoform_tokens.health import (
    EXPIRY_WARNING_DAYS,
    SecretState,
    Verdict,
    apply_recovery,
    check_seedable,
    follow_rotation,
    freshness,
    load_state,
    plan_recovery,
)
from geckoform_tokens.output import Output, redact_shapes
from geckoform_tokens.store import CURRENT, PENDING, SecretStore
from geckoform_tokens.tokens import ACCESS_KEY, ID_KEY, REFRESH_KEY, TokenSet, iso

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

_WARN_DAYS = EXPIRY_WARNING_DAYS
EXIT_CODES = f"""\
exit codes:
  0    success; for status: healthy
  1    the command failed or was refused; nothing was changed unless it says so
  2    bad command line
  {Verdict.ROTATION_IN_PROGRESS.exit_code}    status: a rotation is in progress
  {Verdict.REFRESH_EXPIRING.exit_code}    status: the refresh token expires within {_WARN_DAYS} days
  {Verdict.STUCK.exit_code}    status: a rotation is stuck (run recover)
  {Verdict.CHAIN_BROKEN.exit_code}    status: the token chain is broken (seed new tokens)
  130  interrupted
rotate exits with the status code of the secret once the rotation is over.

AWS credentials, region and endpoint come from the standard chain: --profile, --region,
AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...
"""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, writing its help, usage and errors through the token-redacting path."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            (file or sys.stdout).write(redact_shapes(message))


def build_parser() -> ArgumentParser:
    aws = ArgumentParser(add_help=False)
    aws.add_argument("--region", default=argparse.SUPPRESS, help="AWS region of the secret")
    aws.add_argument("--profile", default=argparse.SUPPRESS, help="AWS named profile")

    parser = ArgumentParser(
        prog="geckoform-tokens",
        description="Seed, inspect, rotate and recover a GeckoForm token secret in AWS Secrets "
        "Manager. Never prints a token: only expiry times, regions and 12-hex fingerprints.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[aws],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> ArgumentParser:
        sub: ArgumentParser = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[aws],
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("secret_id", metavar="SECRET_ID", help="secret name or ARN")
        return sub

    seed = command(
        "seed",
        "Store tokens copied from GeckoForm's Active Sessions page as the new AWSCURRENT version.",
    )
    seed.add_argument(
        "--from-json",
        metavar="FILE",
        help="read {AccessToken, IdToken, RefreshToken} from FILE ('-' for stdin) instead of "
        "prompting",
    )
    seed.add_argument("--create", action="store_true", help="create the secret if it is missing")
    seed.add_argument(
        "--force",
        action="store_true",
        help="seed even while a rotation is in progress, and clear its AWSPENDING label",
    )
    seed.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    status = command("status", "Show the versions, the rotation configuration and a verdict.")
    status.add_argument("--json", action="store_true", help="print one JSON object")

    rotate = command("rotate", "Start a rotation and follow it until it finishes.")
    rotate.add_argument(
        "--wait",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long to follow the rotation (default 300; 0: start it and return)",
    )
    rotate.add_argument(
        "--interval", type=float, default=3.0, metavar="SECONDS", help="poll interval (default 3)"
    )

    recover = command(
        "recover",
        "Make the freshest valid token set AWSCURRENT and clear a stale AWSPENDING.",
    )
    recover.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    recover.add_argument(
        "--force", action="store_true", help="act even while the rotation seems to be running"
    )
    return parser


# -- helpers -----------------------------------------------------------------------------------
def make_store(args: argparse.Namespace) -> SecretStore:
    import boto3  # here, so `--help` and input errors do not pay for it

    session = boto3.Session(
        profile_name=getattr(args, "profile", None), region_name=getattr(args, "region", None)
    )
    return SecretStore(session.client("secretsmanager"))


def left(seconds: float) -> str:
    """'in 3.2d', 'in 5.0h', 'expired 2.1d ago'."""
    span = abs(seconds)
    text = f"{span / 86400:.1f}d" if span >= 86400 else f"{span / 3600:.1f}h"
    return f"in {text}" if seconds >= 0 else f"expired {text} ago"


def summary_lines(tokens: TokenSet, now: float) -> list[str]:
    return [
        f"  region:          {tokens.region}",
        f"  access token:    expires {iso(tokens.access.exp)} "
        f"({left(tokens.access.seconds_left(now))}), fingerprint {tokens.access.fingerprint}",
        f"  id token:        expires {iso(tokens.id.exp)}, fingerprint {tokens.id.fingerprint}",
        f"  refresh token:   expires {iso(tokens.refresh.exp)} "
        f"({left(tokens.refresh.seconds_left(now))}), fingerprint {tokens.refresh.fingerprint}",
    ]


def load(out: Output, store: SecretStore, secret_id: str, now: float | None = None) -> SecretState:
    """The secret's state, with every token it holds registered with `out` as unprintable."""
    state = load_state(store, secret_id, now)
    for version in state.versions:
        if version.tokens is not None:
            out.protect_tokens(version.tokens)
    return state


def confirm(out: Output, args: argparse.Namespace, question: str) -> None:
    """Return when confirmed; raise RotationStateError when not."""
    if args.yes:
        return
    if not out.interactive:
        raise RotationStateError(
            "Not confirmed: there is no terminal to ask on. Re-run with --yes to confirm."
        )
    if not out.confirm(question):
        raise RotationStateError("Not confirmed; nothing was changed.")


# -- seed --------------------------------------------------------------------------------------
def read_new_tokens(out: Output, source: str | None) -> TokenSet:
    if source is None:
        if out.interactive:
            out.note("Paste each token from GeckoForm's Active Sessions page (input is hidden).")
        values = {
            key: out.ask_secret(label)
            for key, label in (
                (ACCESS_KEY, "Access token"),
                (ID_KEY, "ID token"),
                (REFRESH_KEY, "Refresh token"),
            )
        }
        out.protect(*(v for v in values.values() if v))
        return TokenSet.from_mapping(values, source="pasted input")
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidTokenSet(
            f"Cannot read {source}: {exc.strerror or type(exc).__name__}."
        ) from None
    label = "input on stdin" if source == "-" else f"file {source}"
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidTokenSet(f"The {label} is not JSON.") from None
    if isinstance(data, dict):
        out.protect(*(v for v in data.values() if isinstance(v, str) and v))
    return TokenSet.from_mapping(data, source=label)


def cmd_seed(args: argparse.Namespace, out: Output) -> int:
    # Validate everything before touching AWS: invalid input changes nothing.
    tokens = read_new_tokens(out, args.from_json)
    out.protect_tokens(tokens)
    now = time.time()
    check_seedable(tokens, now)

    store = make_store(args)
    state: SecretState | None
    try:
        state = load(out, store, args.secret_id, now)
    except SecretNotFound:
        if not args.create:
            raise SecretNotFound(
                f"Secret {args.secret_id} does not exist. Pass --create to create it."
            ) from None
        state = None

    if state is not None:
        pending, current = state.pending, state.current
        if pending is not None and not args.force:
            raise RotationStateError(
                f"A rotation is in progress: version {pending.version_id} is AWSPENDING. "
                "Seeding now could be overwritten when it finishes. Run `geckoform-tokens status "
                f"{args.secret_id}` and wait or recover; or pass --force to seed anyway."
            )
        if current is not None and current.tokens == tokens:
            out.say(f"AWSCURRENT of {state.description.name} already holds these tokens.")
            return EXIT_OK
        out.say(f"Secret {state.description.name} will get a new AWSCURRENT version:")
    else:
        out.say(f"Secret {args.secret_id} will be created with:")
    for line in summary_lines(tokens, now):
        out.say(line)
    if state is not None:
        current = state.current
        if current is not None and current.tokens is not None:
            if freshness(current.tokens) > freshness(tokens):
                out.note(
                    "Warning: AWSCURRENT holds a newer refresh token than these "
                    f"(fingerprint {current.tokens.refresh.fingerprint}); are you pasting an "
                    "old session?"
                )
            out.say(
                f"  replaces:        version {current.version_id} "
                f"(refresh fingerprint {current.tokens.refresh.fingerprint})"
            )
        if state.pending is not None:
            out.say(
                f"  --force:         AWSPENDING comes off version {state.pending.version_id} "
                "(its value is kept)"
            )
    confirm(out, args, "Store these tokens?")

    if state is None:
        version = store.create(args.secret_id, tokens)
        out.say(f"Created secret {args.secret_id}; version {version} is AWSCURRENT.")
        return EXIT_OK
    arn = state.description.arn
    version = store.put(arn, tokens, CURRENT)
    out.say(f"Stored version {version} as AWSCURRENT.")
    if state.pending is not None:
        # --force while a rotation is in progress. Left in place, AWSPENDING would make the next
        # RotateSecret resume that version: createSecret sees it already holds a value and does
        # not refresh, and finishSecret then promotes its old tokens over the ones just seeded
        # (their refresh token possibly spent), breaking the chain. So take the label off. The
        # version itself is kept (unlabelled), so `status` and `recover` still see its tokens if
        # they turn out to be the only live ones. It comes off after the put, so a failure here
        # leaves a state `status` flags as stuck rather than one with no AWSCURRENT update.
        store.move_stage(arn, PENDING, to_version=None, from_version=state.pending.version_id)
        out.say(f"Removed the stale AWSPENDING label from version {state.pending.version_id}.")
    return EXIT_OK


# -- status ------------------------------------------------------------------------------------
def print_state(out: Output, state: SecretState) -> None:
    now = state.now
    out.say(f"Secret {state.description.name}")
    out.say(f"  {state.description.arn}")
    out.say("")
    rows = []
    notes = []
    for version in state.versions:
        stages = ",".join(version.stages) or "-"
        created = iso(version.created.timestamp()) if version.created else "-"
        if version.tokens is None:
            rows.append([version.version_id, stages, created, "-", "-", "-", "-"])
            notes.append(f"  version {version.version_id} {version.problem}")
            continue
        t = version.tokens
        region = t.describe(now)["region"] or "invalid"
        rows.append(
            [
                version.version_id,
                stages,
                created,
                region,
                f"{iso(t.access.exp)} ({left(t.access.seconds_left(now))})",
                f"{iso(t.refresh.exp)} ({left(t.refresh.seconds_left(now))})",
                t.refresh.fingerprint,
            ]
        )
    out.table(
        [
            "VERSION",
            "STAGES",
            "CREATED",
            "REGION",
            "ACCESS EXPIRES",
            "REFRESH EXPIRES",
            "REFRESH FP",
        ],
        rows,
    )
    for note in notes:
        out.say(note)
    rotation = state.rotation()
    out.say("")
    out.say(f"Rotation: {'enabled' if rotation['enabled'] else 'not enabled'}")
    schedule = rotation["schedule_expression"] or (
        f"every {rotation['automatically_after_days']} days"
        if rotation["automatically_after_days"]
        else None
    )
    for label, key in (("function", "lambda_arn"), ("last rotated", "last_rotated")):
        out.say(f"  {label + ':':<16}{rotation[key] or '-'}")
    out.say(f"  {'schedule:':<16}{schedule or '-'}")
    out.say(f"  {'next rotation:':<16}{rotation['next_rotation'] or '-'}")
    health = state.health()
    out.say("")
    out.say(f"Verdict: {health.verdict.code}: {health.summary}")
    out.say(f"To do: {health.action}")


def report_status(out: Output, store: SecretStore, secret_id: str, as_json: bool) -> int:
    state = load(out, store, secret_id)
    if as_json:
        out.json(state.to_dict())
    else:
        print_state(out, state)
    return state.health().verdict.exit_code


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    return report_status(out, make_store(args), args.secret_id, args.json)


# -- rotate ------------------------------------------------------------------------------------
def cmd_rotate(args: argparse.Namespace, out: Output) -> int:
    store = make_store(args)
    before = store.describe(args.secret_id)
    pending = next(
        (v for v, s in before.versions.items() if PENDING in s and CURRENT not in s), None
    )
    if not before.rotation_enabled and not before.metadata.get("RotationLambdaARN"):
        raise RotationStateError(
            f"Rotation is not configured for {before.name}: attach the rotation function "
            "(see template.yaml) before rotating."
        )
    if pending is not None:
        out.note(f"Resuming the rotation in progress on version {pending}.")
    version = store.rotate(before.arn)
    out.note(f"Rotation of {before.name} started (version {version or pending or 'unknown'}).")
    if args.wait <= 0:
        return EXIT_OK
    outcome = follow_rotation(
        store, before.arn, version or pending, args.wait, args.interval, out.note
    )
    out.say("")
    code = report_status(out, store, before.arn, as_json=False)
    if not outcome.finished:
        out.note(
            f"The rotation did not finish within {args.wait:g}s; see the verdict above and the "
            "rotation function's logs."
        )
        return code or Verdict.ROTATION_IN_PROGRESS.exit_code
    return code


# -- recover -----------------------------------------------------------------------------------
def cmd_recover(args: argparse.Namespace, out: Output) -> int:
    store = make_store(args)
    state = load(out, store, args.secret_id)
    health = state.health()
    if health.verdict is Verdict.ROTATION_IN_PROGRESS and not args.force:
        raise RotationStateError(
            f"{health.summary} Recovering now would race the rotation function; wait, or pass "
            "--force."
        )
    plan = plan_recovery(state)
    out.say(f"Secret {state.description.name}: {health.verdict.code}: {health.summary}")
    for line in plan.explain():
        out.say(f"  {line}")
    if plan.nothing_to_do:
        return EXIT_OK
    if plan.promote is not None and plan.promote.tokens is not None:
        for line in summary_lines(plan.promote.tokens, state.now):
            out.say(line)
    confirm(out, args, "Go ahead?")
    apply_recovery(store, state, plan, out.say)
    after = load(out, store, args.secret_id).health()
    out.say(f"Now: {after.verdict.code}: {after.summary}")
    if after.verdict is not Verdict.HEALTHY:
        out.say(f"To do: {after.action}")
    return EXIT_OK


COMMANDS: Final[dict[str, Callable[[argparse.Namespace, Output], int]]] = {
    "seed": cmd_seed,
    "status": cmd_status,
    "rotate": cmd_rotate,
    "recover": cmd_recover,
}


def main(argv: Sequence[str] | None = None, out: Output | None = None) -> int:
    out = out or Output()
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args, out)
    except SystemExit as exc:  # argparse: --help (0) or a bad command line (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except GeckoTokensError as exc:
        out.note(f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        out.note("Interrupted; nothing more was changed.")
        return EXIT_INTERRUPTED
    except Exception as exc:  # boto3 set-up (no region, unknown profile) and anything unforeseen
        out.note(f"error: {_describe_unexpected(exc)}")
        return EXIT_ERROR


def _describe_unexpected(exc: Exception) -> str:
    from botocore.exceptions import BotoCoreError

    if isinstance(exc, BotoCoreError):
        # botocore's messages name settings (region, profile, credentials), never a value read.
        return f"{str(exc).rstrip('.')}. Check --region/--profile or your AWS configuration."
    # The message of an unforeseen exception is not printed: it might quote its input.
    return (
        f"unexpected {type(exc).__name__}. This is a bug in geckoform-tokens; please report it "
        "with the command you ran (never with your tokens)."
    )
