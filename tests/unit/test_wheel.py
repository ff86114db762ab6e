"""The wheel built from pyproject.toml carries every file of the package: its modules and the data
files it reads (source definitions, rules, allow lists, publication settings, holidays, migrations,
the summary's queries). The expected files are those of the tree, so a new data file whose kind
``[tool.setuptools.package-data]`` does not list yet fails here rather than in an installed copy."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _git_files(folder: Path) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", str(folder)],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [ROOT / p for p in listed.split("\0") if p and (ROOT / p).is_file()]


def _package_files() -> dict[str, Path]:
    """Every file of the packages pyproject.toml ships (``[tool.setuptools.packages.find]``), as git sees
    them (tracked, or new and not ignored): its path in the wheel -> its path in the tree."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the package's files are taken from git")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = project["tool"]["setuptools"]["packages"]["find"]
    files = {}
    for where in find.get("where", ["."]):
        base = (ROOT / where).resolve()
        for top in sorted(base.iterdir()):
            if (top / "__init__.py").is_file() and any(fnmatch.fnmatchcase(top.name, p) for p in find["include"]):
                files.update({path.relative_to(base).as_posix(): path for path in _git_files(top)})
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """Build the wheel from a copy of the sources (the build writes build/ and egg-info beside them),
    offline, with the setuptools of this environment."""
    src = tmp_path_factory.mktemp("src")
    for path in [ROOT / "pyproject.toml", ROOT / "README.md", *_package_files().values()]:
        copy = src / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "--disable-pip-version-check", "-q", "-w", str(out), str(src)],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (path,) = out.glob("credit_platform-*.whl")
    with zipfile.ZipFile(path) as zf:
        yield zf


def test_the_wheel_carries_every_file_of_the_package(wheel):
    files = _package_files()
    assert any(f.endswith(".yml") for f in files) and any(f.endswith(".sql") for f in files)
    assert "credit_platform/cli/__init__.py" in files
    missing = [f for f in files if f not in wheel.namelist()]
    assert missing == [], f"not in the wheel (list their kind in [tool.setuptools.package-data]): {missing}"


def test_each_package_has_its_init_and_the_console_script_its_entry_point(wheel):
    inits = [f for f in _package_files() if f.endswith("/__init__.py")]
    assert {"credit_platform/__init__.py", "credit_platform/cli/__init__.py"} <= set(inits)
    assert [f for f in inits if f not in wheel.namelist()] == []
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "credit-platform = credit_platform.cli:main" in wheel.read(entry_points).decode()


def test_the_package_reads_its_data_from_the_wheel(wheel, tmp_path):
    wheel.extractall(tmp_path)
    code = f"""
import os, sys
sys.path.insert(0, {str(tmp_path)!r})
import credit_platform
assert credit_platform.__file__.startswith({str(tmp_path)!r}), credit_platform.__file__
from credit_platform.ingest import config
from credit_platform import workdays
from credit_platform.local import chain
from credit_platform.publish import config as publication
from credit_platform.warehouse import migrate
os.environ.pop("CREDIT_HOLIDAYS_FILE", None)
assert config.sources() and config.rules() and publication.load()
assert os.path.isfile(workdays.table_path()) and workdays.table_path().startswith({str(tmp_path)!r})
assert len(migrate.discover()) >= 22 and str(migrate.default_folder()).startswith({str(tmp_path)!r})
assert "ops.load_batches" in chain._query("loads_per_source")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
