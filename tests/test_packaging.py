"""The package: its declared dependencies are the pins `make run` and `make test` install, and
installed (not run from the checkout) it works from the embedding app's folder."""

import os
import subprocess
import sys
import tomllib

from tests import ROOT

INSTALLED = """
import pwapp
from pwapp.mail.compose import render
from pwapp.settings import get_settings
from pwapp.web import plain, static

settings = get_settings()
print(pwapp.__file__)
print(settings.database_url)
print(settings.mail_dir)
print(render("password_reset", {"reset_url": "https://x.example/r", "expires_minutes": 60}, settings).subject)
print(plain.render("_page.html").status_code, static.STYLESHEET.exists())
"""


def _pins(section: str) -> list[str]:
    """requirements.in's pins under the `# <section>` heading, comments dropped."""
    lines, inside = [], False
    for line in (ROOT / "requirements.in").read_text().splitlines():
        if line.startswith("# "):
            inside = line[2:].strip() == section if not line[2:].startswith(" ") else inside
            continue
        pin = line.split("#", 1)[0].strip()
        if inside and pin:
            lines.append(pin)
    return lines


def test_pyproject_declares_every_runtime_and_test_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == _pins("Runtime")
    assert project["optional-dependencies"]["test"] == _pins("Tests and tools")


def test_installed_package_works_from_the_apps_folder(tmp_path):
    site, app = tmp_path / "site", tmp_path / "app"
    app.mkdir()
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site)]
    subprocess.run([*pip, str(ROOT)], check=True, capture_output=True, timeout=300, cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWAPP_")} | {"PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", INSTALLED], cwd=app, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    module, database, mail_dir, subject, page = done.stdout.splitlines()
    assert module.startswith(str(site))  # the installed copy, not the checkout
    assert (database, mail_dir) == (f"sqlite:///{app}/pwapp.db", f"{app}/var/mail")
    assert subject == "Reset your pwapp password" and page == "200 True"
    assert (app / ".secret_key").exists() and not list(site.glob(".secret_key"))
