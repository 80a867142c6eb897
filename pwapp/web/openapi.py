"""The OpenAPI 3 description of pwapp.web.api, served at GET /api/openapi.json.

Bodies are the JSON schemas of the models in pwapp.web.schemas, the ones the handlers validate
with; this module adds the routes, their words and their refusals (and the fuzz test holds
the handlers to the result).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from pwapp import routes
from pwapp.web import schemas as s

JSON = "application/json"
REF = "#/components/schemas/{model}"


class OpenAPI30(GenerateJsonSchema):
    """JSON Schema as OpenAPI 3.0 reads it: a constant is a one-value `enum`, no `null` default."""

    def literal_schema(self, schema):
        found = super().literal_schema(schema)
        if "const" in found:
            found["enum"] = [found.pop("const")]
        return found

    def default_schema(self, schema):
        found = super().default_schema(schema)
        if "default" in found and found["default"] is None:
            del found["default"]
        return found


def _answer(description: str, model: type[BaseModel], headers: dict[str, Any] | None = None) -> dict:
    content = {JSON: {"schema": {"$ref": REF.format(model=model.__name__)}}}
    return {"description": description, "content": content, **({"headers": headers} if headers else {})}


def _either(description: str, *models: type[BaseModel]) -> dict:
    schema = {"oneOf": [{"$ref": REF.format(model=m.__name__)} for m in models]}
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": schema}


REFUSALS = {
    "400": _answer(
        "Invalid input: the body is not a JSON object, a field is missing, has the wrong type or is too long, "
        "or a rule refused it. Messages are keyed by field (`body` and `form` for the request as a whole).",
        s.Errors,
    ),
    "401": _answer(
        "No bearer token, or the token is unknown, expired, revoked or rotated.",
        s.Detail,
        {"WWW-Authenticate": _header("Always `Bearer ...`.", {"type": "string"})},
    ),
    "405": _answer("Wrong HTTP method for this path; `Allow` names the right one.", s.Detail),
    "413": _answer(f"The body is larger than {s.MAX_BODY_BYTES} bytes (announced or streamed).", s.Detail),
    "415": _answer("The body is not sent as application/json.", s.Detail),
    "429": _answer(
        "Too many attempts; try again after `Retry-After` seconds.",
        s.Detail,
        {"Retry-After": _header("Seconds to wait.", {"type": "integer", "minimum": 1})},
    ),
}


@dataclass(frozen=True)
class Route:
    """One path's operation: its words, its request model and its answers."""

    method: str
    id: str
    summary: str
    success: dict[str, Any]
    body: type[BaseModel] | None = None
    example: dict[str, str] | None = None
    description: str | None = None
    refusals: tuple[str, ...] = ()  # besides 405, and 400/413/415 for a body

    def operation(self) -> dict[str, Any]:
        codes = sorted({"405", *self.refusals, *(("400", "413", "415") if self.body else ())})
        found: dict[str, Any] = {
            "operationId": self.id,
            "summary": self.summary,
            "responses": {**self.success, **{code: REFUSALS[code] for code in codes}},
        }
        if self.description:
            found["description"] = self.description
        if "401" in self.refusals:
            found["security"] = [{"bearerAuth": []}]
        if self.body:
            schema = self.body.model_json_schema(ref_template=REF, schema_generator=OpenAPI30)
            content = {JSON: {"schema": schema, "example": self.example}}
            found["requestBody"] = {"required": True, "content": content}
        return found


OLD, NEW = "Quartz-Harbor-Tulip-1987!", "Velvet-Canyon-Marble-2042?"
ROUTES = {
    routes.API_LOGIN: Route(
        "post", "login", "Exchange an email and password for a bearer token (or, with two-step, a challenge).",
        {"200": _either("Signed in (a token), or the account has two-step sign-in (a challenge).", s.Token, s.Challenge)},
        refusals=("429",),
        body=s.Login, example={"email": "alice@example.org", "password": OLD},
        description="For an account with two-step sign-in the password alone yields no token: the answer is a "
        "challenge, valid for 5 minutes, that POST /api/login/two-step/ completes with a code.",
    ),
    routes.API_REGISTER: Route(
        "post", "register", "Sign up: the emailed link finishes creating the account.",
        {
            "202": _answer("Accepted: the same answer for every address.", s.SignUpRequested),
            "201": _answer("Created and signed in (only with PWAPP_REQUIRE_EMAIL_VERIFICATION=off).", s.Token),
        },
        body=s.Register, example={"email": "alice@example.org", "new_password": OLD},
        description="The answer is the same whether or not the address has an account, and also when sign-ups "
        "for it are being throttled: a new address gets a confirmation link, a taken one a mail to its owner. "
        "Only the address and password rules are checked here (400).",
    ),
    routes.API_VERIFY_EMAIL: Route(
        "post", "verifyEmail",
        "Confirm an address with the token from its emailed link (once) and the sign-up's password; answers a bearer token.",
        {"200": _answer("Confirmed and signed in.", s.Token)}, refusals=("429",),
        body=s.VerifyEmail, example={"token": "WzEsInNlY3JldCJd.aBcDeF.signature", "password": OLD},
        description="An expired, used or invalid token answers 400 with `errors.token` and a `reason` code. "
        "A password other than the one chosen at sign-up answers 400 with `errors.password` and keeps the link "
        "usable; tries count with the account's log-in attempts (429 past the limit).",
    ),
    routes.API_LOGIN_TWO_STEP: Route(
        "post", "loginTwoStep", "Complete a two-step log-in with a code; answers the bearer token.",
        {"200": _answer("Signed in.", s.Token)}, refusals=("429",),
        body=s.LoginTwoStep, example={"challenge": "q2v8Xn0m1K9yQ3RzZr4fY6pWb7Tj5Hc0aLdE2sGuV1o", "code": "123456"},
        description="A wrong code answers 400 with `errors.code` (the challenge stays usable until it expires); "
        "an unknown, expired or completed challenge answers 400 with `errors.challenge`. Each authenticator code "
        "works once, each recovery code once; attempts are throttled per account and per IP.",
    ),
    routes.API_LOGOUT: Route(
        "post", "logout", "Revoke the bearer token.",
        {"204": {"description": "Signed out; the token no longer works."}}, refusals=("401",),
    ),
    routes.API_CHANGE_PASSWORD: Route(
        "put", "changePassword", "Change the password; the caller gets a new token and its old one dies.",
        {"200": _answer("Changed; use the new token from now on.", s.PasswordChanged)},
        refusals=("401", "429"),
        body=s.ChangePassword, example={"current_password": OLD, "new_password": NEW},
        description="The caller's token is always rotated. With `sign_out_others` (the default) every "
        "other session of the account is revoked too.",
    ),
    routes.API_RESET_PASSWORD: Route(
        "post", "requestPasswordReset", "Email a reset link when the address has an account.",
        {"200": _answer("Accepted.", s.ResetRequested)},
        body=s.RequestReset, example={"email": "alice@example.org"},
        description="The answer is the same whether or not the address has an account, and also when "
        "requests for it are being throttled (then no mail is sent).",
    ),
    routes.API_RESET_PASSWORD_CONFIRM: Route(
        "post", "confirmPasswordReset", "Set a new password with the token from a reset link (once).",
        {"200": _answer("Reset; log in with the new password.", s.ResetDone)},
        body=s.ConfirmReset, example={"token": "WzEsInNlY3JldCJd.aBcDeF.signature", "new_password": NEW},
        description="Signs out every session of the account. An expired, used, superseded or invalid "
        "token answers 400 with `errors.token` and a `reason` code.",
    ),
    routes.API_OPENAPI: Route(
        "get", "openapi", "This document.",
        {"200": {"description": "The OpenAPI document.", "content": {JSON: {"schema": {"type": "object"}}}}},
    ),
}
ANSWERS = (
    s.Token, s.Challenge, s.PasswordChanged, s.SignUpRequested, s.ResetRequested, s.ResetDone, s.Detail, s.Errors
)


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The whole document (a plain dict, JSON-ready)."""
    _, answers = models_json_schema(
        [(model, "serialization") for model in ANSWERS], ref_template=REF, schema_generator=OpenAPI30
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "pwapp",
            "version": "1.0.0",
            "description": (
                "Sign up, confirm an address, log in, log out, change, forget and reset a password. "
                "Request bodies are JSON objects of at "
                f"most {s.MAX_BODY_BYTES} bytes; strings hold at most {s.MAX_STRING_LENGTH} characters of "
                "valid Unicode without NUL; unknown properties are ignored."
            ),
        },
        "paths": {path: {route.method: route.operation()} for path, route in ROUTES.items()},
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token from POST /api/login/ (or from a password change).",
                }
            },
            "schemas": answers["$defs"],
        },
    }
