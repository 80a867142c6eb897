"""Load bench for pwapp's password endpoints: `make bench` (or `python -m bench --help`).

It starts the production server (`reflex run --env prod --single-port`) on a throw-away
SQLite file, drives the REST API with aiohttp at a fixed concurrency, and prints one JSON
object to stdout (progress goes to stderr). `bench/LATEST.md` keeps the last run's table.
"""
