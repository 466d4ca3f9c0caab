"""The layer contracts in pyproject.toml ([tool.importlinter]) hold, and cover every module: a new module
that no layer names would escape the check, so it fails here until it is given its place."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO_ROOT

CONFIG = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
NOT_LAYERED = {"apps", "migrations", "erp"}  # app config, generated migrations, a sub-app (its own container)


def _contract(contract_id: str) -> dict:
    return next(c for c in CONFIG["contracts"] if c["id"] == contract_id)


def test_the_layer_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_every_module_of_every_app_has_a_layer():
    contract = _contract("inside-apps")
    named = set(re.findall(r"\((\w+)\)", " ".join(contract["layers"])))
    missing = {}
    for container in contract["containers"]:
        folder = REPO_ROOT / container.replace(".", "/")
        modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        modules |= {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}
        if left := sorted(modules - named - NOT_LAYERED):
            missing[container] = left
    assert not missing, f"modules without a layer in pyproject.toml: {missing}"


def test_every_app_is_in_the_app_layers():
    layers = " ".join(_contract("apps")["layers"])
    for app in ("billing", "offers", "portal", "integrations"):
        assert re.search(rf"\b{app}\b", layers), app
