"""The documentation site's executable parts: the tutorial notebooks run (small sizes, with
the checks they make against theory), the docstring examples of the public API pass as
doctests, and every entry of the API reference says what it does and names each of its
parameters. The site itself is built, warnings as errors, by .ci/run (docs/about.md)."""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("*.ipynb"))
REFERENCE = re.findall(
    r"^   ((?:cellsim|analysis)[\w.]*)$", (DOCS / "api" / "index.md").read_text(), re.M
)
"""The modules of the API reference (docs/api/index.md's autosummary lists)."""


def test_the_reference_lists_the_public_api() -> None:
    for name in ("cellsim.engine.model", "cellsim.engine.params", "cellsim.config.scenario"):
        assert name in REFERENCE
    assert sum(name.startswith("analysis.") for name in REFERENCE) >= 10


@pytest.mark.slow
@pytest.mark.parametrize("notebook", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_notebook_runs(notebook: Path) -> None:
    """Execute the notebook as the docs build does (a fresh kernel in its folder); a cell
    that raises, an assert of the tutorial's own checks among them, fails the test."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(notebook, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), (
        f"{notebook.name}: store tutorials without outputs (the docs build executes them)"
    )
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": notebook.parent}}
    )
    client.execute()
    errors = [
        out
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors


def _public(module: object) -> list[tuple[str, object]]:
    """The functions, classes, methods and properties a module defines (autodoc's members)."""
    found = []
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            found.append((name, obj))
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                func = member.__func__ if isinstance(member, classmethod | staticmethod) else member
                if not attr.startswith("_") and (
                    inspect.isfunction(func) or isinstance(func, property)
                ):
                    found.append((f"{name}.{attr}", func))
    return found


@pytest.mark.parametrize("module_name", REFERENCE)
def test_reference_entries_describe_themselves_and_their_parameters(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert (module.__doc__ or "").strip(), f"{module_name}: no module docstring"
    problems = []
    for name, obj in _public(module):
        doc = inspect.getdoc(obj) or ""
        if not doc.strip():
            problems.append(f"{name}: no docstring")
            continue
        if inspect.isfunction(obj):
            params = [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]
            missing = [p for p in params if not re.search(rf"\b{re.escape(p)}\b", doc)]
            if missing:
                problems.append(f"{name}: parameters not described: {', '.join(missing)}")
    assert not problems, f"{module_name}: " + "; ".join(problems)


def test_docstring_examples_pass() -> None:
    """The ``>>>`` examples of the reference's modules, as doctests."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for module_name in REFERENCE:
        module = importlib.import_module(module_name)
        for test in finder.find(module, module_name):
            if test.name.rsplit(".", 1)[0] != module_name and not test.name.startswith(
                module_name + "."
            ):
                continue
            examples += len(test.examples)
            runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0
    assert examples >= 10  # the cheap examples of the reference (test what is there)
