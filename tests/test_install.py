"""Installed the way a user installs it, g4f finds the plugin on its own.

One fresh virtual environment (no system site-packages) gets g4f, then the
package twice in turn: from a built wheel, and editable (``pip install -e``).
Each time a plain g4f script, which never imports ``g4f_hailuo``, must resolve
``HailuoAI`` to our class, and a plain ``python -c pass`` must load nothing
beyond what an empty venv's interpreter loads, plus the hook's two modules (an
editable install must not bring setuptools' finder module, ~18 ms at every
start). Needs the package index (or pip's cache) for g4f and for the build
requirements.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from _g4f_processes import make_home

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PROJECT = Path(__file__).resolve().parents[1]
STARTUP_FILES = ("g4f_hailuo.pth", "g4f_hailuo.start")
HOOK_MODULES = {"g4f_hailuo"}  # what the start-up hook may import (the bridge's start-up half)
MODULES_SCRIPT = "import sys; print(*sorted(sys.modules))"
PLUGIN_MODULE = "g4f_hailuo.provider"
BUILTIN_MODULE = "g4f.Provider.needs_auth.mini_max.HailuoAI"
Completed = subprocess.CompletedProcess[str]
LOOKUP_SCRIPT = "import g4f.Provider as P; c = P.ProviderLoader.from_name('HailuoAI'); print(c.__module__)"
REGISTRY_SCRIPT = """
import g4f.Provider as P
L = P.ProviderLoader
found = [L.from_name("HailuoAI"), L.from_name("hailuoai"), P.HailuoAI, P.ProviderUtils.convert["HailuoAI"]]
print(sorted({c.__module__ for c in found}), "HailuoAI" in P.ProviderUtils.convert, L.names.count("HailuoAI"))
"""
REGISTRY_OUTPUT = f"['{PLUGIN_MODULE}'] True 1"
LISTING_SCRIPT = """
import g4f.Provider as P
print([p.__module__ for p in P.__providers__ if p.__name__ == "HailuoAI"])
"""
# Releases with other registry internals than the newest (integration doc, section 7).
OLDER_G4F = ["8.4.0", "8.7.7"]


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


class Venv:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        self.site_packages = Path(
            run(self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
        )

        self.package_dir: Path | None = None  # where g4f_hailuo is installed from
        self.editable = False

    def pip(self, *args: str | Path) -> str:
        """This interpreter's pip, run for the venv (``--python``): no pip inside the venv."""
        return run(sys.executable, "-m", "pip", "--python", self.python, "--disable-pip-version-check", *args)

    def python_output(self, *args: str, env: dict[str, str] | None = None) -> Completed:
        """Run the venv's python the way a user does: from an unrelated directory, offline."""
        work = self.root / "work"
        work.mkdir(exist_ok=True)
        unwanted = {"PYTHONPATH", "PYTHONHOME", "G4F_PROVIDER_PLUGINS"}
        full_env = {k: v for k, v in os.environ.items() if k not in unwanted}
        full_env.update(offline_g4f_env(self.root / "g4f-home"))
        full_env.update(env or {})
        return subprocess.run(
            [str(self.python), *args], cwd=work, env=full_env, capture_output=True, text=True, timeout=60
        )


def offline_g4f_env(root: Path) -> dict[str, str]:
    """g4f must not reach the network nor read a developer's files: a scratch
    HOME whose provider-list cache is seeded where every g4f 8.x looks for it."""
    home = make_home(root)
    return {"HOME": str(home), "G4F_CONFIG_DIR": str(home / ".g4f")}


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source tree without build output: builds write into it, never into the checkout."""
    pip_version = tuple(int(part) for part in metadata.version("pip").split(".")[:2])
    if pip_version < (22, 3):
        pytest.skip("needs pip >= 22.3 (pip --python) in the test environment")
    copy = tmp_path_factory.mktemp("project") / "g4f-hailuo"
    junk = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "artifacts"
    )
    shutil.copytree(PROJECT, copy, ignore=junk)
    return copy


@pytest.fixture(scope="module")
def wheel(project_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run(*pip, "wheel", "--no-deps", "--wheel-dir", out, project_copy)
    (built,) = out.glob("g4f_hailuo-*.whl")
    return built


def make_venv(root: Path) -> Venv:
    """A fresh venv: no system site-packages, no pip (this interpreter's pip serves it)."""
    run(sys.executable, "-m", "venv", "--without-pip", root)
    return Venv(root)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with the g4f of this environment (and so aiohttp), nothing else."""
    env = make_venv(tmp_path_factory.mktemp("venv") / "venv")
    env.pip("install", "--quiet", f"g4f=={metadata.version('g4f')}", "aiohttp>=3.9")
    return env


@pytest.fixture(scope="module")
def plain_modules(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The modules of a plain interpreter after start-up: an empty venv's."""
    result = make_venv(tmp_path_factory.mktemp("plain") / "venv").python_output("-c", MODULES_SCRIPT)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.fixture(scope="module", params=["wheel", "editable"])
def installed(request: pytest.FixtureRequest, venv: Venv, wheel: Path, project_copy: Path) -> Iterator[Venv]:
    if request.param == "wheel":
        venv.pip("install", "--quiet", wheel)
        venv.package_dir = venv.site_packages / "g4f_hailuo"
    else:
        venv.pip("install", "--quiet", "--editable", project_copy)
        venv.package_dir = project_copy / "g4f_hailuo"
    venv.editable = request.param == "editable"
    yield venv
    venv.editable = False
    venv.pip("uninstall", "--yes", "g4f-hailuo")
    left = [name for name in STARTUP_FILES if (venv.site_packages / name).exists()]
    assert left == [], "pip uninstall left start-up files behind"


def test_wheel_has_the_startup_files_at_its_top_level(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for name in STARTUP_FILES:
            assert archive.read(name).decode() == (PROJECT / "startup" / name).read_text()


def test_startup_files_land_in_site_packages(installed: Venv) -> None:
    for name in STARTUP_FILES:
        assert (installed.site_packages / name).read_text() == (PROJECT / "startup" / name).read_text()


def test_plain_g4f_script_resolves_the_plugin(installed: Venv) -> None:
    result = installed.python_output("-c", LOOKUP_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == PLUGIN_MODULE
    assert result.stderr == ""


def test_every_registry_lookup_gives_the_plugin_from_where_it_was_installed(installed: Venv) -> None:
    result = installed.python_output("-c", REGISTRY_SCRIPT + "import g4f_hailuo; print(g4f_hailuo.__file__)")
    assert result.returncode == 0, result.stderr
    lookups, package_file = result.stdout.splitlines()
    assert lookups == REGISTRY_OUTPUT
    assert installed.package_dir is not None
    assert Path(package_file).parent.resolve() == installed.package_dir.resolve()


def test_provider_listing_holds_the_plugin_once(installed: Venv) -> None:
    result = installed.python_output("-c", LISTING_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"['{PLUGIN_MODULE}']"


def test_startup_imports_only_the_hook(installed: Venv, plain_modules: set[str]) -> None:
    """Start-up loads a plain interpreter's modules plus the hook's, nothing else:
    neither g4f nor aiohttp, nor (editable) setuptools' finder and its pathlib, re ..."""
    result = installed.python_output("-c", MODULES_SCRIPT)
    assert result.returncode == 0, result.stderr
    modules = set(result.stdout.split())
    pth_files = sorted(path.name for path in installed.site_packages.glob("*.pth"))
    assert modules - plain_modules == HOOK_MODULES, f".pth files in site-packages: {pth_files}"
    assert plain_modules - modules == set()
    if installed.editable:  # a plain path entry, no import line (no finder) besides our own hook's
        (editable_pth,) = installed.site_packages.glob("__editable__*g4f_hailuo*.pth")
        assert [line for line in editable_pth.read_text().splitlines() if line.startswith("import")] == []
        assert list(installed.site_packages.glob("__editable__*finder*")) == []


def test_opt_out_gives_back_the_builtin(installed: Venv) -> None:
    result = installed.python_output("-c", LOOKUP_SCRIPT, env={"G4F_PROVIDER_PLUGINS": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == BUILTIN_MODULE


@pytest.mark.parametrize("g4f_version", OLDER_G4F)
def test_older_g4f_releases_resolve_the_plugin(g4f_version: str, wheel: Path, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    venv.pip("install", "--quiet", f"g4f=={g4f_version}", wheel)
    result = venv.python_output("-c", REGISTRY_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == REGISTRY_OUTPUT
    listed = venv.python_output("-c", LISTING_SCRIPT)
    assert listed.stdout.strip() == f"['{PLUGIN_MODULE}']", listed.stderr
    opted_out = venv.python_output("-c", LOOKUP_SCRIPT, env={"G4F_PROVIDER_PLUGINS": "no"})
    assert opted_out.stdout.strip() == BUILTIN_MODULE, opted_out.stderr
