"""`python -m pwapp users ...` run for real, in a subprocess on a temporary SQLite database:
what the operator sees, the exit codes, and what each command did to accounts and sessions."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest
from sqlmodel import Session, SQLModel

from pwapp.db import make_engine
from pwapp.security.tokens import digest
from pwapp.services import two_step
from pwapp.services.accounts import authenticate, current_session
from pwapp.services.errors import InvalidCredentials, ResetLinkStale
from pwapp.services.passwords import check_reset_link
from tests.factories import ALICE, BOB, CLIENT, NEW, OLD, PHONE, mails, make_user, request_link, sign_in

ROOT = Path(__file__).resolve().parents[1]
WEAK = "aaaaaaaaaaaaaaaa"
SECRETS = (OLD, NEW, BOB, WEAK, "$argon2")  # no password or hash is ever shown


@pytest.fixture
def cli_db(tmp_path):
    """The command's database: a fresh SQLite file this test also reads and writes."""
    eng = make_engine(f"sqlite:///{tmp_path}/cli.db")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def env(cli_db):
    """This test process's settings, on the command's database and without Redis."""
    return os.environ | {"PWAPP_DATABASE_URL": str(cli_db.url), "PWAPP_REDIS_URL": ""}


@pytest.fixture
def users(env):
    """Run `python -m pwapp users ARGV...` with `stdin`; returns the finished process."""

    def run(*argv: str, stdin: str = "") -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "pwapp", "users", *argv],
            input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False,
        )
        assert not any(s in done.stdout + done.stderr for s in SECRETS)
        return done

    return run


def on_terminal(env: dict, *argv: str, typed: list[str]) -> tuple[int, str]:
    """Run `python -m pwapp users ARGV...` on a terminal of its own, typing each of `typed`
    after a password prompt; returns its exit code and everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the command
        try:
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "pwapp", "users", *argv], env)
        finally:
            os._exit(127)
    shown, answered, deadline = b"", 0, time.monotonic() + 120
    try:
        while select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the command exited and closed its terminal
                break
            shown += chunk
            if answered < len(typed) and shown.count(b"password: ") > answered:
                os.write(fd, typed[answered].encode() + b"\n")
                answered += 1
        else:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"the command did not finish; it showed {shown!r}")
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), shown.decode()


def refused(done: subprocess.CompletedProcess, *words: str) -> None:
    """The command failed with one line on stderr, containing `words`, and printed nothing else."""
    assert done.returncode != 0
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    for word in words:
        assert word in done.stderr


def test_create_reads_the_password_from_stdin_never_from_argv(users, env, cli_db):
    refused(users("create", ALICE, "--password", OLD), "unexpected arguments", "--password-stdin")
    refused(users("create", "not an address", "--password-stdin", stdin=OLD + "\n"), "Enter a valid email address.")

    created = users("create", "Alice@Example.org", "--password-stdin", stdin=OLD + "\nignored\n")
    assert created.returncode == 0 and created.stderr == ""
    assert created.stdout.strip() == "created account 1 for alice@example.org"
    refused(users("create", ALICE, "--password-stdin", stdin=NEW + "\n"), "already exists")

    code, shown = on_terminal(env, "create", "bob@example.org", typed=[BOB, BOB + "x"])
    assert code == 1 and shown.count("password: ") == 2
    assert "The two new passwords do not match." in shown and BOB not in shown  # asked twice, not echoed
    with Session(cli_db) as s:
        assert authenticate(s, ALICE, OLD, CLIENT).email == ALICE
        with pytest.raises(InvalidCredentials):
            authenticate(s, "bob@example.org", BOB, CLIENT)


def test_set_password_applies_the_policy_and_ends_sessions_and_reset_links(users, env, cli_db):
    with Session(cli_db, expire_on_commit=False) as s:
        token = sign_in(s, make_user(s))
        link = request_link(s, ALICE)
    refused(users("set-password", "nobody@example.org", "--password-stdin", stdin=NEW + "\n"), "No account")
    refused(users("set-password", ALICE, stdin=NEW + "\n"), "--password-stdin")  # no terminal to ask on
    weak = users("set-password", ALICE, "--password-stdin", stdin=WEAK + "\n")
    refused(weak, "This password is too easy to guess.", 'Repeats like "aaa" are easy to guess.')

    code, shown = on_terminal(env, "set-password", ALICE, typed=[NEW, NEW])
    assert code == 0 and NEW not in shown
    assert shown.splitlines()[-1] == f"password set for {ALICE}; signed out 1 session(s)"
    with Session(cli_db) as s:
        with pytest.raises(InvalidCredentials):
            authenticate(s, ALICE, OLD, CLIENT)
        assert authenticate(s, ALICE, NEW, CLIENT).email == ALICE
        assert current_session(s, digest(token)) is None
        with pytest.raises(ResetLinkStale):
            check_reset_link(s, link)
        assert len(mails(s, template="password_changed", recipient=ALICE)) == 1


def test_deactivate_ends_sessions_for_good_and_revoke_sessions_counts(users, cli_db):
    with Session(cli_db, expire_on_commit=False) as s:
        alice = make_user(s)
        tokens = [sign_in(s, alice, CLIENT), sign_in(s, alice, PHONE)]
    listed = users("sessions", ALICE).stdout.splitlines()
    assert listed[0].split() == ["id", "browser", "IP", "last", "seen", "(UTC)", "created", "(UTC)"]
    assert sorted(row.split()[1:3] for row in listed[1:]) == [["pytest-browser", CLIENT.ip], ["pytest-phone", PHONE.ip]]
    assert not any(t in "\n".join(listed) for t in tokens)

    assert users("deactivate", ALICE).stdout.strip() == f"deactivated {ALICE}; signed out 2 session(s)"
    accounts = users("list").stdout.splitlines()
    assert accounts[0].split() == ["id", "email", "active", "created", "(UTC)"]
    assert accounts[1].split()[:3] == ["1", ALICE, "no"]
    with Session(cli_db) as s:
        assert all(current_session(s, digest(t)) is None for t in tokens)
        with pytest.raises(InvalidCredentials):
            authenticate(s, ALICE, OLD, CLIENT)

    assert users("activate", ALICE).stdout.strip() == f"activated {ALICE}"
    with Session(cli_db, expire_on_commit=False) as s:
        assert all(current_session(s, digest(t)) is None for t in tokens)  # activating revives no session
        token = sign_in(s, authenticate(s, ALICE, OLD, CLIENT))
    assert users("revoke-sessions", ALICE).stdout.strip() == f"signed out 1 session(s) of {ALICE}"
    with Session(cli_db) as s:
        assert current_session(s, digest(token)) is None


@pytest.mark.parametrize("command", ["set-password", "deactivate", "activate", "sessions", "revoke-sessions", "two-step-off"])
@pytest.mark.parametrize("address, words", [("nobody@example.com", "No account has this email address."),
                                             ("not an address", "email")])
def test_an_unknown_or_malformed_address_is_refused_in_one_line(users, cli_db, command, address, words):
    with Session(cli_db) as s:
        make_user(s)
    done = users(command, address, stdin=f"{NEW}\n")
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and words in done.stderr, done.stderr
    with Session(cli_db) as s:
        assert authenticate(s, ALICE, OLD, CLIENT)  # nothing changed for the one account there is


@pytest.mark.parametrize("argv", [["users", "list"], ["users", "deactivate", ALICE], ["resets", "purge"]])
def test_a_database_without_tables_is_one_line_not_a_traceback(env, tmp_path, argv):
    blank = env | {"PWAPP_DATABASE_URL": f"sqlite:///{tmp_path}/blank.db"}
    done = subprocess.run([sys.executable, "-m", "pwapp", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=blank, timeout=120, check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"python -m pwapp {argv[0]}: error: the database cannot be used (OperationalError); "
        "is it created and migrated (`alembic upgrade head`)?"
    ]


def test_two_step_off_lets_an_owner_without_app_or_codes_back_in_and_tells_them(users, cli_db):
    with Session(cli_db, expire_on_commit=False) as s:
        alice = make_user(s)
        two_step.start_enrolment(s, alice, OLD)
        secret = two_step.pending_enrolment(s, alice).secret
        codes = two_step.confirm_enrolment(s, alice, pyotp.TOTP(secret).now(), CLIENT)
        s.commit()
        assert two_step.log_in(s, ALICE, OLD, CLIENT).challenge  # the password alone is not enough
        s.rollback()
    refused(users("two-step-off", "nobody@example.org"), "No account")

    done = users("two-step-off", ALICE)
    assert done.returncode == 0 and done.stdout.strip() == f"two-step sign-in turned off for {ALICE}; the owner is told by mail"
    assert not any(c in done.stdout + done.stderr for c in [secret, *codes])
    with Session(cli_db) as s:
        assert two_step.log_in(s, ALICE, OLD, CLIENT).ticket
        [notice] = mails(s, template="two_step_disabled", recipient=ALICE)
        assert "the pwapp command line" in notice.text()
    refused(users("two-step-off", ALICE), f"two-step sign-in is not on for {ALICE}")
