"""python -m geckoform_tokens: the geckoform-tokens CLI."""

import sys

from geckoform_tokens.cli import main

sys.exit(main())
