"""The OpenAPI 3 description of pwapp.web.api, served at GET /api/openapi.json.

Built from the API module's own limits and messages, so the document cannot drift from
what the handlers enforce (and the fuzz test holds the handlers to this document).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pwapp.services import passwords
from pwapp.web import api

JSON = "application/json"


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "maxLength": api.MAX_STRING_LENGTH, "description": description}


def _body(required: list[str], properties: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "type": "object",
                    "required": required,
                    "properties": properties,
                    "additionalProperties": True,
                },
                "example": example,
            }
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {JSON: {"schema": _ref(schema)}}}
    if headers:
        answer["headers"] = headers
    return answer


def _detail_schema(constant: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"type": "string"}
    if constant is not None:
        detail["enum"] = [constant]
    return {"type": "object", "required": ["detail"], "properties": {"detail": detail}}


BAD_REQUEST = _json(
    "Invalid input: the body is not a JSON object, a field is missing, has the wrong type or is too long, "
    "or a rule refused it. Messages are keyed by field (`body` and `form` for the request as a whole).",
    "Errors",
)
UNAUTHORIZED = _json(
    "No bearer token, or the token is unknown, expired, revoked or rotated.",
    "Detail",
    {"WWW-Authenticate": {"description": "Always `Bearer ...`.", "required": True, "schema": {"type": "string"}}},
)
TOO_LARGE = _json(f"The body is larger than {api.MAX_BODY_BYTES} bytes (announced or streamed).", "Detail")
UNSUPPORTED = _json("The body is not sent as application/json.", "Detail")
THROTTLED = _json(
    "Too many attempts; try again after `Retry-After` seconds.",
    "Detail",
    {
        "Retry-After": {
            "description": "Seconds to wait.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
)
NOT_ALLOWED = _json("Wrong HTTP method for this path; `Allow` names the right one.", "Detail")


def _responses(ok: dict[str, Any], *, body: bool = True, auth: bool = False, throttled: bool = False) -> dict:
    answers: dict[str, Any] = {**ok, "405": NOT_ALLOWED}
    if body:
        answers.update({"400": BAD_REQUEST, "413": TOO_LARGE, "415": UNSUPPORTED})
    if auth:
        answers["401"] = UNAUTHORIZED
    if throttled:
        answers["429"] = THROTTLED
    return answers


BEARER = [{"bearerAuth": []}]


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The whole document (a plain dict, JSON-ready)."""
    password = _text("Checked by the password policy (length, strength, not built from the email).")
    confirm = _text("When present, must equal new_password.")
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "pwapp",
            "version": "1.0.0",
            "description": (
                "Log in, log out, change, forget and reset a password. Request bodies are JSON objects of at "
                f"most {api.MAX_BODY_BYTES} bytes; strings hold at most {api.MAX_STRING_LENGTH} characters of "
                "valid Unicode without NUL; unknown properties are ignored."
            ),
        },
        "paths": {
            "/api/login/": {
                "post": {
                    "operationId": "login",
                    "summary": "Exchange an email and password for a bearer token.",
                    "requestBody": _body(
                        ["email", "password"],
                        {"email": _text("The account's email address (any case)."), "password": _text("The account's password.")},
                        {"email": "alice@example.org", "password": "Quartz-Harbor-Tulip-1987!"},
                    ),
                    "responses": _responses(
                        {"200": _json("Signed in.", "Token")},
                        throttled=True,
                    ),
                }
            },
            "/api/logout/": {
                "post": {
                    "operationId": "logout",
                    "summary": "Revoke the bearer token.",
                    "security": BEARER,
                    "responses": _responses(
                        {"204": {"description": "Signed out; the token no longer works."}},
                        body=False,
                        auth=True,
                    ),
                }
            },
            "/change-password/": {
                "put": {
                    "operationId": "changePassword",
                    "summary": "Change the password; the caller gets a new token and its old one dies.",
                    "description": (
                        "The caller's token is always rotated. With `sign_out_others` (the default) every "
                        "other session of the account is revoked too."
                    ),
                    "security": BEARER,
                    "requestBody": _body(
                        ["current_password", "new_password"],
                        {
                            "current_password": _text("The password in use now."),
                            "new_password": password,
                            "confirm_password": confirm,
                            "sign_out_others": {"type": "boolean", "default": True},
                        },
                        {"current_password": "Quartz-Harbor-Tulip-1987!", "new_password": "Velvet-Canyon-Marble-2042?"},
                    ),
                    "responses": _responses(
                        {"200": _json("Changed; use the new token from now on.", "PasswordChanged")},
                        auth=True,
                        throttled=True,
                    ),
                }
            },
            "/reset-password/": {
                "post": {
                    "operationId": "requestPasswordReset",
                    "summary": "Email a reset link when the address has an account.",
                    "description": (
                        "The answer is the same whether or not the address has an account, and also when "
                        "requests for it are being throttled (then no mail is sent)."
                    ),
                    "requestBody": _body(
                        ["email"], {"email": _text("Where to send the link.")}, {"email": "alice@example.org"}
                    ),
                    "responses": _responses({"200": _json("Accepted.", "ResetRequested")}),
                }
            },
            "/reset-password-confirm/": {
                "post": {
                    "operationId": "confirmPasswordReset",
                    "summary": "Set a new password with the token from a reset link (once).",
                    "description": (
                        "Signs out every session of the account. An expired, used, superseded or "
                        "invalid token answers 400 with `errors.token` and a `reason` code."
                    ),
                    "requestBody": _body(
                        ["token", "new_password"],
                        {
                            "token": _text("The `token` query parameter of the emailed link."),
                            "uid": {"description": "Accepted and ignored (the token names the account)."},
                            "new_password": password,
                            "confirm_password": confirm,
                        },
                        {"token": "WzEsInNlY3JldCJd.aBcDeF.signature", "new_password": "Velvet-Canyon-Marble-2042?"},
                    ),
                    "responses": _responses({"200": _json("Reset; log in with the new password.", "ResetDone")}),
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "responses": _responses(
                        {
                            "200": {
                                "description": "The OpenAPI document.",
                                "content": {JSON: {"schema": {"type": "object"}}},
                            }
                        },
                        body=False,
                    ),
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token from POST /api/login/ (or from a password change).",
                }
            },
            "schemas": {
                "Token": {
                    "type": "object",
                    "required": ["token", "expires_at"],
                    "properties": {
                        "token": {"type": "string", "minLength": 1},
                        "expires_at": {"type": "string", "format": "date-time"},
                    },
                },
                "PasswordChanged": {
                    "type": "object",
                    "required": ["detail", "token", "expires_at"],
                    "properties": {
                        "detail": {"type": "string", "enum": [api.PASSWORD_CHANGED]},
                        "token": {"type": "string", "minLength": 1},
                        "expires_at": {"type": "string", "format": "date-time"},
                    },
                },
                "ResetRequested": _detail_schema(passwords.RESET_REQUESTED),
                "ResetDone": _detail_schema(api.RESET_DONE),
                "Detail": _detail_schema(),
                "Errors": {
                    "type": "object",
                    "required": ["errors"],
                    "properties": {
                        "errors": {
                            "type": "object",
                            "minProperties": 1,
                            "additionalProperties": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "string"},
                            },
                        },
                        "reason": {
                            "type": "string",
                            "enum": ["invalid", "expired", "used", "superseded", "stale"],
                            "description": "Why a reset token was refused (reset confirmation only).",
                        },
                    },
                },
            },
        },
    }
