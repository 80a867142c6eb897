"""Typed errors the services raise; each knows its form field and its plain-word message."""

from __future__ import annotations

import math


class AccountError(Exception):
    """A rule said no. `errors` maps form fields to messages the user can act on."""

    field = "form"
    message = "Something is wrong with that request."

    def __init__(self, *messages: str):
        self.messages = list(messages) or [self.message]
        super().__init__(" ".join(self.messages))

    @property
    def errors(self) -> dict[str, list[str]]:
        return {self.field: self.messages}


class InvalidInput(AccountError):
    """Several field errors found together, shown together."""

    def __init__(self, errors: dict[str, list[str]]):
        self._errors = errors
        super().__init__(*(m for msgs in errors.values() for m in msgs))

    @property
    def errors(self) -> dict[str, list[str]]:
        return self._errors


class InvalidEmail(AccountError):
    field = "email"
    message = "Enter a valid email address."


class EmailTaken(AccountError):
    field = "email"
    message = "An account with this email already exists. Log in or reset your password."


class AccountNotFound(AccountError):
    field = "email"
    message = "No account has this email address."


class WeakPassword(AccountError):
    field = "new_password"

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__(*reasons)


class PasswordsDoNotMatch(AccountError):
    field = "confirm_password"
    message = "The two new passwords do not match."


class SamePassword(AccountError):
    field = "new_password"
    message = "The new password must be different from the current one."


class IncorrectCurrentPassword(AccountError):
    field = "current_password"
    message = "Current password is incorrect."


class InvalidCredentials(AccountError):
    message = "Email or password is incorrect."


class EmailNotVerified(AccountError):
    """The right password for an account whose address was never confirmed."""

    message = "This address is not verified yet. Open the link we emailed you, or send a new one."


class WrongSignUpPassword(AccountError):
    """Confirming takes the password chosen at sign-up, so nobody confirms a password someone else chose."""

    field = "password"
    message = (
        "That is not the password this account was created with. If you did not create it, or forgot"
        " the password, reset the password instead: that confirms the address too."
    )


class BrowserNotBound(AccountError):
    """The browser sent no binding cookie, so a sign-in ticket could be redeemed by anyone's."""

    message = "Your browser must accept cookies from this site to sign in. Reload the page and try again."


class TwoStepRequired(AccountError):
    """A session was about to be made for a two-step account without its code (a bug, never a user's doing)."""

    message = "This account signs in with a second step. Log in again."


class InvalidCode(AccountError):
    field = "code"
    message = "That code is not valid. Enter the current code from your app, or an unused recovery code."


class ChallengeExpired(AccountError):
    field = "challenge"
    message = "This sign-in has expired or was already completed. Log in again."


class TwoStepAlreadyOn(AccountError):
    message = "Two-step sign-in is already on."


class TwoStepOff(AccountError):
    message = "Two-step sign-in is off. Set it up first."


class NotAuthenticated(AccountError):
    message = "Please log in to continue."


class SessionNotFound(AccountError):
    message = "That session no longer exists."


class TooManyAttempts(AccountError):
    """Throttled; `retry_after` is in seconds."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many attempts. Try again in {minutes} {unit}.")


class ResetLinkError(AccountError):
    """The reset link cannot be used; `reason` is a stable code for clients."""

    field = "token"
    reason = "invalid"
    message = "This link is not valid. Request a new one."


class ResetLinkInvalid(ResetLinkError):
    pass


class ResetLinkExpired(ResetLinkError):
    reason = "expired"
    message = "This link has expired. Request a new one."


class ResetLinkUsed(ResetLinkError):
    reason = "used"
    message = "This link was already used. Request a new one if you still need it."


class ResetLinkSuperseded(ResetLinkError):
    reason = "superseded"
    message = "A newer link was sent; use the latest email, or request a new one."


class ResetLinkStale(ResetLinkError):
    reason = "stale"
    message = "This link is no longer valid because the password was changed since. Request a new one."


class VerifyLinkError(ResetLinkError):
    """The address-confirmation link cannot be used (`reason` as for reset links)."""

    message = "This link is not valid. Log in to get a new one, or sign up again."


class VerifyLinkInvalid(VerifyLinkError):
    pass


class VerifyLinkExpired(VerifyLinkError):
    reason = "expired"
    message = "This link has expired. Log in to get a new one."


class VerifyLinkUsed(VerifyLinkError):
    reason = "used"
    message = "This link was already used: your address is confirmed. Log in."


class HookFailed(AccountError):
    """A hook (pwapp.hooks) or password rule raised; the action's transaction is rolled back."""

    message = "Something went wrong on our side, and nothing was changed. Please try again later."
