"""The CLI's one way to the terminal: every line it writes passes through `Output`, which
formats non-secret facts only and, as a last line of defence, redacts anything token-like.

Two nets, because one alone has holes:
- every token value the CLI has parsed is registered (`protect`), and it and each of its three
  dot-separated segments (header, claims, signature) are replaced wherever they appear;
- anything shaped like a JWT (three base64url segments, the first one JSON, or all three long)
  is replaced too, so a token the CLI never parsed (pasted as a secret id, say) is caught.
"""

from __future__ import annotations

import getpass
import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Final, TextIO

from geckoform_tokens.tokens import TokenSet

REDACTED: Final = "[REDACTED]"

_SEGMENT = r"[A-Za-z0-9_-]"
_JWT_SHAPES: Final = re.compile(
    # a JOSE header is JSON, so its base64url starts with "ey" ('{"' or '{ ')
    rf"ey{_SEGMENT}{{6,}}\.{_SEGMENT}+\.{_SEGMENT}*"
    # or any three long base64url segments, whatever the header
    rf"|{_SEGMENT}{{16,}}\.{_SEGMENT}{{16,}}\.{_SEGMENT}{{16,}}"
)
_MIN_SEGMENT = 8  # shorter registered segments are too common to redact usefully


def redact_shapes(text: str) -> str:
    """`text` with everything shaped like a JWT replaced."""
    return _JWT_SHAPES.sub(REDACTED, text)


class Output:
    """Writes the CLI's lines to stdout (results) and stderr (errors, warnings, prompts)."""

    def __init__(
        self, out: TextIO | None = None, err: TextIO | None = None, stdin: TextIO | None = None
    ) -> None:
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._in = stdin or sys.stdin
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    # -- what must never be printed ----------------------------------------------------------
    def protect(self, *values: str) -> None:
        """Never print `values`, nor any long dot-separated part of them."""
        for value in values:
            parts = [value, *value.split(".")]
            self._secrets.update(p for p in parts if len(p) >= _MIN_SEGMENT)
        self._pattern = None

    def protect_tokens(self, tokens: TokenSet) -> None:
        self.protect(*(token.value for token in tokens.tokens()))

    def redact(self, text: str) -> str:
        # Shapes first: replacing a registered segment first (every HS256 token shares its
        # header) would break up a whole unregistered token and hide it from the shape check.
        text = redact_shapes(text)
        if self._secrets:
            if self._pattern is None:
                longest_first = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(map(re.escape, longest_first)))
            text = self._pattern.sub(REDACTED, text)
        return text

    # -- writing -----------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        """A line of the command's result, on stdout."""
        self._write(self._out, text)

    def note(self, text: str) -> None:
        """Progress, warnings and errors, on stderr."""
        self._write(self._err, text)

    def json(self, data: object) -> None:
        self.say(json.dumps(data, indent=2, sort_keys=False, default=str))

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
        cells = [list(headers), *(list(row) for row in rows)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        for row in cells:
            cells_text = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.say("  ".join(cells_text).rstrip())

    def _write(self, stream: TextIO, text: str) -> None:
        stream.write(self.redact(text) + "\n")
        stream.flush()

    # -- asking ------------------------------------------------------------------------------
    @property
    def interactive(self) -> bool:
        return self._in.isatty()

    def ask_secret(self, label: str) -> str:
        """One secret line: without echo on a terminal, else the next line of stdin."""
        if self.interactive:
            return getpass.getpass(self.redact(f"{label}: "), stream=self._err).strip()
        return self._in.readline().strip()

    def confirm(self, question: str) -> bool:
        """Ask on the terminal; True only for an explicit yes."""
        self._err.write(self.redact(f"{question} [y/N] "))
        self._err.flush()
        return self._in.readline().strip().lower() in ("y", "yes")
