"""pwapp's tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: rxconfig.py, alembic/, examples/
