"""`python -m pwapp resets purge`: delete reset records nobody can use any more.

Records used, superseded or expired more than `--days` ago (PWAPP_RETENTION_DAYS by default)
are deleted, as the app's worker does every 5 minutes; links that still work are never touched."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from pwapp import db as pwdb
from pwapp.cli.parser import Parser
from pwapp.services.retention import purge
from pwapp.settings import settings


def _days(raw: str) -> int:
    try:
        days = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--days must be a whole number, got {raw!r}") from None
    if days < 1:
        raise argparse.ArgumentTypeError(f"--days must be at least 1, got {days}")
    return days


def parser() -> Parser:
    """The `resets` command's argument parser."""
    root = Parser(prog="python -m pwapp resets", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("purge", help="delete spent reset records", description=__doc__)
    sub.add_argument("--days", type=_days, help="keep records that died fewer days ago (default: PWAPP_RETENTION_DAYS)")
    return root


def main(argv: list[str] | None = None) -> int:
    """Run one `resets` command; `argv` excludes the leading `resets`."""
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    days = args.days or settings.retention_days
    result = purge(
        pwdb.engine(),
        retention=timedelta(days=days),
        idle=timedelta(minutes=settings.session_idle_minutes),
        only=frozenset({"resets"}),
    )
    print(f"deleted {result.deleted['resets']} reset record(s) that died more than {days} day(s) ago")
    return 0
