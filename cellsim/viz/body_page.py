"""The body view: every tissue of an organism scenario's arm stepping together
(``body.BodyModel``).

The main area shows the body's senescent burden and the shared immune clearance over
age, then one panel per tissue (pool size, functional and senescent fractions over age,
telomere distribution, the lattice image of a lattice tissue); the first tissue to fail
(and the first to be exhausted) is marked on its panel and on the burden chart. The
sidebar holds the run controls, the Reset settings (seed, sample scale) and the
interventions, which act on the running model from the next step: a systemic senolytic
(interval, efficacy), stem-cell support (telomerase activator, transplant) and
reprogramming (cyclic partial, full). A frame is made every ``days per frame`` days, not
every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import solara

from cellsim.engine.params import DAYS_PER_YEAR, CellState
from cellsim.viz.body import BodyModel
from cellsim.viz.catalog import ArmChoice
from cellsim.viz.draw import BurdenFigure, TissueFigure, field_rgb, png
from cellsim.viz.live import REPROGRAMMING, STEM_SUPPORT
from cellsim.viz.widgets import LabelSelect, ParameterList, RunControls, Runner, ValueSlider

STEM_LABELS = {
    "none": "none",
    "telomerase": "telomerase activator (stem cells lose half as much per division)",
    "transplant": "transplant of young stem cells (80% of each stem compartment, now)",
}
REPROGRAMMING_LABELS = {
    "none": "none",
    "partial": "cyclic partial (2 days on, 5 off; epigenetic age only)",
    "full": "full OSKM, yearly, 0.1% of cells (telomeres reset)",
}
DEFAULT_DAYS_PER_FRAME = 91.0


@dataclass
class TissuePanel:
    """One tissue's panel in one frame."""

    name: str
    kind: str
    text: str
    chart: bytes
    lattice: bytes | None
    mark: str


@dataclass
class BodyFrame:
    """What the body view shows of one moment."""

    status: str
    burden: bytes
    burden_text: str
    panels: list[TissuePanel]
    params: object
    live: list[str]
    switches: dict


def _mark(model: BodyModel, name: str) -> str:
    marks = []
    for event, word in (("failure", "FIRST TO FAIL"), ("exhaustion", "FIRST EXHAUSTED")):
        first = model.first(event)
        if first is not None and first[0] == name:
            marks.append(f"{word} at {first[1] / DAYS_PER_YEAR:.1f} y")
    own = model.by_name[name].event_days
    if not marks and own["failure"] is not None:
        marks.append(f"failed at {own['failure'] / DAYS_PER_YEAR:.1f} y")
    return "; ".join(marks)


def make_render():
    """The render function of one session (figures kept per model)."""
    cache: dict[int, tuple[BurdenFigure, list[TissueFigure]]] = {}

    def render(model: BodyModel) -> BodyFrame:
        if id(model) not in cache:
            cache.clear()
            cache[id(model)] = (
                BurdenFigure(model.age_span_years()),
                [TissueFigure(model, t) for t in model.tissues],
            )
        burden_fig, tissue_figs = cache[id(model)]
        days, burden, counts = model.series()
        years = days / DAYS_PER_YEAR
        first = model.first("failure")
        fail_years = first[1] / DAYS_PER_YEAR if first else float("nan")
        burden_png = burden_fig.draw(years, burden, model.clearance_relative(burden), fail_years)
        panels = []
        for k, (t, fig) in enumerate(zip(model.tissues, tissue_figs, strict=True)):
            c = counts[-1, k]
            n = c.sum()
            text = (
                f"pool {int(c[CellState.CYCLING] + c[CellState.STEM])} of {int(n)} | functional "
                f"{(c[CellState.CYCLING] + c[CellState.STEM]) / n:.1%} | senescent "
                f"{c[CellState.SENESCENT] / n:.1%}"
            )
            lattice = None
            if t.lattice is not None:
                rgb, _ = field_rgb(t.cells.image(t.lattice.width, "state"), "state")
                lattice = png(rgb)
            panels.append(
                TissuePanel(
                    t.name,
                    t.params.kind,
                    text,
                    fig.draw(model, years, counts[:, k]),
                    lattice,
                    _mark(model, t.name),
                )
            )
        shared = (
            "shared immune system" if model.shared_immune else "each tissue's own immune system"
        )
        burden_text = (
            f"Senescent burden {100 * burden[-1]:.2f}% of the body's cells; clearance per "
            f"senescent cell {model.clearance_relative(burden[-1]):.3f} x its low-burden rate "
            f"({shared}, half-saturated at {100 * model.half_saturation:.3g}%)"
        )
        live = model.live
        switches = {
            "senolytic": live.senolytic,
            "interval": live.senolytic_interval_days,
            "efficacy": live.senolytic_efficacy,
            "stem": live.stem_support,
            "reprogramming": live.reprogramming,
        }
        fired = ", ".join(f"{k} {n}x" for k, n in live.fired().items())
        log = [*live.log, f"fired so far: {fired}"] if live.log else []
        return BodyFrame(
            model.status(), burden_png, burden_text, panels, model.params, log, switches
        )

    return render


@solara.component
def Interventions(runner: Runner, tick: solara.Reactive[int], switches: dict, stems: bool):
    """The interventions, acting on the running model from its next step."""
    interval = solara.use_reactive(30.0)
    efficacy = solara.use_reactive(0.5)

    def apply(fn) -> None:
        runner.act(fn)
        tick.value += 1

    def senolytic(on: bool) -> None:
        apply(lambda m: m.live.set_senolytic(on, interval.value, efficacy.value))

    def set_interval(v: float) -> None:
        interval.set(v)
        if switches["senolytic"]:
            apply(lambda m: m.live.set_senolytic(True, v, efficacy.value))

    def set_efficacy(v: float) -> None:
        efficacy.set(v)
        if switches["senolytic"]:
            apply(lambda m: m.live.set_senolytic(True, interval.value, v))

    stem_values = list(STEM_SUPPORT) if stems else ["none"]
    with solara.Card(
        "Interventions", subtitle="act now, on the running model from its next step", margin=0
    ):
        solara.Checkbox(
            label="Systemic senolytic (every somatic tissue)",
            value=bool(switches["senolytic"]),
            on_value=senolytic,
        )
        ValueSlider("Senolytic interval", "d", interval.value, set_interval, 1.0, 365.0, 1.0)
        ValueSlider(
            "Senolytic efficacy per dose", "%", efficacy.value, set_efficacy, 0.0, 1.0, 0.05
        )
        LabelSelect(
            "Stem-cell support",
            STEM_LABELS,
            stem_values,
            switches["stem"],
            lambda key: apply(lambda m: m.live.set_stem_support(key)),
        )
        LabelSelect(
            "Reprogramming",
            REPROGRAMMING_LABELS,
            list(REPROGRAMMING),
            switches["reprogramming"],
            lambda key: apply(lambda m: m.live.set_reprogramming(key)),
        )
        if not stems:
            solara.Text("This body has no stem compartment.", classes=["cellsim-small"])


@solara.component
def TissueCard(panel: TissuePanel):
    """One tissue's panel; the first to fail is outlined in red."""
    style = {"flex": "1 1 330px", "max-width": "380px"}
    if panel.mark:
        style["border"] = "2px solid #d62728"
    with solara.Card(margin=0, style=style, classes=["cellsim-tissue"]):
        mark = f" <b style='color:#d62728' class='cellsim-mark'>{panel.mark}</b>"
        head = f"<b>{panel.name}</b> <span class='cellsim-small'>({panel.kind})</span>"
        solara.HTML(tag="div", unsafe_innerHTML=head + (mark if panel.mark else ""))
        solara.Text(panel.text, classes=["cellsim-small", "cellsim-tissue-status"])
        solara.Image(panel.chart, classes=["cellsim-tissue-chart"])
        if panel.lattice is not None:
            solara.Image(panel.lattice, classes=["cellsim-tissue-lattice"])


@solara.component
def BodyView(choice: ArmChoice, scenario_picker):
    """The whole body view of one arm (sidebar and main area)."""
    seed = solara.use_reactive("42")
    scale = solara.use_reactive(1.0)
    tick = solara.use_reactive(0)
    lattice = any(t.lattice is not None for t in choice.params.tissues)
    runner = solara.use_memo(
        lambda: Runner(
            lambda: BodyModel(choice.path, choice.arm, rng=seed.value, scale=scale.value),
            make_render(),
            DEFAULT_DAYS_PER_FRAME,
        ),
        [],
    )
    _ = tick.value
    frame: BodyFrame = runner.frame
    model = runner.model

    def reset() -> None:
        runner.reset(lambda: BodyModel(choice.path, choice.arm, rng=seed.value, scale=scale.value))

    reset_to = (
        f"{choice.title} from age 0 with seed {seed.value} and samples x{scale.value:g} of the "
        "scenario's, interventions switched off"
    )
    with solara.Sidebar():
        with solara.Column():
            scenario_picker()
            RunControls(runner, tick, reset_to, on_reset=reset)
            with solara.Card("Reset settings", margin=0):
                solara.InputText("Random seed", value=seed.value, on_value=seed.set)
                if not lattice:
                    ValueSlider("Sample size", "x", scale.value, scale.set, 0.5, 4.0, 0.5)
            Interventions(runner, tick, frame.switches, bool(model.live.stem_tissues))

    solara.Text(frame.status, classes=["cellsim-status"])
    with solara.Card(margin=0, style={"max-width": "900px"}):
        solara.Image(frame.burden, classes=["cellsim-burden"])
        solara.Text(frame.burden_text, classes=["cellsim-small", "cellsim-block"])
        if frame.live:
            solara.Text(
                "Switched on the page: " + "; ".join(frame.live),
                classes=["cellsim-small", "cellsim-live", "cellsim-block"],
            )
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start", "gap": "10px"}):
        for panel in frame.panels:
            TissueCard(panel).key(panel.name)
    ParameterList(frame.params)
