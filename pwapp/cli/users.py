"""`python -m pwapp users ...`: create accounts, set passwords, (de)activate, list, sign out,
turn two-step sign-in off.

A password comes from the prompt (asked twice) or, with --password-stdin, from stdin's first
line; never from the command line. Nothing here prints a password, token or hash."""

from __future__ import annotations

import argparse
import getpass
import sys

from pwapp import db as pwdb
from pwapp.cli.parser import Parser
from pwapp.services import accounts, passwords, two_step
from pwapp.services.errors import AccountError, TwoStepOff

TIME = "%Y-%m-%d %H:%M:%S"


class Refused(Exception):
    """The command cannot go on; the message says why."""


def _read_password(args: argparse.Namespace) -> tuple[str, str | None]:
    """(password, confirmation): stdin's first line and no confirmation, or the prompt's two answers."""
    if args.password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r"), None
    if not sys.stdin.isatty():
        raise Refused("no terminal to ask for the password on; pipe it in with --password-stdin")
    try:
        return getpass.getpass("New password: "), getpass.getpass("Repeat the new password: ")
    except EOFError:
        raise Refused("no password given") from None


def _create(args: argparse.Namespace) -> str:
    password, confirm = _read_password(args)
    with pwdb.session() as db:
        user = accounts.register(db, args.email, password, confirm, client=accounts.OPERATOR)
    return f"created account {user.id} for {user.email}"


def _set_password(args: argparse.Namespace) -> str:
    with pwdb.session() as db:
        accounts.user_by_email(db, args.email)  # an unknown address is refused before the prompt
    password, confirm = _read_password(args)
    with pwdb.session() as db:
        user = accounts.user_by_email(db, args.email)
        ended = passwords.set_password(db, user, password, confirm)
    return f"password set for {user.email}; signed out {ended} session(s)"


def _deactivate(args: argparse.Namespace) -> str:
    with pwdb.session() as db:
        user = accounts.user_by_email(db, args.email)
        ended = accounts.deactivate(db, user)
    return f"deactivated {user.email}; signed out {ended} session(s)"


def _activate(args: argparse.Namespace) -> str:
    with pwdb.session() as db:
        user = accounts.user_by_email(db, args.email)
        accounts.activate(db, user)
    return f"activated {user.email}"


def _list(args: argparse.Namespace) -> str:
    with pwdb.session() as db:
        users = accounts.list_users(db)
    lines = [f"{'id':>6}  {'email':<40} {'active':<6}  created (UTC)"]
    lines += [
        f"{u.id:>6}  {u.email:<40} {'yes' if u.is_active else 'no':<6}  {u.created_at:{TIME}}" for u in users
    ]
    return "\n".join(lines)


def _sessions(args: argparse.Namespace) -> str:
    with pwdb.session() as db:
        live = accounts.active_sessions(db, accounts.user_by_email(db, args.email))
    lines = [f"{'id':>6}  {'browser':<28} {'IP':<39} {'last seen (UTC)':<19}  created (UTC)"]
    lines += [
        f"{s.id:>6}  {accounts.browser_name(s.user_agent)[:28]:<28} {s.ip or '-':<39} "
        f"{s.last_seen_at:{TIME}}  {s.created_at:{TIME}}"
        for s in live
    ]
    return "\n".join(lines)


def _revoke_sessions(args: argparse.Namespace) -> str:
    with pwdb.session() as db:
        user = accounts.user_by_email(db, args.email)
        ended = accounts.sign_out_everywhere(db, user)
    return f"signed out {ended} session(s) of {user.email}"


def _two_step_off(args: argparse.Namespace) -> str:
    with pwdb.session() as db:
        user = accounts.user_by_email(db, args.email)
        try:
            two_step.turn_off_by_operator(db, user)
        except TwoStepOff:
            raise Refused(f"two-step sign-in is not on for {user.email}") from None
    return f"two-step sign-in turned off for {user.email}; the owner is told by mail"


def parser() -> Parser:
    """The `users` command's argument parser."""
    root = Parser(prog="python -m pwapp users", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, run, summary: str, *, email: bool = True, password: bool = False) -> None:
        sub = commands.add_parser(name, help=summary, description=summary)
        if email:
            sub.add_argument("email", help="the account's email address")
        if password:
            sub.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
        sub.set_defaults(run=run)

    command("create", _create, "create an account", password=True)
    command("set-password", _set_password, "set an account's password and sign out its sessions", password=True)
    command("deactivate", _deactivate, "refuse an account's log-ins and sign out its sessions")
    command("activate", _activate, "let a deactivated account log in again")
    command("list", _list, "list every account, oldest first", email=False)
    command("sessions", _sessions, "list an account's live sessions")
    command("revoke-sessions", _revoke_sessions, "sign out every session of an account")
    command("two-step-off", _two_step_off, "turn two-step sign-in off for an owner who lost the app and the codes")
    return root


def main(argv: list[str] | None = None) -> int:
    """Run one `users` command; `argv` excludes the leading `users`. Refusals are one line on stderr."""
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        print(args.run(args))
    except (AccountError, Refused) as exc:
        print(f"python -m pwapp users {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"python -m pwapp users {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
