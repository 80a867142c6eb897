"""The REST API's bodies as typed models: pwapp.web.api validates requests with them and
pwapp.web.openapi publishes their JSON schemas, so what is checked is what is documented."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from pwapp.security.passwords import is_storable
from pwapp.services.passwords import RESET_REQUESTED
from pwapp.services.signup import SIGN_UP_REQUESTED

MAX_BODY_BYTES = 64 * 1024
MAX_STRING_LENGTH = 4096

PASSWORD_CHANGED = "Password changed successfully."
RESET_DONE = "Password reset successful."

NOT_TEXT = "Must be valid Unicode text without NUL characters."
MESSAGES = {  # pydantic's error types in the API's words (a custom error carries its own)
    "missing": "This field is required.",
    "string_type": "Must be a string.",
    "string_too_long": f"Must be at most {MAX_STRING_LENGTH} characters.",
    "string_unicode": NOT_TEXT,  # a lone surrogate such as "\ud800"
    "bool_type": "Must be true or false.",
}


def _storable(value: str) -> str:
    if not is_storable(value):
        raise PydanticCustomError("not_text", NOT_TEXT)
    return value


Text = Annotated[str, Field(max_length=MAX_STRING_LENGTH), AfterValidator(_storable)]


def problems(exc: ValidationError) -> dict[str, list[str]]:
    """Each refused field's problem, as {field: [message]} (pydantic reports every field at once)."""
    found: dict[str, list[str]] = {}
    for error in exc.errors():
        found.setdefault(str(error["loc"][0]), [MESSAGES.get(error["type"], error["msg"])])
    return found


class Body(BaseModel):
    """A request: a JSON object whose unknown properties are ignored; an absent optional field
    is None, a present one (even null) must have its type."""

    model_config = ConfigDict(strict=True, json_schema_extra={"additionalProperties": True})


class Login(Body):
    email: Text = Field(description="The account's email address (any case).")
    password: Text = Field(description="The account's password.")


class LoginTwoStep(Body):
    challenge: Text = Field(description="The `challenge` that POST /api/login/ answered.")
    code: Text = Field(description="The current 6-digit code of the authenticator app, or an unused recovery code.")


NEW_PASSWORD = "Checked by the password policy (length, strength, not built from the email)."
CONFIRM = "When present, must equal new_password."


class Register(Body):
    email: Text = Field(description="The new account's address; the emailed link confirms it.")
    new_password: Text = Field(description=NEW_PASSWORD)
    confirm_password: Text = Field(None, description=CONFIRM)


class VerifyEmail(Body):
    token: Text = Field(description="The `token` query parameter of the emailed confirmation link.")
    password: Text = Field(description="The password chosen at sign-up.")


class ChangePassword(Body):
    current_password: Text = Field(description="The password in use now.")
    new_password: Text = Field(description=NEW_PASSWORD)
    confirm_password: Text = Field(None, description=CONFIRM)
    sign_out_others: bool = True


class RequestReset(Body):
    email: Text = Field(description="Where to send the link.")


class ConfirmReset(Body):
    token: Text = Field(description="The `token` query parameter of the emailed link.")
    uid: Any = Field(None, description="Accepted and ignored (the token names the account).")
    new_password: Text = Field(description=NEW_PASSWORD)
    confirm_password: Text = Field(None, description=CONFIRM)


# --- answers (documented here; the handlers build them as dicts) ----------------------------


class Token(BaseModel):
    token: str = Field(min_length=1)
    expires_at: datetime


class Challenge(BaseModel):
    challenge: str = Field(min_length=1, description="Send it with a code to POST /api/login/two-step/.")
    expires_at: datetime


class PasswordChanged(Token):
    detail: Literal[PASSWORD_CHANGED]


class SignUpRequested(BaseModel):
    detail: Literal[SIGN_UP_REQUESTED]


class ResetRequested(BaseModel):
    detail: Literal[RESET_REQUESTED]


class ResetDone(BaseModel):
    detail: Literal[RESET_DONE]


class Detail(BaseModel):
    detail: str


class Errors(BaseModel):
    errors: dict[str, Annotated[list[str], Field(min_length=1)]] = Field(min_length=1)
    reason: Literal["invalid", "expired", "used", "superseded", "stale"] = Field(
        None, description="Why a reset or verification token was refused (their confirmations only)."
    )
