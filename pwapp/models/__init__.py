"""SQLModel tables; importing this package registers them all."""

from pwapp.models.outbox import OutboxMessage
from pwapp.models.password_reset import PasswordReset, ResetRequest
from pwapp.models.sign_up import EmailVerification, SignUpRequest
from pwapp.models.two_step import RecoveryCode, RecoveryCodesToShow, SignInChallenge, TwoStep
from pwapp.models.user import User
from pwapp.models.user_session import UserSession

__all__ = [
    "EmailVerification",
    "OutboxMessage",
    "PasswordReset",
    "RecoveryCode",
    "RecoveryCodesToShow",
    "ResetRequest",
    "SignInChallenge",
    "SignUpRequest",
    "TwoStep",
    "User",
    "UserSession",
]
