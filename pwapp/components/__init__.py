"""Reusable page pieces: the layout, labelled fields, the strength meter."""
