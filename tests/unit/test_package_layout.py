"""The package's layout holds: one folder per concern with its README, the root kept small, each
folder importing only the folders below it (plugins/README.md), and no import cycle between modules."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "credit_platform"
ROOT_MODULES = {"__init__", "settings", "uscc", "connections", "grade_levels", "workdays", "cli"}

# Folder -> the folders it may import (plugins/README.md); "root" is the root modules but cli.
ALLOWED = {
    "warehouse": set(),
    "quality": {"warehouse"},
    "ingest": {"quality", "warehouse"},
    "demo": {"ingest"},
    "publish": {"ingest", "quality", "warehouse"},
    "console": {"quality", "warehouse"},
    "alerts": {"inspection", "warehouse"},
    "grading": {"publish", "ingest", "quality", "warehouse"},
    "inspection": {"publish", "ingest", "warehouse"},
    "supervision": {"publish", "ingest", "warehouse"},
    "receipts": {"publish", "ingest", "quality", "warehouse"},
    "redress": {"receipts", "supervision", "grading", "ingest", "warehouse"},
    "orchestration": {"alerts", "redress", "receipts", "supervision", "inspection", "publish", "grading", "ingest",
                      "quality", "warehouse"},
    "local": {"orchestration", "alerts", "redress", "receipts", "supervision", "inspection", "publish", "grading",
              "ingest", "quality", "warehouse", "demo"},
    "bench": {"local", "orchestration", "alerts", "redress", "receipts", "supervision", "inspection", "publish",
              "grading", "ingest", "quality", "warehouse", "demo"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        if "reference" in rel.parts:  # a standalone script, never imported
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(("credit_platform", *parts))] = path
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules a file imports, at any depth of the file (imports inside functions count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != "credit_platform":
                found.add(name)
    return found


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else "root"


def test_every_folder_has_a_readme_and_the_root_keeps_only_what_is_shared():
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert set(folders) - {"cli"} == set(ALLOWED), "a new folder needs its line in ALLOWED and in plugins/README.md"
    for folder in folders:
        readme = PACKAGE / folder / "README.md"
        assert readme.is_file(), f"{folder}/ has no README.md"
        assert "who may import" in readme.read_text(encoding="utf-8").lower(), f"{folder}/README.md: who may import it?"
    loose = {p.stem for p in PACKAGE.glob("*.py")}
    assert loose <= ROOT_MODULES, f"modules loose at the package root: {sorted(loose - ROOT_MODULES)}"


def test_each_folder_imports_only_the_folders_below_it():
    modules = _modules()
    wrong = []
    for module, path in modules.items():
        folder = _folder(module)
        if folder in ("root", "cli"):
            continue
        for imported in _imports(path, modules):
            target = _folder(imported)
            if target in ("root", folder):
                if target == "root" and imported.split(".")[1] == "cli":
                    wrong.append(f"{module} -> {imported}")
                continue
            if target not in ALLOWED[folder]:
                wrong.append(f"{module} -> {imported}")
    assert not wrong, "imports against the layering of plugins/README.md:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    modules = _modules()
    graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
    # A package's __init__ that re-exports a submodule is not a cycle with it.
    graph = {m: {i for i in deps if not (m.startswith(i + ".") and modules[i].name == "__init__.py")}
             for m, deps in graph.items()}  # fmt: skip
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_airflow_loads_no_module_of_the_package_as_a_plugin():
    """Airflow's plugin loader imports each .py file under plugins/ as a top-level module named after
    the file; plugins/.airflowignore keeps the package out of it, under either ignore syntax."""
    from airflow.sdk._shared.module_loading import find_path_from_directory

    for syntax in ("glob", "regexp"):
        files = [Path(f) for f in find_path_from_directory(str(PACKAGE.parent), ".airflowignore", syntax)]
        taken = [f for f in files if f.suffix == ".py" and PACKAGE in f.parents]
        assert not taken, f"{syntax}: the plugin loader would import {taken[:3]}"
