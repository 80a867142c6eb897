"""Command line: `python -m pwapp mail ...`, `users ...` and `resets ...`."""

import sys
from importlib import import_module

COMMANDS = {"mail": "pwapp.mail.cli", "users": "pwapp.cli.users", "resets": "pwapp.cli.resets"}
NO_DATABASE = "the database cannot be used ({}); is it created and migrated (`alembic upgrade head`)?"


def main(argv: list[str]) -> int:
    """Dispatch `mail ...`, `users ...` and `resets ...` to their commands; a database that cannot
    be used (missing, not migrated) is one line on stderr, not a traceback."""
    if argv[:1] and argv[0] in COMMANDS:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return import_module(COMMANDS[argv[0]]).main(argv[1:])
        except SQLAlchemyError as exc:  # its text may quote the URL or the SQL: name the kind only
            print(f"python -m pwapp {argv[0]}: error: {NO_DATABASE.format(type(exc).__name__)}", file=sys.stderr)
            return 1
    print("usage: python -m pwapp {mail,users,resets} ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
