"""An argparse parser for operator commands: bad arguments get one line on stderr, and no
stray argument is echoed (it may be a password typed where it must not be)."""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

STRAY = "unexpected arguments (passwords are never read from the command line: use the prompt or --password-stdin)"


class Parser(argparse.ArgumentParser):
    """No abbreviated options (`--password` is not `--password-stdin`); errors in one line."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments"):
            message = STRAY
        message = re.sub(r"invalid choice: .*? \(choose", "invalid choice (choose", message)
        self.exit(2, f"{self.prog}: error: {message}\n")
