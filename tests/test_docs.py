"""The documentation site's executable parts: the tutorial notebooks run (small sizes, with
the checks they make against theory), the docstring examples of the public API pass as
doctests, and every entry of the API reference says what it does and names each of its
parameters. The site itself is built, warnings as errors, by .ci/run (docs/about.md)."""

from __future__ import annotations

import ast
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


def _excluded_members() -> set[str]:
    """docs/conf.py's ``autodoc_default_options["exclude-members"]`` (read, not imported:
    conf.py imports the docs extras)."""
    tree = ast.parse((DOCS / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "autodoc_default_options" for t in node.targets
        ):
            return set(ast.literal_eval(node.value)["exclude-members"].split(","))
    return set()


def _statement_lists(node: ast.AST) -> list[list[ast.stmt]]:
    """Every statement list within ``node`` (bodies of ifs, loops, withs, trys included)."""
    lists = []
    for sub in ast.walk(node):
        for name in ("body", "orelse", "finalbody"):
            stmts = getattr(sub, name, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                lists.append(stmts)
    return lists


def _is_docstring(stmt: ast.stmt | None) -> bool:
    """A non-empty string statement (an attribute's docstring when right after it)."""
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
        and bool(stmt.value.value.strip())
    )


def _has_doc_comment(stmt: ast.stmt, lines: list[str]) -> bool:
    """A ``#:`` comment after the assignment on its line, or on the line before it."""
    after = lines[stmt.end_lineno - 1][stmt.end_col_offset :].strip()
    before = lines[stmt.lineno - 2].strip() if stmt.lineno > 1 else ""
    return after.startswith("#:") or before.startswith("#:")


def _assigned_names(stmt: ast.Assign | ast.AnnAssign, self_name: str | None) -> list[str]:
    """The names an assignment defines: plain names in a class body (``self_name`` None),
    annotated ``self.name: type`` in a method."""
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    if self_name is None:
        return [t.id for t in targets if isinstance(t, ast.Name)]
    if not isinstance(stmt, ast.AnnAssign):
        return []  # autodoc lists an unannotated self.name only if it is documented
    return [
        t.attr
        for t in targets
        if isinstance(t, ast.Attribute)
        and isinstance(t.value, ast.Name)
        and t.value.id == self_name
    ]


def _undocumented_attributes(source: str) -> list[str]:
    """``Class.attribute`` of each attribute the reference shows without text: the public
    names a public class assigns in its body (dataclass, NamedTuple and pydantic fields,
    Enum members, constants) and the ``self.name: type`` its methods annotate (autodoc
    lists those too), when neither a string right after the assignment nor a ``#:``
    comment documents them (sphinx.pycode's rules)."""
    lines = source.splitlines()
    excluded = _excluded_members()
    problems = []
    for cls in ast.parse(source).body:
        if not isinstance(cls, ast.ClassDef) or cls.name.startswith("_"):
            continue
        scopes: list[tuple[list[ast.stmt], str | None]] = [(cls.body, None)]
        for method in cls.body:
            if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef) and method.args.args:
                self_name = method.args.args[0].arg
                scopes += [(stmts, self_name) for stmts in _statement_lists(method)]
        for stmts, self_name in scopes:
            for stmt, after in zip(stmts, [*stmts[1:], None], strict=True):
                if not isinstance(stmt, ast.Assign | ast.AnnAssign):
                    continue
                if _is_docstring(after) or _has_doc_comment(stmt, lines):
                    continue
                problems += [
                    f"{cls.name}.{name}"
                    for name in _assigned_names(stmt, self_name)
                    if not name.startswith("_") and name not in excluded
                ]
    return problems


def test_undocumented_attributes_finds_the_entries_autodoc_leaves_empty() -> None:
    source = '''
class Dish:
    count: int
    rate_per_day: float = 1.0
    """Documented."""
    LIMIT = 3  #: documented by a comment
    _private: int = 0
    model_config = {}

    def __init__(self) -> None:
        self.cells: list[int] = []
        self.day: float = 0.0
        """Documented."""
        self.plain = 1  # not annotated: autodoc does not list it


class _Hidden:
    x: int
'''
    assert _undocumented_attributes(source) == ["Dish.count", "Dish.cells"]


@pytest.mark.parametrize("module_name", REFERENCE)
def test_reference_has_no_empty_attribute_entries(module_name: str) -> None:
    """Every field, member and annotated attribute the reference lists says what it holds
    (a string right after it): issue 18's "the reference has no empty entries"."""
    module = importlib.import_module(module_name)
    source = Path(inspect.getfile(module)).read_text()
    missing = _undocumented_attributes(source)
    assert not missing, f"{module_name}: attributes without a docstring: {', '.join(missing)}"
