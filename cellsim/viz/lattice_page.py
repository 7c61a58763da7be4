"""The lattice view: one tissue of a scenario arm on a square lattice (``model.VizModel``).

The sidebar holds the run controls and the model controls (lattice side, torus, cell
lifespan, stress senescence, immune clearance, bystander senescence, senolytic on/off,
start, interval and efficacy, reprogramming), each showing its value and unit; a control
takes effect at the next Reset, which says what it will build. The main area shows the
lattice as one image coloured by cell state, telomere length, epigenetic age, divisions
or clone; the state fractions and replicative pool over age; the telomere length
histogram by state; and the running model's parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import solara

from cellsim.engine.params import DAYS_PER_YEAR, CellState
from cellsim.viz.catalog import ArmChoice
from cellsim.viz.draw import (
    STATE_COLOURS,
    HistogramFigure,
    SeriesFigure,
    colourbar_rgb,
    field_rgb,
    png,
)
from cellsim.viz.live import REPROGRAMMING
from cellsim.viz.model import FIELDS, VizModel, knobs_of
from cellsim.viz.widgets import ParameterList, RunControls, Runner, ValueSlider, fmt_value

LABEL_TO_FIELD = {label: field for field, label in FIELDS.items()}
SLIDERS: dict[str, tuple[str, str, float, float, float]] = {
    "lifespan_days": ("Turnover: cell lifespan", "d", 5.0, 2000.0, 5.0),
    "stress_rate_per_day": ("Stress senescence", "/day", 0.0, 1e-3, 1e-5),
    "clearance_rate_per_day": ("Immune clearance", "/day", 0.0, 1.0, 0.01),
    "bystander_per_day": ("Bystander senescence", "/day", 0.0, 0.02, 0.0005),
    "senolytic_start_years": ("Senolytic from age", "y", 0.0, 60.0, 0.5),
    "senolytic_interval_days": ("Senolytic interval", "d", 1.0, 365.0, 1.0),
    "senolytic_efficacy": ("Senolytic efficacy per dose", "%", 0.0, 1.0, 0.05),
}
"""The sliders: knob -> (label, unit, minimum, maximum, step)."""


def clamp(knob: str, value: float) -> float:
    """``value`` within the slider's range."""
    _, _, lo, hi, _ = SLIDERS[knob]
    return min(max(float(value), lo), hi)


def knob_summary(knobs: dict) -> str:
    """Control values in words, with units."""
    k = knobs
    sen = (
        f"senolytic every {k['senolytic_interval_days']:g} d from "
        f"{k['senolytic_start_years']:g} y, {k['senolytic_efficacy']:.0%}/dose"
        if k["senolytic"]
        else "no senolytic"
    )
    return (
        f"{int(k['side'])} x {int(k['side'])} sites ({'torus' if k['torus'] else 'bounded'}), "
        f"lifespan {k['lifespan_days']:g} d, stress {k['stress_rate_per_day']:.2g}/day, "
        f"clearance {k['clearance_rate_per_day']:.3g}/day, bystander "
        f"{k['bystander_per_day']:.3g}/day, {sen}, reprogramming {k['reprogramming']}"
    )


@dataclass
class LatticeFrame:
    """What the lattice view shows of one moment."""

    status: str
    lattice: bytes
    value_range: tuple[float, float] | None
    field: str
    series: bytes
    histogram: bytes
    params: object
    knobs: dict


def make_render(field_of: dict):
    """The render function of one session: lattice, charts and status of a VizModel.
    ``field_of["field"]`` is the colouring, read at each render."""
    figures: dict[int, tuple[SeriesFigure, HistogramFigure]] = {}

    def render(model: VizModel) -> LatticeFrame:
        if id(model) not in figures:
            figures.clear()
            figures[id(model)] = (SeriesFigure(model.primary.cells.n_slots), HistogramFigure(model))
        series, histogram = figures[id(model)]
        field = field_of["field"]
        rgb, value_range = field_rgb(model.image(field), field)
        counts = model.primary.cells.counts()
        n = model.primary.cells.n_slots
        status = (
            f"Day {model.age_days:.0f} (age {model.age_days / DAYS_PER_YEAR:.2f} y), "
            f"step {model.steps} | pool {model.primary.pool_size()} | senescent "
            f"{counts[CellState.SENESCENT] / n:.1%} | empty {counts[CellState.EMPTY] / n:.1%}"
        )
        return LatticeFrame(
            status,
            png(rgb),
            value_range,
            field,
            series.draw(model),
            histogram.draw(model),
            model.params,
            dict(model.knobs),
        )

    return render


@solara.component
def LatticeControls(knobs: solara.Reactive[dict], running: dict):
    """The model controls (each with value and unit); changed ones are marked."""

    def setter(name):
        return lambda v: knobs.set({**knobs.value, name: v})

    k = knobs.value
    with solara.Card("Model controls (applied at Reset)", margin=0):
        sides = sorted({50, 100, 150, 200, 300, int(k["side"])})
        solara.Select(
            f"Lattice side: {int(k['side'])} sites",
            values=sides,
            value=int(k["side"]),
            on_value=setter("side"),
        )
        solara.Checkbox(
            label="Torus (wrap the edges)", value=bool(k["torus"]), on_value=setter("torus")
        )
        for name in list(SLIDERS)[:4]:
            label, unit, lo, hi, step = SLIDERS[name]
            ValueSlider(label, unit, clamp(name, k[name]), setter(name), lo, hi, step)
        solara.Checkbox(label="Senolytic", value=bool(k["senolytic"]), on_value=setter("senolytic"))
        for name in list(SLIDERS)[4:]:
            label, unit, lo, hi, step = SLIDERS[name]
            ValueSlider(label, unit, clamp(name, k[name]), setter(name), lo, hi, step)
        solara.Select(
            "Reprogramming",
            values=list(REPROGRAMMING),
            value=k["reprogramming"],
            on_value=setter("reprogramming"),
        )
        changed = [n for n in k if k[n] != running.get(n)]
        if changed:
            shown = ", ".join(
                f"{SLIDERS[n][0] if n in SLIDERS else n} "
                f"{fmt_value(k[n], SLIDERS[n][1]) if n in SLIDERS else k[n]}"
                for n in changed
            )
            solara.Text(f"Changed, applied at Reset: {shown}", classes=["cellsim-small"])


@solara.component
def LatticeView(choice: ArmChoice, scenario_picker):
    """The whole lattice view of one arm (sidebar and main area)."""
    start = solara.use_memo(lambda: knobs_of(choice.params), [])
    knobs = solara.use_reactive(start)
    seed = solara.use_reactive("42")
    tick = solara.use_reactive(0)
    colour = solara.use_reactive(FIELDS["state"])
    field_of = solara.use_memo(lambda: {"field": "state"}, [])
    runner = solara.use_memo(
        lambda: Runner(
            lambda: VizModel(choice.path, choice.arm, rng=seed.value, **knobs.value),
            make_render(field_of),
            choice.params.run.dt_days,
        ),
        [],
    )
    frame: LatticeFrame = runner.frame
    _ = tick.value

    def pick_colour(label: str) -> None:
        colour.set(label)
        field_of["field"] = LABEL_TO_FIELD[label]
        runner.rerender()
        tick.value += 1

    def reset() -> None:
        runner.reset(lambda: VizModel(choice.path, choice.arm, rng=seed.value, **knobs.value))

    reset_to = (
        f"{choice.title} from age 0, seed {seed.value}, with the model controls below "
        f"({knob_summary(knobs.value)})"
    )
    with solara.Sidebar():
        with solara.Column():
            scenario_picker()
            RunControls(runner, tick, reset_to, on_reset=reset)
            solara.InputText("Random seed", value=seed.value, on_value=seed.set)
            LatticeControls(knobs, frame.knobs)

    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start", "gap": "12px"}):
        with solara.Card(margin=0, style={"flex": "1 1 440px", "max-width": "620px"}):
            solara.Select(
                "Colour by", values=list(FIELDS.values()), value=colour.value, on_value=pick_colour
            )
            solara.Image(frame.lattice, classes=["cellsim-lattice"])
            if frame.value_range is None and frame.field == "state":
                chips = " ".join(
                    f'<span style="color:{STATE_COLOURS[s]};font-size:1.2em">&#9632;</span>'
                    f"&nbsp;{s.name.lower()}"
                    for s in CellState
                )
                solara.HTML(tag="div", unsafe_innerHTML=chips)
            elif frame.value_range is not None:
                solara.Image(png(colourbar_rgb(frame.field)), classes=["cellsim-colourbar"])
                label = FIELDS[frame.field]
                lo, hi = frame.value_range
                solara.Text(f"{label}: {lo:.4g} to {hi:.4g}; grey: empty")
            solara.Text(frame.status, classes=["cellsim-status"])
        with solara.Card(margin=0, style={"flex": "1 1 440px", "max-width": "620px"}):
            solara.Image(frame.series, classes=["cellsim-series"])
            solara.Image(frame.histogram, classes=["cellsim-histogram"])
        with solara.Column(style={"flex": "1 1 440px", "max-width": "620px"}):
            ParameterList(frame.params, [f"controls: {knob_summary(frame.knobs)}"])
