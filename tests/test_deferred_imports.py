"""Deferred imports (cellsim/deferred_imports.py): a deferred module behaves like one imported
normally, loads exactly when first used, and a run's first step uses none of the modules
that the `cellsim` command defers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from cellsim.deferred_imports import _Deferred, defer, is_deferred


def run_python(code: str) -> str:
    """Run code in a fresh interpreter (its own sys.modules); return stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_first_step_needs_none_of_the_deferred_modules_and_they_work_after():
    out = run_python(
        """
        import sys
        from cellsim.deferred_imports import STARTUP_DEFERRED, defer, is_deferred
        assert defer(*STARTUP_DEFERRED) == list(STARTUP_DEFERRED)
        from cellsim.engine.model import AgingModel
        m = AgingModel(rng=1, n_cells=500, horizon_days=60.0)
        m.step()
        # the first step ran without executing any of them, or scipy.spatial
        assert all(is_deferred(n) for n in STARTUP_DEFERRED), STARTUP_DEFERRED
        for loaded in ("pandas.core.frame", "scipy.spatial", "pyarrow"):
            assert loaded not in sys.modules, loaded
        m.run()
        traj = m.trajectories()  # pandas loads here, in full
        assert not is_deferred("pandas")
        import pandas as pd
        assert isinstance(traj, pd.DataFrame) and len(traj) == 3
        assert pd.get_option("display.max_rows") == 60  # its __init__ ran
        import networkx as nx
        assert nx.path_graph(4).number_of_edges() == 3
        import mesa
        from mesa.discrete_space import OrthogonalMooreGrid
        grid = OrthogonalMooreGrid((3, 3), torus=True, random=m.random)
        assert len(grid.all_cells) == 9 and mesa.discrete_space.Grid is not None
        from mesa.experimental.continuous_space import ContinuousSpace
        assert ContinuousSpace.__module__.startswith("mesa.experimental.continuous_space")
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_importing_a_submodule_first_runs_the_package_first():
    out = run_python(
        """
        from cellsim.deferred_imports import defer, is_deferred
        defer("pandas")
        import pandas
        assert is_deferred("pandas")
        from pandas.core.frame import DataFrame  # the package's __init__ runs first
        assert not is_deferred("pandas") and pandas.DataFrame is DataFrame
        print(DataFrame({"a": [1, 2]})["a"].sum())
        """
    )
    assert out.strip() == "3"


def make_package(root: Path, name: str, init: str) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(init))
    (pkg / "sub.py").write_text("from . import BASE\nVALUE = BASE + 1\n")


@pytest.fixture
def pkg_root(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("cellsim_deferred_test")]:
        del sys.modules[name]


def test_loads_once_on_first_attribute_and_not_before(pkg_root):
    make_package(
        pkg_root,
        "cellsim_deferred_test_a",
        """
        import builtins
        builtins.cellsim_deferred_runs = getattr(builtins, "cellsim_deferred_runs", 0) + 1
        BASE = 41
        """,
    )
    import builtins

    assert defer("cellsim_deferred_test_a") == ["cellsim_deferred_test_a"]
    import cellsim_deferred_test_a as a  # binds the placeholder, runs nothing

    assert type(a) is _Deferred and not hasattr(builtins, "cellsim_deferred_runs")
    assert a.__name__ == "cellsim_deferred_test_a"
    from cellsim_deferred_test_a.sub import VALUE  # a submodule runs the package first

    assert VALUE == 42 and a.BASE == 41 and builtins.cellsim_deferred_runs == 1
    assert not is_deferred("cellsim_deferred_test_a")
    with pytest.raises(AttributeError):
        _ = a.missing
    del builtins.cellsim_deferred_runs


def test_threads_wait_for_the_module_to_finish(pkg_root):
    make_package(
        pkg_root,
        "cellsim_deferred_test_b",
        """
        import time
        time.sleep(0.3)  # long enough for the other threads to arrive mid-load
        BASE = 1
        """,
    )
    defer("cellsim_deferred_test_b")
    import cellsim_deferred_test_b as b

    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(b.BASE)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [1, 1, 1, 1]


def test_a_failing_module_fails_like_an_import_and_can_be_retried(pkg_root):
    make_package(pkg_root, "cellsim_deferred_test_c", "raise ImportError('broken on purpose')\n")
    defer("cellsim_deferred_test_c")
    import cellsim_deferred_test_c as c

    with pytest.raises(ImportError, match="broken on purpose"):
        _ = c.BASE
    assert "cellsim_deferred_test_c" not in sys.modules  # as a failed import leaves it
    (pkg_root / "cellsim_deferred_test_c" / "__init__.py").write_text("BASE = 7\n")
    import importlib

    importlib.invalidate_caches()
    import cellsim_deferred_test_c as fixed

    assert fixed.BASE == 7


def test_leaves_imported_missing_and_builtin_modules_alone():
    import json

    assert defer("json", "cellsim_no_such_module", "sys", "json.decoder") == []
    assert sys.modules["json"] is json and type(json) is not _Deferred
