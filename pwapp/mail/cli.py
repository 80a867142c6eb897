"""`python -m pwapp mail ...`: send, list and retry outbox messages (bodies are never shown)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from sqlalchemy import update
from sqlmodel import Session, select

from pwapp import db as pwdb
from pwapp.mail.sender import outbox, run_forever, send_pending
from pwapp.models.outbox import DISCARDED, FAILED, PENDING, SENDING, SENT, OutboxMessage


def _send_pending(args: argparse.Namespace) -> int:
    if args.loop:
        print(f"sending mail every {args.poll} s; Ctrl-C to stop", flush=True)
        try:
            asyncio.run(run_forever(args.poll, limit=args.limit))
        except KeyboardInterrupt:
            pass
        return 0
    handled = send_pending(limit=args.limit)
    print(f"handled {handled} message(s)")
    return 0


def _list(args: argparse.Namespace) -> int:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(args.limit)
    if args.status:
        query = query.where(OutboxMessage.status == args.status)
    with Session(pwdb.engine()) as db:
        rows = db.exec(query).all()
    print(
        f"{'id':>6}  {'status':<9} {'tries':>5}  {'recipient':<32} {'template':<24} "
        f"{'created (UTC)':<19}  last error"
    )
    for row in rows:
        print(
            f"{row.id:>6}  {row.status:<9} {row.attempts:>5}  {row.recipient[:32]:<32} "
            f"{row.template[:24]:<24} {row.created_at:%Y-%m-%d %H:%M:%S}  {row.last_error or ''}"
        )
    return 0


def _retry(args: argparse.Namespace) -> int:
    """Make FAILED rows (or one FAILED/PENDING row) due now with a fresh attempt count."""
    if args.all_failed:
        where = [outbox.c.status == FAILED]
    else:
        where = [outbox.c.id == args.id, outbox.c.status.in_((FAILED, PENDING))]
    with pwdb.engine().begin() as conn:
        result = conn.execute(
            update(outbox)
            .where(*where)
            .values(status=PENDING, attempts=0, next_attempt_at=pwdb.utcnow(), claimed_until=None)
        )
    print(f"{result.rowcount} message(s) queued again")
    return 0 if result.rowcount or args.all_failed else 1


def parser() -> argparse.ArgumentParser:
    """The `mail` command's argument parser."""
    root = argparse.ArgumentParser(prog="python -m pwapp mail", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    send = commands.add_parser("send-pending", help="send messages that are due")
    send.add_argument("--loop", action="store_true", help="keep sending until interrupted")
    send.add_argument("--poll", type=float, default=2.0, help="seconds between looks (--loop)")
    send.add_argument("--limit", type=int, default=50, help="most messages to send at once")
    send.set_defaults(run=_send_pending)

    show = commands.add_parser("list", help="list outbox messages, newest first")
    show.add_argument("--status", choices=(PENDING, SENDING, SENT, FAILED, DISCARDED))
    show.add_argument("--limit", type=int, default=50)
    show.set_defaults(run=_list)

    retry = commands.add_parser("retry", help="queue failed messages again")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help="the message id")
    which.add_argument("--all-failed", action="store_true", help="every failed message")
    retry.set_defaults(run=_retry)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run one `mail` command; `argv` excludes the leading `mail`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.run(args)
