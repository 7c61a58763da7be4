"""The package's layers (docs/ARCHITECTURE.md): imports point one way, downward.

kernels <- engine <- config <- run <- validation, viz <- cli; analysis/ imports nothing from
cellsim; kernels import nothing but numpy, numba, math and each other (and
kernels/jit.py the standard library, to name the compiled kernels' cache folder;
kernels/prefetch.py llvmlite, Numba's code generator, for an LLVM intrinsic).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["kernels", "engine", "config", "run", "validation", "viz", "cli"]
"""Lowest first: a module may import from its own layer and the ones before it."""


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(absolute module name, line) of every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((name, node.lineno))
    return out


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "cellsim" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", python_files("cellsim"), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_downward(path: Path) -> None:
    own = layer_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
    if own is None:
        return  # cellsim/__init__.py, io.py, deferred_imports.py: below every layer
    for module, line in imports_of(path):
        if own == "kernels":
            top = module.split(".")[0]
            allowed = {"numpy", "numba", "math", "__future__"}
            if path.name == "jit.py":  # the cache folder: kernels/jit.py's text
                allowed |= {"hashlib", "os", "pathlib"}
            if path.name == "prefetch.py":  # an LLVM intrinsic: Numba's own code generator
                allowed |= {"llvmlite"}
            assert top in allowed or module.startswith("cellsim.kernels"), (
                f"{path.name}:{line}: a kernel imports {module}"
            )
            continue
        target = layer_of(module)
        if target is None:
            continue
        assert LAYERS.index(target) <= LAYERS.index(own), (
            f"{path.relative_to(ROOT)}:{line}: layer {own!r} imports {module} "
            f"from the higher layer {target!r}"
        )


@pytest.mark.parametrize("path", python_files("analysis"), ids=lambda p: p.name)
def test_analysis_imports_nothing_from_cellsim(path: Path) -> None:
    for module, line in imports_of(path):
        assert module.split(".")[0] != "cellsim", f"{path.name}:{line} imports {module}"


CHECKS = {
    "validate": ["validate", str(ROOT / "scenarios" / "baseline.toml")],
    "sweep --dry-run": [
        "sweep",
        str(ROOT / "scenarios" / "sweeps" / "senolytic_schedule.toml"),
        "--dry-run",
    ],
}
"""Commands that only load and check a file: the config layer, without the simulator."""


@pytest.mark.parametrize("argv", CHECKS.values(), ids=CHECKS.keys())
def test_checking_a_file_imports_neither_numba_nor_mesa(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from cellsim.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "from cellsim.deferred_imports import is_deferred\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'mesa')\n"
        "               and not is_deferred(m))\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().splitlines()[-1] == "HEAVY=", f"imported: {out.stdout.strip()}"


@pytest.mark.parametrize("path", python_files("cellsim/config"), ids=lambda p: p.name)
def test_config_modules_import_neither_numba_nor_mesa(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "print('HEAVY=' + ','.join(sorted(m for m in sys.modules\n"
        "                                 if m.split('.')[0] in ('numba', 'mesa'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().splitlines()[-1] == "HEAVY=", f"{module}: {out.stdout.strip()}"
