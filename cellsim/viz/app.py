"""The browser view (Solara; the models are Mesa models).

Start it with one of

    cellsim viz [SCENARIO] [--arm ARM] [--port 8765]     # a scenario arm, live
    cellsim viz DIR                                       # a finished result folder
    solara run cellsim/viz/app.py     # CELLSIM_VIZ_SCENARIO / CELLSIM_VIZ_ARM /
                                      # CELLSIM_VIZ_RESULTS optional

and open http://localhost:8765. A scenario opens with a scenario and arm picker: an
organism (several somatic tissues, or a scenario with ``[body]``) in the body view
(``body_page``), one tissue in the lattice view (``lattice_page``). A result folder opens
the results view (``results_page``). Each browser session gets its own model.
"""

from __future__ import annotations

import os
import threading

import solara

from cellsim.config.scenario import ScenarioError
from cellsim.viz.body import BodyModel
from cellsim.viz.body_page import BodyView, make_render
from cellsim.viz.catalog import DEFAULT_SCENARIO, choose
from cellsim.viz.lattice_page import LatticeView
from cellsim.viz.lattice_page import make_render as lattice_render
from cellsim.viz.model import VizModel
from cellsim.viz.results import ResultsError, find_results, open_results
from cellsim.viz.results_page import ResultsView
from cellsim.viz.widgets import PAGE_CSS, ScenarioPicker


@solara.component
def ScenarioPage():
    """A scenario arm, live: the picker chooses the scenario and arm (and so the view)."""
    scenario = solara.use_reactive(os.environ.get("CELLSIM_VIZ_SCENARIO") or DEFAULT_SCENARIO)
    arm = solara.use_reactive(os.environ.get("CELLSIM_VIZ_ARM") or None)
    try:
        choice, problem = choose(scenario.value, arm.value), None
    except (ScenarioError, ValueError) as exc:
        choice, problem = None, str(exc)

    def picker():
        ScenarioPicker(scenario, arm, choice)

    with solara.AppBar():
        solara.AppBarTitle(f"cellsim: {choice.title}" if choice else "cellsim")
    if choice is None:
        with solara.Sidebar():
            picker()
        solara.Error(label=problem or "no scenario")
    elif choice.body:
        BodyView(choice, picker).key(f"body:{choice.path}:{choice.arm}")
    else:
        LatticeView(choice, picker).key(f"lattice:{choice.path}:{choice.arm}")


@solara.component
def ResultsPage(folder: str):
    """A finished result folder, or a folder of them (a picker chooses one)."""
    found = solara.use_memo(lambda: _find(folder), [folder])
    names = [p.name for p in found] if not isinstance(found, str) else []
    chosen = solara.use_reactive(names[0] if names else "")
    res = solara.use_memo(
        lambda: _open(found[names.index(chosen.value)]) if names else found, [chosen.value]
    )
    with solara.AppBar():
        title = f"cellsim results: {res.name}" if not isinstance(res, str) else "cellsim"
        solara.AppBarTitle(title)
    if len(names) > 1:
        with solara.Sidebar():
            solara.Select("Result folder", values=names, value=chosen.value, on_value=chosen.set)
    if isinstance(res, str):
        solara.Error(label=res)
        return
    ResultsView(res, os.environ.get("CELLSIM_VIZ_ARM") or None).key(str(res.folder))


def _find(folder: str):
    try:
        return find_results(folder)
    except ResultsError as exc:
        return str(exc)


def _open(folder):
    try:
        return open_results(folder)
    except ResultsError as exc:
        return str(exc)


@solara.component
def Page():
    """The page: a result folder's view when ``CELLSIM_VIZ_RESULTS`` names one, else a
    scenario's."""
    solara.Style(PAGE_CSS)
    folder = os.environ.get("CELLSIM_VIZ_RESULTS")
    if folder:
        ResultsPage(folder)
    else:
        ScenarioPage()


def warm_up() -> None:
    """Read the scenario ``cellsim viz`` serves (``choose`` keeps it), load the compiled
    kernels and draw one frame, so that the first page opens without that wait. Errors
    are left to the page, which shows them."""
    try:
        choice = choose()
        if choice.body:
            make_render()(BodyModel(choice.path, choice.arm))
        else:
            lattice_render({"field": "state"})(VizModel(choice.path, choice.arm))
    except Exception:
        pass


if os.environ.get("CELLSIM_VIZ_SCENARIO"):  # set by `cellsim viz SCENARIO`
    threading.Thread(target=warm_up, name="cellsim-viz-warm-up", daemon=True).start()
