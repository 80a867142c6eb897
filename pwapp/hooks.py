"""React to account events and add password rules without editing pwapp.

    from pwapp import hooks

    @hooks.on(hooks.PasswordChanged)                       # after the change commits
    def audit(event): ...

    @hooks.on(hooks.Registered, in_transaction=True)       # inside the sign-up's transaction
    def add_profile(db, event): ...

An in-transaction hook raising undoes the whole action (the user is told nothing changed, or
sees the AccountError it raised); an after-commit hook raising is logged and the action stands.
Register hooks once at start-up; the built-in notice mails are the defaults (`reset()`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlmodel import Session

from pwapp.events import (
    EVENTS,
    LoggedIn,
    LoginFailed,
    PasswordChanged,
    Registered,
    ResetCompleted,
    ResetRequested,
    ResetRequestHandled,
    SessionRevoked,
    TwoStepChanged,
)
from pwapp.services import notices
from pwapp.services.errors import AccountError, HookFailed

__all__ = [
    "LoggedIn",
    "LoginFailed",
    "PasswordChanged",
    "Registered",
    "ResetCompleted",
    "ResetRequestHandled",
    "ResetRequested",
    "SessionRevoked",
    "TwoStepChanged",
    "add_password_rule",
    "off",
    "on",
    "reset",
    "send_reset_links_with",
]

PasswordRule = Callable[[str, str], list[str]]
ResetLinkSender = Callable[[Session, str, str, bool], None]
WITHOUT_TRANSACTION = (LoginFailed,)  # a refused log-in writes nothing: its hooks run at once
_PENDING = "pwapp.hooks.after_commit"
log = logging.getLogger(__name__)


@dataclass
class _Registry:
    in_transaction: dict[type, list[Callable]] = field(
        default_factory=lambda: {
            PasswordChanged: [notices.password_changed],
            ResetCompleted: [notices.password_reset_done],
            TwoStepChanged: [notices.two_step_changed],
        }
    )
    after_commit: dict[type, list[Callable]] = field(default_factory=dict)
    password_rules: list[PasswordRule] = field(default_factory=list)
    reset_link_sender: ResetLinkSender = notices.reset_link


_registry = _Registry()


# --- registering ---------------------------------------------------------------------------


def on(event: type, hook: Callable | None = None, *, in_transaction: bool = False) -> Any:
    """Call `hook(event)` after every `event` commits, or `hook(db, event)` inside its transaction
    with `in_transaction=True`; returns `hook`, so it also works as a decorator."""
    if event not in EVENTS:
        raise ValueError(f"{event!r} is not a pwapp event")
    if in_transaction and event in WITHOUT_TRANSACTION:
        raise ValueError(f"{event.__name__} has no transaction: register it without in_transaction")
    table = _registry.in_transaction if in_transaction else _registry.after_commit

    def register(fn: Callable) -> Callable:
        table.setdefault(event, []).append(fn)
        return fn

    return register if hook is None else register(hook)


def off(event: type, hook: Callable) -> None:
    """Stop calling `hook` for `event` (e.g. a built-in notice mail, `notices.password_changed`)."""
    for table in (_registry.in_transaction, _registry.after_commit):
        if hook in table.get(event, []):
            table[event].remove(hook)
            return
    raise ValueError(f"{hook!r} is not a hook of {event.__name__}")


def send_reset_links_with(sender: ResetLinkSender) -> None:
    """Deliver reset links with `sender(db, email, url, has_account)` instead of the built-in mail.

    The worker calls it in its transaction for every queued request; for an address without an
    active account `url` names a record that opens nothing, and nothing should reach the address."""
    _registry.reset_link_sender = sender


def add_password_rule(rule: PasswordRule) -> None:
    """Also refuse passwords `rule(password, email)` has messages for (shown like the built-in ones)."""
    _registry.password_rules.append(rule)


def reset() -> None:
    """Back to the defaults: the built-in notice mails, no other hook, no extra password rule."""
    global _registry
    _registry = _Registry()


# --- emitting (the services call these) ----------------------------------------------------


def emit(db: Session, event: Any) -> None:
    """Call `event`'s in-transaction hooks now, and its after-commit hooks once `db` commits."""
    for hook in tuple(_registry.in_transaction.get(type(event), ())):
        _call(hook, db, event)
    observers = tuple(_registry.after_commit.get(type(event), ()))
    if observers:
        _pending(db).append((event, observers))


def notify(event: Any) -> None:
    """Call the hooks of an event that commits nothing, now; a failing one is logged."""
    _observe(event, tuple(_registry.after_commit.get(type(event), ())))


def password_problems(password: str, email: str) -> list[str]:
    """The extra rules' messages for `password` (the built-in policy is in pwapp.security.password_policy)."""
    return [message for rule in tuple(_registry.password_rules) for message in _call(rule, password, email)]


def send_reset_link(db: Session, email: str, url: str, has_account: bool) -> None:
    """Hand one reset link to the sender (the built-in mail unless replaced)."""
    _call(_registry.reset_link_sender, db, email, url, has_account)


def _call(hook: Callable, *args: Any) -> Any:
    """`hook(*args)`; an AccountError passes as it is, any other error is logged and becomes HookFailed."""
    try:
        return hook(*args)
    except AccountError:
        raise
    except Exception as exc:
        _log_failure(hook, exc)
        raise HookFailed() from None


def _observe(event: Any, observers: tuple[Callable, ...]) -> None:
    for hook in observers:
        try:
            hook(event)
        except Exception as exc:  # the action has happened: a failing observer cannot undo it
            _log_failure(hook, exc)


def _log_failure(hook: Callable, exc: BaseException) -> None:
    """The hook, the exception's type and its stack; not its message, which may quote input."""
    stack = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    name = getattr(hook, "__qualname__", repr(hook))
    log.error("hook %s raised %s\n%s", name, type(exc).__name__, stack)


def _pending(db: Session) -> list:
    """`db`'s events waiting for its commit; the first call makes `db` run them after commit."""
    pending = db.info.get(_PENDING)
    if pending is None:
        pending = db.info[_PENDING] = []
        sa_event.listen(db, "after_commit", _after_commit)
        sa_event.listen(db, "after_transaction_end", _after_transaction_end)
    return pending


def _after_commit(db: Session) -> None:
    if db.in_nested_transaction():  # a savepoint was released: the transaction goes on
        return
    pending = db.info[_PENDING]
    committed, pending[:] = list(pending), []
    for event, observers in committed:
        _observe(event, observers)


def _after_transaction_end(db: Session, transaction: Any) -> None:
    if transaction.parent is None:  # rolled back or closed: what it emitted never happened
        db.info[_PENDING].clear()
