"""The emailed reset link: a read-only page naming the account, then a same-origin click.

`GET <auth prefix>/reset-password?token=…` sets no cookie: it checks the link without using it up and
shows whose password it resets, with a Continue button. Only that button's same-origin
`POST <auth prefix>/reset-password` moves the token into the HttpOnly reset cookie and goes on to the
bare page (the Reflex form), so another site cannot plant its own link in a visitor's browser.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pwapp import routes
from pwapp.db import in_db
from pwapp.security.tokens import is_well_formed_reset
from pwapp.services import passwords
from pwapp.services.errors import ResetLinkError, ResetLinkInvalid
from pwapp.settings import settings
from pwapp.web.cookies import reset_cookie, set_cookie
from pwapp.web.origin import is_same_origin
from pwapp.web.plain import form_field, render

CROSS_SITE = "This request came from another site, so nothing was changed. Open the link from your email."
TOO_LARGE = "That request was too large, so nothing was changed. Open the link from your email."


def _page(status_code: int = 200, *, email: str = "", token: str = "", problem: str = "") -> HTMLResponse:
    return render("reset_link.html", status_code, email=email, token=token, problem=problem)


async def show_link(request: Request) -> HTMLResponse:
    """Whose password the link resets and a Continue button, or why the link cannot be used."""
    token = request.query_params.get("token", "")
    try:
        _, user = await in_db(passwords.check_reset_link, token)
    except ResetLinkError as exc:
        return _page(problem=exc.messages[0])
    return _page(email=user.email, token=token)


async def accept_link(request: Request) -> Response:
    """The Continue click: a well-formed token from this site's page becomes the reset cookie."""
    if not is_same_origin(request.headers):
        return _page(403, problem=CROSS_SITE)
    token = await form_field(request, "token")
    if token is None:
        return _page(413, problem=TOO_LARGE)
    if not is_well_formed_reset(token):
        return _page(400, problem=ResetLinkInvalid.message)
    # The form's address as the static server serves it (no trailing-slash redirect built from Host).
    response = RedirectResponse(routes.current().reset_password + "/", status_code=303)
    set_cookie(response, reset_cookie(), token, settings.reset_token_max_age)
    return response


def reset_link_page(app):
    """Answer the link (GET/HEAD with `token`) and its Continue (POST); the bare page stays Reflex's."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["path"].rstrip("/") == routes.current().reset_password:
            request = Request(scope, receive)
            if request.method == "POST":
                return await (await accept_link(request))(scope, receive, send)
            if request.method in ("GET", "HEAD") and "token" in request.query_params:
                return await (await show_link(request))(scope, receive, send)
        return await app(scope, receive, send)

    return wrapped
