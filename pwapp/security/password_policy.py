"""The one password policy used by register, change and reset."""

from __future__ import annotations

from zxcvbn_rs_py import zxcvbn

from pwapp.security.passwords import is_storable, normalize

MIN_SCORE = 3
_ZXCVBN_PREFIX = 72  # zxcvbn's matching is quadratic in length: the first 72 characters decide its score


def strength(password: str, email: str = "") -> dict:
    """zxcvbn's score (0-4) and its plain-word feedback, counting the email as a guessable word."""
    inputs = [email, email.split("@")[0]] if email else []
    result = zxcvbn(normalize(password)[:_ZXCVBN_PREFIX], user_inputs=inputs)
    feedback = result.feedback
    if feedback is None:
        return {"score": int(result.score), "feedback": []}
    tips = [feedback.warning] if feedback.warning else []
    return {"score": int(result.score), "feedback": [str(tip) for tip in tips + list(feedback.suggestions)]}


def problems(
    password: str, *, email: str = "", min_length: int, max_length: int, rated: dict | None = None
) -> list[str]:
    """Every reason the password is refused, in plain words; empty when it is acceptable.

    `rated` is `strength(password, email)` when the caller has it already (the live meter).
    """
    if not is_storable(password):
        return ["Use letters, digits, spaces, symbols or emoji only (no control characters)."]
    text = normalize(password)
    reasons: list[str] = []
    if len(text) < min_length:
        reasons.append(f"Use at least {min_length} characters (you have {len(text)}).")
    if len(text) > max_length:
        reasons.append(f"Use at most {max_length} characters.")
        return reasons
    lowered = text.casefold()
    local = email.casefold().split("@")[0]
    if email and (email.casefold() in lowered or (len(local) >= 4 and local in lowered)):
        reasons.append("Don't build your password from your email address.")
    if text and len(text) >= min_length:
        result = rated or strength(text, email)
        if result["score"] < MIN_SCORE:
            reasons.append("This password is too easy to guess.")
            reasons.extend(result["feedback"])
    return reasons
