"""The results view: a finished run, sweep, sensitivity study or calibration, browsed.

Every figure comes from the folder's stored tables (``results.Results``): survival curves
per arm with an arm and event selector (a run; a sweep's points), a body's senescent
burden by age, the sweep heatmap with a parameter picker, the Sobol (or Morris) indices
per output, the posterior marginals per parameter and the posterior-predictive check,
and the folder's headline table.
"""

from __future__ import annotations

import re

import pandas as pd
import solara

from cellsim.viz.results import Results

CARD = {"flex": "1 1 520px", "max-width": "900px"}
LINES = "(none: median against one parameter)"


UNBOUNDED = re.compile(r"_(median|ci_low|ci_high)_")
"""Columns of a Kaplan-Meier estimate: empty there means the curve never came down so
far (median or CI bound not reached), not a missing number."""


def table_html(table: pd.DataFrame, max_rows: int = 60) -> str:
    """A stored table as a small HTML table: numbers to 4 significant digits, an empty
    median or CI bound as "not reached", any other empty cell blank (never "NaN")."""
    shown = table.head(max_rows).astype(object)
    for column in shown.columns:
        empty = "not reached" if UNBOUNDED.search(str(column)) else ""
        shown[column] = [_cell(v, empty) for v in shown[column]]
    return shown.to_html(index=False, classes="cellsim-table", border=0)


def _cell(value: object, empty: str) -> object:
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return empty
    if isinstance(value, float):
        return f"{value:.4g}"
    return value


@solara.component
def Survival(res: Results, arm: str | None):
    """Kaplan-Meier curves per arm, with arm and event selectors."""
    arms = solara.use_reactive([arm] if arm in res.arms else res.arms[:8])
    event = solara.use_reactive(res.events[0])
    image = solara.use_memo(
        lambda: res.survival_png(tuple(a for a in res.arms if a in arms.value), event.value),
        [tuple(arms.value), event.value],
    )
    with solara.Card("Survival per arm", margin=0, style=CARD, classes=["cellsim-survival"]):
        with solara.Row():
            solara.SelectMultiple("Arms", values=arms.value, all_values=res.arms, on_value=arms.set)
            solara.Select("Event", values=res.events, value=event.value, on_value=event.set)
        solara.Image(image, classes=["cellsim-survival-figure", "cellsim-figure"])
        solara.Text(
            "Kaplan-Meier from runs.parquet (analysis.plots.plot_survival): fraction of runs "
            "without the event by age, 95% band; | marks a censored run.",
            classes=["cellsim-small"],
        )
        if not res.body_burden.empty:
            solara.Image(
                res.burden_png(tuple(a for a in res.arms if a in arms.value)),
                classes=["cellsim-figure"],
            )


@solara.component
def Heatmap(res: Results):
    """The sweep's median age at an event over two picked parameters."""
    params = res.sweep_parameters
    x = solara.use_reactive(params[0])
    y = solara.use_reactive(params[1] if len(params) > 1 else LINES)
    event = solara.use_reactive("exhaustion")
    yy = None if y.value == LINES else y.value
    image = solara.use_memo(
        lambda: res.heatmap_png(x.value, yy, event.value), [x.value, yy, event.value]
    )
    with solara.Card("Sweep", margin=0, style=CARD, classes=["cellsim-heatmap"]):
        with solara.Row():
            solara.Select("Columns (x)", values=params, value=x.value, on_value=x.set)
            solara.Select("Rows (y)", values=[*params, LINES], value=y.value, on_value=y.set)
            solara.Select(
                "Event", values=["exhaustion", "failure", "neoplasia"], value=event.value,
                on_value=event.set,
            )  # fmt: skip
        solara.Image(image, classes=["cellsim-heatmap-figure", "cellsim-figure"])


@solara.component
def Sobol(res: Results):
    """The study's indices per output."""
    output = solara.use_reactive(res.outputs[0])
    image = solara.use_memo(lambda: res.sobol_png(output.value), [output.value])
    with solara.Card("Sensitivity indices", margin=0, style=CARD, classes=["cellsim-sobol"]):
        solara.Select("Output", values=res.outputs, value=output.value, on_value=output.set)
        solara.Image(image, classes=["cellsim-sobol-figure", "cellsim-figure"])


@solara.component
def Posterior(res: Results):
    """Posterior marginals and the posterior-predictive check."""
    parameter = solara.use_reactive(res.parameters[0])
    marginal = solara.use_memo(lambda: res.marginal_png(parameter.value), [parameter.value])
    with solara.Card("Posterior marginals", margin=0, style=CARD, classes=["cellsim-posterior"]):
        solara.Select(
            "Parameter", values=res.parameters, value=parameter.value, on_value=parameter.set
        )
        solara.Image(marginal, classes=["cellsim-marginal-figure", "cellsim-figure"])
    if res.observables:
        PredictiveCheck(res)


@solara.component
def PredictiveCheck(res: Results):
    """The posterior-predictive check per observable (``predictive.csv``)."""
    observable = solara.use_reactive(res.observables[0])
    check = solara.use_memo(lambda: res.predictive_png(observable.value), [observable.value])
    with solara.Card(
        "Posterior-predictive check", margin=0, style=CARD, classes=["cellsim-predictive"]
    ):
        solara.Select(
            "Observable", values=res.observables, value=observable.value,
            on_value=observable.set,
        )  # fmt: skip
        solara.Image(check, classes=["cellsim-predictive-figure", "cellsim-figure"])


@solara.component
def ResultsView(res: Results, arm: str | None = None):
    """The page of one result folder."""
    status = res.manifest.get("status", "complete")
    with solara.Sidebar():
        with solara.Card("Result", margin=0):
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"{res.kind}: {res.name} ({status})",
                classes=["cellsim-kind"],
            )
            solara.HTML(
                tag="div", unsafe_innerHTML=str(res.folder.resolve()), classes=["cellsim-small"]
            )
            solara.HTML(
                tag="div",
                unsafe_innerHTML="Figures are drawn from the stored tables; nothing is "
                "simulated again.",
                classes=["cellsim-small"],
            )  # fmt: skip
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start", "gap": "12px"}):
        if res.kind in ("run", "sweep") and res.arms:
            Survival(res, arm)
        if res.kind == "sweep" and res.sweep_parameters:
            Heatmap(res)
        if res.kind == "sensitivity" and res.outputs:
            Sobol(res)
        if res.kind == "calibration":
            Posterior(res)
    table = res.table()
    if not table.empty:
        with solara.Card("Table", margin=0, style={"max-width": "100%"}):
            solara.HTML(
                tag="div", unsafe_innerHTML=table_html(table), classes=["cellsim-table-box"]
            )
