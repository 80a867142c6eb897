"""The two-step pages that show a secret, rendered by the server so that no secret is ever a
Reflex state var: a new enrolment's key (with its first code) and new recovery codes, once.

Both know the visitor by the HttpOnly session cookie. `GET <account prefix>/two-step/setup`
shows the pending enrolment's QR code and key; its form's same-origin POST to the same path
turns two-step on and goes to `<account prefix>/two-step/recovery-codes`, which shows the codes
kept for this session and deletes them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import accounts, two_step
from pwapp.services.errors import (
    InvalidCode,
    NotAuthenticated,
    TooManyAttempts,
    TwoStepAlreadyOn,
    TwoStepOff,
)
from pwapp.web.client import client_of
from pwapp.web.cookies import session_hash_of
from pwapp.web.origin import is_same_origin
from pwapp.web.plain import form_field, render

SIGNED_OUT = "You are not signed in, so there is nothing to show here. Log in, then open two-step sign-in again."
NOTHING_PENDING = "No two-step set-up is waiting for a code. Start one from the two-step sign-in page."
ALREADY_SHOWN = ("These recovery codes were already shown, or not opened in time. If you did not save them, "
                 "make new ones on the two-step sign-in page.")
CROSS_SITE = "This request came from another site, so nothing was changed."
TOO_LARGE = "That request was too large, so nothing was changed."


def _message(template: str, status_code: int, problem: str) -> HTMLResponse:
    """`template` saying `problem`, with a link to the two-step settings (to log in first, when signed out)."""
    here = routes.current()
    link, label = (
        (here.login_then(here.account_two_step), "Log in") if problem == SIGNED_OUT
        else (here.account_two_step, "Go to two-step sign-in")
    )
    return render(template, status_code, enrolment=None, codes=[], problem=problem, link=link, label=label)


def _signed_out(template: str) -> HTMLResponse:
    return _message(template, 403, SIGNED_OUT)


async def setup_page(request: Request) -> Response:
    """GET: the pending secret and a form for its first code. POST: that code, which turns
    two-step on (then the recovery codes), or the same page saying why not (400, 429)."""
    token = session_hash_of(request.headers.get("cookie", ""))
    problem, status_code, headers = "", 200, {}
    if request.method == "POST":
        if not is_same_origin(request.headers):
            return _message("two_step_setup.html", 403, CROSS_SITE)
        code = await form_field(request, "code")
        if code is None:
            return _message("two_step_setup.html", 413, TOO_LARGE)
        client = client_of(request)

        def turn_on(db, user, session):
            two_step.confirm_enrolment(db, user, code, client, current_session_id=session.id)

        try:
            await in_db(accounts.as_session_owner, token, turn_on)
            return RedirectResponse(routes.current().recovery_codes, status_code=303)
        except InvalidCode as exc:
            problem, status_code = exc.messages[0], 400
        except TooManyAttempts as exc:
            problem, status_code, headers = exc.messages[0], 429, {"Retry-After": str(exc.retry_after)}
        except NotAuthenticated:
            return _signed_out("two_step_setup.html")
        except (TwoStepOff, TwoStepAlreadyOn):
            return _message("two_step_setup.html", 404, NOTHING_PENDING)
    try:
        enrolment = await in_db(accounts.as_session_owner, token, lambda db, user, _session: two_step.pending_enrolment(db, user))
    except NotAuthenticated:
        return _signed_out("two_step_setup.html")
    except (TwoStepOff, TwoStepAlreadyOn):
        return _message("two_step_setup.html", 404, NOTHING_PENDING)
    page = render("two_step_setup.html", status_code, enrolment=enrolment, problem=problem)
    page.headers.update(headers)
    return page


async def recovery_codes_page(request: Request) -> Response:
    """The new recovery codes kept for this session, shown once (a request from another site
    uses nothing up)."""
    if not is_same_origin(request.headers, allow_user_started=True):
        return _message("recovery_codes.html", 403, CROSS_SITE)
    token = session_hash_of(request.headers.get("cookie", ""))
    try:
        codes = await in_db(accounts.as_session_owner, token, lambda db, _user, session: two_step.take_recovery_codes(db, session))
    except NotAuthenticated:
        return _signed_out("recovery_codes.html")
    if not codes:
        return _message("recovery_codes.html", 404, ALREADY_SHOWN)
    return render("recovery_codes.html", codes=codes, problem="")


def two_step_pages(app):
    """Answer the set-up page (GET, POST) and the recovery codes (GET); the rest goes on to `app`."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http":
            here, path, method = routes.current(), scope["path"].rstrip("/"), scope["method"]
            page = {
                (here.two_step_setup, "GET"): setup_page,
                (here.two_step_setup, "POST"): setup_page,
                (here.recovery_codes, "GET"): recovery_codes_page,
            }.get((path, method))
            if page is not None:
                return await (await page(Request(scope, receive)))(scope, receive, send)
        return await app(scope, receive, send)

    return wrapped
