"""What every form state shares: field errors, a notice, a busy flag."""

from __future__ import annotations

from typing import Any

import reflex as rx

from pwapp.services.errors import AccountError


class FormMixin(rx.State, mixin=True):
    """Field errors keyed like the form's inputs; passwords are never stored here."""

    errors: dict[str, list[str]] = {}
    notice: str = ""
    busy: bool = False

    def _idle(self, notice: str = "") -> None:
        """A fresh form (every page load: Reflex keeps a tab's state across full page loads)."""
        self.errors, self.notice, self.busy = {}, notice, False

    def _start(self) -> None:
        self.errors, self.notice, self.busy = {}, "", True

    def _fail(self, exc: AccountError) -> None:
        self.errors, self.notice, self.busy = exc.errors, "", False


def text(form: dict[str, Any], name: str) -> str:
    """A submitted field as a string (missing or non-text fields read as empty)."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""
