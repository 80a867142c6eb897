"""The emailed address-confirmation link: a read-only page, then a same-origin Confirm click.

`GET <auth prefix>/verify-email?token=…` checks the link without using it up (a mail scanner
opening it changes nothing) and asks for the sign-up's password; only that form's same-origin
POST uses the link, confirms the address and signs this browser in through the ticket handoff.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pwapp import routes
from pwapp.db import in_db
from pwapp.services import accounts, signup
from pwapp.services.errors import TooManyAttempts, VerifyLinkError, WrongSignUpPassword
from pwapp.web.client import client_of
from pwapp.web.origin import is_same_origin
from pwapp.web.plain import form_fields, render
from pwapp.web.reset_link import CROSS_SITE, TOO_LARGE


def _page(status_code: int = 200, *, email: str = "", token: str = "", problem: str = "", reason: str = "",
          password_error: str = "") -> HTMLResponse:
    return render("verify_link.html", status_code, email=email, token=token, problem=problem, reason=reason,
                  password_error=password_error)


async def _form(token: str, status_code: int = 200, password_error: str = "") -> HTMLResponse:
    """Which address the link confirms and the password form, or why the link cannot be used."""
    try:
        _, user = await in_db(signup.check_verify_link, token)
    except VerifyLinkError as exc:
        return _page(status_code, problem=exc.messages[0], reason=exc.reason)
    return _page(status_code, email=user.email, token=token, password_error=password_error)


async def show_link(request: Request) -> HTMLResponse:
    """The link as opened from the mail: read only."""
    return await _form(request.query_params.get("token", ""))


async def confirm_link(request: Request) -> Response:
    """The Confirm click: use the link, then sign this browser in (log in when it holds no binding cookie)."""
    if not is_same_origin(request.headers):
        return _page(403, problem=CROSS_SITE)
    fields = await form_fields(request, "token", "password")
    if fields is None:
        return _page(413, problem=TOO_LARGE)
    token, password = fields
    client = client_of(request)

    def confirm(db) -> str:
        user = signup.verify_email(db, token, password, client)
        return accounts.create_ticket(db, user, client) if client.binding else ""

    try:
        ticket = await in_db(confirm)
    except VerifyLinkError as exc:
        return _page(400, problem=exc.messages[0], reason=exc.reason)
    except (WrongSignUpPassword, TooManyAttempts) as exc:  # the link is kept: the form again
        return await _form(token, 429 if isinstance(exc, TooManyAttempts) else 400, exc.messages[0])
    here = routes.current()
    target = here.start_session(ticket, here.account) if ticket else f"{here.login}?notice=verified"
    return RedirectResponse(target, status_code=303)


def verify_link_page(app):
    """Answer the link (GET/HEAD) and its Confirm (POST) at `<auth prefix>/verify-email`."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["path"].rstrip("/") == routes.current().verify_email:
            request = Request(scope, receive)
            if request.method == "POST":
                return await (await confirm_link(request))(scope, receive, send)
            if request.method in ("GET", "HEAD"):
                return await (await show_link(request))(scope, receive, send)
        return await app(scope, receive, send)

    return wrapped
