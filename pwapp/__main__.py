"""Command line: `python -m pwapp mail ...` and `python -m pwapp users ...`."""

import sys


def main(argv: list[str]) -> int:
    """Dispatch `mail ...` and `users ...` to their commands."""
    if argv[:1] == ["mail"]:
        from pwapp.mail.cli import main as mail_main

        return mail_main(argv[1:])
    if argv[:1] == ["users"]:
        from pwapp.cli.users import main as users_main

        return users_main(argv[1:])
    print("usage: python -m pwapp {mail,users} ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
