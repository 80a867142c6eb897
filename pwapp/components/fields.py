"""Labelled inputs with their errors announced next to them."""

import reflex as rx


def field_errors(errors, name: str) -> rx.Component:
    """The messages for one field, read out by screen readers when they change."""
    return rx.box(
        rx.cond(
            errors.contains(name),
            rx.foreach(errors[name], lambda m: rx.text(m, color_scheme="red", size="2")),
        ),
        id=f"{name}-error",
        aria_live="polite",
        width="100%",
    )


def _label(label: str, name: str) -> rx.Component:
    return rx.el.label(label, html_for=name, style={"fontWeight": "500", "fontSize": "14px"})


def text_field(label: str, name: str, errors, *, type: str = "text", autocomplete: str = "", **props) -> rx.Component:
    """A labelled input (uncontrolled: its value travels only in the submit payload)."""
    return rx.vstack(
        _label(label, name),
        rx.input(
            id=name,
            name=name,
            type=type,
            auto_complete=autocomplete,
            width="100%",
            size="3",
            custom_attrs={"aria-describedby": f"{name}-error"},
            **props,
        ),
        field_errors(errors, name),
        spacing="1",
        width="100%",
    )


class PasswordField(rx.ComponentState):
    """A password input with its own show/hide toggle."""

    shown: bool = False

    @rx.event
    def toggle(self):
        self.shown = not self.shown

    @classmethod
    def get_component(cls, label: str, name: str, errors, autocomplete: str, **props) -> rx.Component:
        return rx.vstack(
            _label(label, name),
            rx.hstack(
                rx.input(
                    id=name,
                    name=name,
                    type=rx.cond(cls.shown, "text", "password"),
                    auto_complete=autocomplete,
                    width="100%",
                    size="3",
                    custom_attrs={"aria-describedby": f"{name}-error", "autocapitalize": "none", "spellcheck": "false"},
                    **props,
                ),
                rx.button(
                    rx.cond(cls.shown, "Hide", "Show"),
                    type="button",
                    variant="soft",
                    size="3",
                    on_click=cls.toggle,
                    aria_controls=name,
                    custom_attrs={"aria-label": rx.cond(cls.shown, f"Hide {label.lower()}", f"Show {label.lower()}")},
                ),
                width="100%",
            ),
            field_errors(errors, name),
            spacing="1",
            width="100%",
        )


password_field = PasswordField.create


def strength_meter(state) -> rx.Component:
    """zxcvbn's verdict on the new password, updated while typing."""
    return rx.cond(
        state.strength_score >= 0,
        rx.vstack(
            rx.progress(value=(state.strength_score + 1) * 20, max=100, width="100%", aria_label="Password strength"),
            rx.text("Strength: ", state.strength_label, size="2", weight="medium"),
            rx.foreach(state.strength_tips, lambda tip: rx.text(tip, size="1", color_scheme="gray")),
            spacing="1",
            width="100%",
            aria_live="polite",
        ),
    )


def submit_button(label: str, busy) -> rx.Component:
    return rx.button(label, type="submit", loading=busy, size="3", width="100%")


def form_errors(errors) -> rx.Component:
    """Errors that belong to the whole form (wrong credentials, throttling)."""
    return rx.box(
        rx.cond(
            errors.contains("form"),
            rx.foreach(errors["form"], lambda m: rx.callout(m, color_scheme="red", width="100%")),
        ),
        aria_live="assertive",
        width="100%",
    )
