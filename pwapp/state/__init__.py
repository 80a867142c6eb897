"""Reflex states: form state only; every rule is a call into pwapp.services."""
