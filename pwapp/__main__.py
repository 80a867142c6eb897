"""Command line: `python -m pwapp mail ...`, `users ...` and `resets ...`."""

import sys


def main(argv: list[str]) -> int:
    """Dispatch `mail ...`, `users ...` and `resets ...` to their commands."""
    if argv[:1] == ["mail"]:
        from pwapp.mail.cli import main as mail_main

        return mail_main(argv[1:])
    if argv[:1] == ["users"]:
        from pwapp.cli.users import main as users_main

        return users_main(argv[1:])
    if argv[:1] == ["resets"]:
        from pwapp.cli.resets import main as resets_main

        return resets_main(argv[1:])
    print("usage: python -m pwapp {mail,users,resets} ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
