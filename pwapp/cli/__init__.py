"""Operator commands run as `python -m pwapp <group> ...` (mail's live in pwapp/mail/cli.py)."""
