"""deploy/: HAProxy accepts its config, and the replicas refuse a database they cannot share."""

import os
import shutil
import subprocess
import sys

import pytest

from tests import ROOT
from tests.services import REQUIRE_SERVICES


def test_haproxy_accepts_the_config():
    if shutil.which("haproxy") is None:
        (pytest.fail if REQUIRE_SERVICES else pytest.skip)("haproxy is not installed (`make haproxy`)")
    result = subprocess.run(["haproxy", "-c", "-f", str(ROOT / "deploy" / "haproxy.cfg")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("database", "redis", "named"),
    [
        ("sqlite:///pwapp.db", "redis://127.0.0.1:6379/0", "PWAPP_DATABASE_URL"),
        ("", "redis://127.0.0.1:6379/0", "PWAPP_DATABASE_URL"),
        ("postgresql+psycopg://postgres@127.0.0.1/x", "", "PWAPP_REDIS_URL"),
    ],
)
def test_replicas_refuse_what_they_cannot_share_with_one_line(database, redis, named):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWAPP_")}
    env |= {"PWAPP_DATABASE_URL": database, "PWAPP_REDIS_URL": redis}
    result = subprocess.run(
        [sys.executable, "-m", "deploy.replicas", "2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and named in lines[0], result.stderr
