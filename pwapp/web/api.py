"""The REST API: JSON in, JSON out, calling the same services as the pages (routes in
ENDPOINTS; each request body's model is in pwapp.web.schemas, the document in pwapp.web.openapi).

No rule lives here: this module only parses requests, calls `pwapp.services` in a worker
thread (they hash passwords) and turns their typed errors into status codes:
AccountError → 400 {"errors": {field: [messages]}}, NotAuthenticated → 401 {"detail"},
TooManyAttempts → 429 {"detail"} with Retry-After, HookFailed (a hook of pwapp.hooks raised,
nothing changed) → 500 {"detail"}. Requests are capped before any service
sees them: 64 KiB bodies (413), JSON objects only (400 otherwise, 415 for other media types),
then validated by their model in pwapp.web.schemas (every field's problem at once, 400).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pwapp import routes
from pwapp.db import in_db
from pwapp.security.tokens import digest
from pwapp.services import accounts, passwords, signup, two_step
from pwapp.services.errors import AccountError, HookFailed, NotAuthenticated, ResetLinkError, TooManyAttempts
from pwapp.web import openapi, schemas
from pwapp.web.client import client_of
from pwapp.web.schemas import MAX_BODY_BYTES

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

INTERNAL_ERROR = "Internal error"
BEARER_REALM = 'Bearer realm="pwapp"'


class ApiError(Exception):
    """An answer other than success, raised anywhere while handling a request."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def invalid(field: str, message: str) -> ApiError:
    return ApiError(400, {"errors": {field: [message]}})


def unauthorized(token_given: bool) -> ApiError:
    challenge = BEARER_REALM + (', error="invalid_token"' if token_given else "")
    return ApiError(401, {"detail": NotAuthenticated.message}, {"WWW-Authenticate": challenge})


def from_account_error(exc: AccountError) -> ApiError:
    """The HTTP form of a service's typed error (its words, unchanged)."""
    if isinstance(exc, HookFailed):  # the server's fault, not the request's (pwapp.hooks logged it)
        return ApiError(500, {"detail": INTERNAL_ERROR})
    if isinstance(exc, TooManyAttempts):
        return ApiError(429, {"detail": str(exc)}, {"Retry-After": str(max(1, int(exc.retry_after)))})
    if isinstance(exc, NotAuthenticated):
        return unauthorized(True)
    body: dict[str, Any] = {"errors": exc.errors}
    if isinstance(exc, ResetLinkError):
        body["reason"] = exc.reason
    return ApiError(400, body)


# --- reading requests ---------------------------------------------------------------------


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_body(request: Request) -> bytes:
    """The raw body, refusing more than MAX_BODY_BYTES whether announced or streamed (chunked)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise invalid("body", "Content-Length must be a whole number.")
        if int(declared) > MAX_BODY_BYTES:
            raise too_large()
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise too_large()
    except ClientDisconnect:  # nobody is left to answer; keep it out of the error log
        raise invalid("body", "The request body was cut short.") from None
    return bytes(body)


def too_large() -> ApiError:
    return ApiError(413, {"detail": f"Request body must be at most {MAX_BODY_BYTES // 1024} KiB."})


async def read_model(request: Request, model: type[M]) -> M:
    """The request's JSON object as `model` (415 when not JSON, 413 when too big, 400 when not an
    object or when fields are refused, every field's problem at once)."""
    if not _is_json(request.headers.get("content-type", "")):
        raise ApiError(415, {"detail": "Send the request body as application/json."})
    raw = await read_body(request)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise invalid("body", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise invalid("body", "The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, {"errors": schemas.problems(exc)}) from None


def bearer_token(request: Request) -> str | None:
    """The SHA-256 of the token of an `Authorization: Bearer <token>` header (how services name a session)."""
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return digest(token)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC (SQLite may hand back naive datetimes, which are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


# --- endpoints ----------------------------------------------------------------------------


async def login(request: Request) -> Response:
    body = await read_model(request, schemas.Login)
    result = await in_db(two_step.log_in_api, body.email, body.password, client_of(request))
    if isinstance(result, two_step.SignIn):  # a two-step account: no token before the code
        return JSONResponse({"challenge": result.challenge, "expires_at": iso(result.expires_at)})
    record, token = result
    return JSONResponse({"token": token, "expires_at": iso(record.expires_at)})


async def register(request: Request) -> Response:
    body = await read_model(request, schemas.Register)
    client = client_of(request)

    def sign_up(s):
        user = signup.sign_up(s, body.email, body.new_password, body.confirm_password, client)
        return user and accounts.create_session(s, user, client)

    created = await in_db(sign_up)
    if created is None:
        return JSONResponse({"detail": signup.SIGN_UP_REQUESTED}, status_code=202)
    record, token = created
    return JSONResponse({"token": token, "expires_at": iso(record.expires_at)}, status_code=201)


async def verify_email(request: Request) -> Response:
    body = await read_model(request, schemas.VerifyEmail)
    client = client_of(request)

    def confirm(s):
        return accounts.create_session(s, signup.verify_email(s, body.token, body.password, client), client)

    record, token = await in_db(confirm)
    return JSONResponse({"token": token, "expires_at": iso(record.expires_at)})


async def login_two_step(request: Request) -> Response:
    body = await read_model(request, schemas.LoginTwoStep)
    record, token = await in_db(two_step.complete_for_api, body.challenge, body.code, client_of(request))
    return JSONResponse({"token": token, "expires_at": iso(record.expires_at)})


async def logout(request: Request) -> Response:
    token = bearer_token(request)
    if token is None:
        raise unauthorized(False)

    def sign_out(s) -> bool:
        if accounts.current_session(s, token) is None:
            return False
        accounts.logout(s, token)
        return True

    if not await in_db(sign_out):
        raise unauthorized(True)
    return Response(status_code=204)


async def change_password(request: Request) -> Response:
    token = bearer_token(request)
    if token is None:
        raise unauthorized(False)
    body = await read_model(request, schemas.ChangePassword)
    client = client_of(request)
    issued: dict[str, datetime] = {}

    def issue(s, user, c, **kwargs) -> str:
        record, new_token = accounts.create_session(s, user, c, **kwargs)
        issued["expires_at"] = record.expires_at
        return new_token

    def change(s) -> str:
        found = accounts.current_session(s, token)
        if found is None:
            raise NotAuthenticated()
        user, session = found
        return passwords.change_password(
            s,
            user,
            session,
            body.current_password,
            body.new_password,
            body.confirm_password,
            client=client,
            sign_out_others=body.sign_out_others,
            issue=issue,
        )

    new_token = await in_db(change)
    expires_at = iso(issued["expires_at"])
    return JSONResponse({"detail": schemas.PASSWORD_CHANGED, "token": new_token, "expires_at": expires_at})


async def request_reset(request: Request) -> Response:
    body = await read_model(request, schemas.RequestReset)
    await in_db(passwords.request_password_reset, body.email, client_of(request))
    return JSONResponse({"detail": passwords.RESET_REQUESTED})


async def confirm_reset(request: Request) -> Response:
    body = await read_model(request, schemas.ConfirmReset)  # its `uid` is accepted and ignored
    client = client_of(request)
    await in_db(passwords.reset_password, body.token, body.new_password, body.confirm_password, client)
    return JSONResponse({"detail": schemas.RESET_DONE})


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi.spec())


# --- routing and the safety net -----------------------------------------------------------


def _log_unexpected(request: Request, exc: BaseException) -> None:
    """Where and what failed: exception type and stack, no message (it may quote SQL parameters
    or input), and never the request body or headers."""
    stack = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    log.error("unhandled %s in %s %s\n%s", type(exc).__name__, request.method, request.url.path, stack)


class Endpoint:
    """One path's handlers by method, as an ASGI app (so Starlette routes every method here and
    the 405 is JSON too), answering JSON for every outcome: never a stack trace."""

    def __init__(self, handlers: dict[str, Callable[[Request], Awaitable[Response]]]):
        self.handlers = handlers
        self.allowed = ", ".join(sorted(handlers))

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        response = await self.dispatch(request)
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        handler = self.handlers.get(request.method)
        if handler is None:
            return JSONResponse({"detail": "Method not allowed."}, status_code=405, headers={"Allow": self.allowed})
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except AccountError as exc:
            return from_account_error(exc).response()
        except Exception as exc:  # the safety net: logged, and answered without details
            _log_unexpected(request, exc)
            return JSONResponse({"detail": INTERNAL_ERROR}, status_code=500)


ENDPOINTS: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {
    routes.API_LOGIN: {"POST": login},
    routes.API_LOGIN_TWO_STEP: {"POST": login_two_step},
    routes.API_LOGOUT: {"POST": logout},
    routes.API_REGISTER: {"POST": register},
    routes.API_VERIFY_EMAIL: {"POST": verify_email},
    routes.API_CHANGE_PASSWORD: {"PUT": change_password},
    routes.API_RESET_PASSWORD: {"POST": request_reset},
    routes.API_RESET_PASSWORD_CONFIRM: {"POST": confirm_reset},
    routes.API_OPENAPI: {"GET": openapi_json},
}



def http_routes() -> list[Route]:
    """The API's routes."""
    return [Route(path, Endpoint(handlers)) for path, handlers in ENDPOINTS.items()]
