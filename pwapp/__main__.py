"""Command line: `python -m pwapp mail ...`."""

import sys


def main(argv: list[str]) -> int:
    """Dispatch `mail ...` to the mail commands."""
    if argv[:1] == ["mail"]:
        from pwapp.mail.cli import main as mail_main

        return mail_main(argv[1:])
    print("usage: python -m pwapp mail {send-pending,list,retry} ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
