"""The live password-strength meter, computed in Python from on_change events."""

from __future__ import annotations

import asyncio

import reflex as rx

from pwapp.security.password_policy import strength
from pwapp.services.accounts import check_password

LABELS = ["Very weak", "Weak", "Fair", "Strong", "Very strong"]


class StrengthMixin(rx.State, mixin=True):
    """Score and advice for the password being typed; the password itself is not kept."""

    strength_score: int = -1
    strength_label: str = ""
    strength_tips: list[str] = []

    def _clear_strength(self) -> None:
        self.strength_score, self.strength_label, self.strength_tips = -1, "", []

    @rx.event
    async def measure(self, value: str):
        """Score `value` off the event loop (zxcvbn takes up to a few ms)."""
        if not value:
            self._clear_strength()
            return
        def rate() -> tuple[dict, list[str]]:
            rated = strength(value, self.email)  # once: the meter and the policy agree
            return rated, check_password(value, self.email, rated)

        result, problems = await asyncio.to_thread(rate)
        self.strength_score = result["score"]
        self.strength_label = LABELS[result["score"]]
        self.strength_tips = problems or result["feedback"]
