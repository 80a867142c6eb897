"""The package's declared dependencies are the pins `make run` and `make test` install."""

import tomllib

from tests.app_server import ROOT


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
