"""Defer importing modules until first use, so that `cellsim run` starts simulating sooner.

``import mesa`` (3.5) executes ``mesa.discrete_space`` (scipy.spatial), ``mesa.space``
(networkx), ``mesa.experimental.continuous_space`` (scipy.spatial again) and
``mesa.agent`` (pandas, with pyarrow): about 1 s of a warm start on this machine
(benchmarks/startup.py), for grids, networks and data frames that a run touches only after
its simulation, or never. :func:`defer` puts a placeholder module in ``sys.modules`` under
the same name, so ``import pandas as pd`` binds it without running pandas; the first
attribute looked up on it (``pd.DataFrame``, or a submodule's import asking for
``__path__``) runs the real module into that same object, exactly as a normal import
would have, and every later lookup is an ordinary module lookup.

Only the console script calls this (``cellsim.cli``), for :data:`STARTUP_DEFERRED`;
importing cellsim as a library changes nothing.

Unlike ``importlib.util.LazyLoader``, whose module loads as soon as an ``import`` statement
names it again (the import system reads ``__spec__``), the placeholder answers
``__spec__``, ``__name__`` and ``__file__`` itself and loads on anything else.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import threading
import types

STARTUP_DEFERRED = (
    "pandas",
    "networkx",
    "mesa.discrete_space",
    "mesa.experimental.continuous_space",
)
"""What the ``cellsim`` command defers: nothing on the way to a run's first step uses them."""

_lock = threading.RLock()


def _new_lock_in_child() -> None:  # a fork copies the lock, held or not: start afresh
    global _lock
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_new_lock_in_child)


class _Deferred(types.ModuleType):
    """A module not yet executed: the first missing attribute executes it."""

    def __getattr__(self, attr: str) -> object:
        d = object.__getattribute__(self, "__dict__")
        with _lock:  # another thread waits here until the module is complete
            if d.get("_deferred_loading"):  # its own code, mid-execution (RLock re-entered)
                raise AttributeError(
                    f"partially initialized module {d['__name__']!r} has no attribute {attr!r}"
                )
            if type(self) is _Deferred:
                _load(self, d)
        return getattr(self, attr)


def _load(module: types.ModuleType, d: dict[str, object]) -> None:
    """Execute a deferred module's code into it (as its own import would have)."""
    d["_deferred_loading"] = True
    path = d.pop("_deferred_path", None)
    if path is not None:
        d["__path__"] = path  # its own submodules import through it
    try:
        d["__spec__"].loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException:
        sys.modules.pop(d["__name__"], None)  # as a failed import leaves it
        raise
    finally:
        del d["_deferred_loading"]
    module.__class__ = types.ModuleType


def _find_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of a dotted module name without importing its parent packages."""
    parts = name.split(".")
    spec = importlib.util.find_spec(parts[0])
    for i in range(1, len(parts)):
        if spec is None or spec.submodule_search_locations is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(
            ".".join(parts[: i + 1]), spec.submodule_search_locations
        )
    return spec


def defer(*names: str) -> list[str]:
    """Defer each named module until first use; returns the names actually deferred.

    A name already imported, or not found as a plain source module or package, is left
    alone (then it imports as usual).
    """
    done = []
    for name in names:
        if name in sys.modules or any(n in sys.modules for n in _parents(name)):
            continue  # already (being) imported: nothing to gain, nothing to change
        spec = _find_spec(name)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            continue
        module = importlib.util.module_from_spec(spec)
        d = module.__dict__
        if "__path__" in d:
            d["_deferred_path"] = d.pop("__path__")  # importing a submodule loads it first
        module.__class__ = _Deferred
        sys.modules[name] = module
        done.append(name)
    return done


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def is_deferred(name: str) -> bool:
    """True while ``name`` is a placeholder that has not run yet."""
    return type(sys.modules.get(name)) is _Deferred
