"""The browser view of a lattice tissue (Mesa SolaraViz).

Start it with one of

    cellsim viz [SCENARIO] [--arm ARM] [--port 8765]
    solara run cellsim/viz/app.py          # CELLSIM_VIZ_SCENARIO / CELLSIM_VIZ_ARM optional

and open http://localhost:8765. The sidebar holds Mesa's Reset / play / Step buttons, the
play and render intervals (render interval = days per frame) and the model controls:
lattice side, torus, turnover (cell lifespan), stress senescence, immune clearance,
bystander senescence, senolytic on/off, start, interval and efficacy, and reprogramming
(none, cyclic partial, full OSKM). A control takes effect at the next Reset. The main
area shows the lattice as one image coloured by cell state, telomere length, epigenetic
age, divisions or clone; the state fractions and replicative pool over age; and the
telomere length histogram by state.

A frame is three PNGs: the lattice is one RGB image made straight from the state arrays
(one pixel per site, scaled up by the browser; never one patch per cell), and the two
charts are matplotlib figures built once per model whose axes, ticks and legends are
rendered only when an axis range changes (1-2-5 steps) and whose data are blitted over
them. At 200x200 sites a day of the model takes well under a millisecond and a frame
some 10-20 ms of CPU.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mesa.visualization import Slider, SolaraViz, solara_viz
from mesa.visualization.utils import update_counter
from PIL import Image
from solara.util import IPYVUETIFY_V3

from cellsim.engine.params import CellState
from cellsim.engine.schema import DAYS_PER_YEAR
from cellsim.viz.model import FIELDS, REPROGRAMMING, VizModel, knobs_of, scenario_arm

STATE_COLOURS = {
    CellState.PLURIPOTENT: "#9467bd",
    CellState.SENESCENT: "#d62728",
    CellState.EMPTY: "#f2f2f2",
    CellState.CYCLING: "#2ca02c",
    CellState.STEM: "#1f77b4",
    CellState.TRANSFORMED: "#111111",
}
STATE_RGB = np.array(
    [[int(STATE_COLOURS[s][i : i + 2], 16) for i in (1, 3, 5)] for s in CellState], np.uint8
)
VACANT_RGB = STATE_RGB[CellState.EMPTY]
FIELD_CMAPS = {"telomere_bp": "viridis", "epigenetic_age_days": "magma", "divisions": "cividis"}
LABEL_TO_FIELD = {label: field for field, label in FIELDS.items()}
LATTICE_CSS = """
.cellsim-lattice { image-rendering: pixelated; width: 100%; max-width: 560px;
                   border: 1px solid #bbb; }
.cellsim-colourbar { image-rendering: pixelated; width: 100%; max-width: 560px; height: 12px; }
"""

colour_by = solara.reactive(FIELDS["state"])


def png(image: np.ndarray | Figure) -> bytes:
    """An RGB array (H x W x 3, uint8) or a matplotlib figure as PNG bytes."""
    buf = io.BytesIO()
    if isinstance(image, Figure):
        image.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
    else:
        Image.fromarray(image, "RGB").save(buf, format="png", compress_level=1)
    return buf.getvalue()


def lattice_rgb(model: VizModel, field: str) -> tuple[np.ndarray, tuple[float, float] | None]:
    """The lattice coloured by ``field`` as one RGB array, one pixel per site, and the
    (min, max) of a continuous field (None for state and clone colourings)."""
    img = model.image(field)
    if field == "state":
        return STATE_RGB[img], None
    if field == "clone":
        tab20 = (np.array(matplotlib.colormaps["tab20"].colors) * 255).astype(np.uint8)
        rgb = tab20[np.maximum(img, 0) % 20]
        rgb[img < 0] = VACANT_RGB
        return rgb, None
    vacant = np.isnan(img)
    lo, hi = (
        (float(np.min(img[~vacant])), float(np.max(img[~vacant]))) if (~vacant).any() else (0, 1)
    )
    scaled = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    lut = matplotlib.colormaps[FIELD_CMAPS[field]].resampled(256)(np.arange(256), bytes=True)
    rgb = lut[np.clip(np.nan_to_num(scaled) * 255, 0, 255).astype(np.uint8), :3]
    rgb[vacant] = VACANT_RGB
    return rgb, (lo, hi)


def colourbar_rgb(field: str) -> np.ndarray:
    """A horizontal colour bar (1 x 256 RGB) of a continuous field's colour map."""
    lut = matplotlib.colormaps[FIELD_CMAPS[field]].resampled(256)(np.arange(256), bytes=True)
    return np.ascontiguousarray(lut[None, :, :3])


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= x (x > 0)."""
    k = np.floor(np.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10**k >= x * (1 - 1e-12):
            return float(m * 10**k)
    return float(10 ** (k + 1))


class BlitFigure:
    """A matplotlib figure whose static part (axes, ticks, labels, legend) is rendered once
    per set of axis limits and whose data artists are drawn over it each frame (Agg
    blitting): a frame costs the data lines and a PNG encoding, not the text layout.
    Axis limits move in 1-2-5 steps, so the static part is re-rendered only rarely."""

    def __init__(self, fig: Figure, artists: list) -> None:
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self.artists = artists
        for a in artists:
            a.set_animated(True)  # left out of canvas.draw(): drawn in frame()
        self.limits: tuple | None = None
        self.background = None

    def frame(self, limits: tuple) -> bytes:
        """Redraw the static part if ``limits`` changed, then the artists; PNG bytes."""
        if limits != self.limits or self.background is None:
            self.set_limits(limits)
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
            self.limits = limits
        self.canvas.restore_region(self.background)
        for a in self.artists:
            a.axes.draw_artist(a)
        rgba = np.asarray(self.canvas.buffer_rgba())
        return png(np.ascontiguousarray(rgba[..., :3]))

    def set_limits(self, limits: tuple) -> None:
        raise NotImplementedError


class SeriesFigure(BlitFigure):
    """State fractions (top) and the replicative pool, CYCLING + STEM (bottom), over age."""

    ORDER = (
        CellState.CYCLING,
        CellState.SENESCENT,
        CellState.EMPTY,
        CellState.STEM,
        CellState.TRANSFORMED,
        CellState.PLURIPOTENT,
    )

    def __init__(self, n_slots: int) -> None:
        self.n = n_slots
        fig = Figure(figsize=(6.0, 4.6), dpi=80)
        self.top, self.bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
        fig.subplots_adjust(left=0.12, right=0.78, top=0.97, bottom=0.11, hspace=0.08)
        self.lines = {}
        for s in self.ORDER:
            colour = "#999999" if s == CellState.EMPTY else STATE_COLOURS[s]
            (self.lines[s],) = self.top.plot([], [], color=colour, label=s.name.lower(), lw=1.4)
        self.top.set_ylim(-0.02, 1.02)
        self.top.set_ylabel("fraction of slots")
        self.top.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
        (self.pool,) = self.bottom.plot([], [], color=STATE_COLOURS[CellState.CYCLING], lw=1.4)
        self.bottom.set_ylabel("pool size")
        self.bottom.set_xlabel("age (years)")
        self.bottom.set_ylim(0, n_slots * 1.05)
        super().__init__(fig, [*self.lines.values(), self.pool])

    def set_limits(self, limits: tuple) -> None:
        self.bottom.set_xlim(*limits)

    def draw(self, model: VizModel, max_points: int = 2000) -> bytes:
        days, counts = model.series()
        step = max(1, days.size // max_points)
        years, counts = days[::step] / DAYS_PER_YEAR, counts[::step]
        for s, line in self.lines.items():
            line.set_data(years, counts[:, s] / self.n)
        self.pool.set_data(years, counts[:, CellState.CYCLING] + counts[:, CellState.STEM])
        start = float(years[0])
        return self.frame((start, start + nice_ceiling(max(float(years[-1]) - start, 0.1))))


class HistogramFigure(BlitFigure):
    """Telomere lengths of the occupied slots stacked by state, over a fixed range."""

    def __init__(self, model: VizModel) -> None:
        edges, by_state = model.telomere_histogram()
        fig = Figure(figsize=(6.0, 3.4), dpi=80)
        self.ax = fig.subplots()
        fig.subplots_adjust(left=0.12, right=0.78, top=0.96, bottom=0.15)
        zero = np.zeros(edges.size - 1)
        self.patches = {
            s: self.ax.stairs(zero, edges, fill=True, color=STATE_COLOURS[s], label=s.name.lower())
            for s in by_state
        }
        threshold = model.primary.params.telomere.senescence_threshold_bp
        self.ax.axvline(threshold, color="#d62728", ls="--", lw=1, label="threshold")
        self.ax.set_xlim(edges[0], edges[-1])
        self.ax.set_xlabel("telomere length (bp)")
        self.ax.set_ylabel("cells")
        self.ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1))
        super().__init__(fig, list(self.patches.values()))

    def set_limits(self, limits: tuple) -> None:
        self.ax.set_ylim(*limits)

    def draw(self, model: VizModel) -> bytes:
        edges, by_state = model.telomere_histogram()
        base = np.zeros(edges.size - 1)
        for s, hist in by_state.items():
            self.patches[s].set_data(base + hist, edges, base.copy())
            base = base + hist
        return self.frame((0.0, nice_ceiling(max(1.0, float(base.max()) * 1.05))))


def knob_summary(model: VizModel) -> str:
    """The running model's control values, in words."""
    k = model.knobs
    sen = (
        f"senolytic every {k['senolytic_interval_days']:g} d from {k['senolytic_start_years']:g}"
        f" y, {k['senolytic_efficacy']:.0%}/dose"
        if k["senolytic"]
        else "no senolytic"
    )
    return (
        f"lifespan {k['lifespan_days']:g} d, stress {k['stress_rate_per_day']:.2g}/d, "
        f"clearance {k['clearance_rate_per_day']:.3g}/d, bystander "
        f"{k['bystander_per_day']:.3g}/d, {sen}, reprogramming {k['reprogramming']}"
    )


@solara.component
def LatticeView(model: VizModel):
    """The lattice as one image, the colouring selector, a legend and a status line."""
    tick = update_counter.get()
    label = colour_by.value
    field = LABEL_TO_FIELD[label]
    rgb, value_range = solara.use_memo(
        lambda: lattice_rgb(model, field), dependencies=[model, tick, field]
    )
    counts = model.primary.cells.counts()
    n = model.primary.cells.n_slots
    geometry = "torus" if model.knobs["torus"] else "bounded"
    solara.Style(LATTICE_CSS)
    with solara.Column(gap="4px"):
        solara.Select("Colour by", values=list(FIELDS.values()), value=colour_by, dense=True)
        solara.Text(f"{model.width} x {model.height} sites, {geometry}, day {model.age_days:.0f}")
        solara.Image(png(rgb), classes=["cellsim-lattice"])
        if value_range is None and field == "state":
            chips = " ".join(
                f'<span style="color:{STATE_COLOURS[s]};font-size:1.2em">&#9632;</span>'
                f"&nbsp;{s.name.lower()}"
                for s in CellState
            )
            solara.HTML(tag="div", unsafe_innerHTML=chips)
        elif value_range is not None:
            solara.Image(png(colourbar_rgb(field)), classes=["cellsim-colourbar"])
            solara.Text(f"{label}: {value_range[0]:.4g} to {value_range[1]:.4g}; grey: empty")
        solara.Text(
            f"Day {model.age_days:.0f} (age {model.age_days / DAYS_PER_YEAR:.2f} y), "
            f"step {model.steps} | pool {model.primary.pool_size()} | senescent "
            f"{counts[CellState.SENESCENT] / n:.1%} | empty {counts[CellState.EMPTY] / n:.1%}",
            classes=["cellsim-status"],
        )
        solara.Text(
            f"{model.title}: {knob_summary(model)}. Change a control, then Reset.",
            style={"color": "#666", "font-size": "0.85em"},
        )


@solara.component
def StateSeries(model: VizModel):
    """State fractions and the replicative pool over age."""
    tick = update_counter.get()
    figure = solara.use_memo(lambda: SeriesFigure(model.primary.cells.n_slots), [model])
    image = solara.use_memo(lambda: figure.draw(model), dependencies=[figure, tick])
    solara.Image(image, classes=["cellsim-series"])


@solara.component
def TelomereHistogram(model: VizModel):
    """Telomere length histogram by state."""
    tick = update_counter.get()
    figure = solara.use_memo(lambda: HistogramFigure(model), [model])
    image = solara.use_memo(lambda: figure.draw(model), dependencies=[figure, tick])
    solara.Image(image, classes=["cellsim-histogram"])


@solara.component
def PanelsView(components: list, model: VizModel):
    """The charts side by side (wrapping on narrow screens), each in a card."""
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start", "gap": "12px"}):
        for item in components:
            component = item[0] if isinstance(item, tuple) else item
            with solara.Card(margin=0, style={"flex": "1 1 440px", "max-width": "720px"}):
                component(model)


if IPYVUETIFY_V3:
    # SolaraViz lays its components out with Solara's GridDraggable, whose grid script
    # (vue-grid-layout) is a Vue 2 build: under ipyvuetify 3 (Vue 3) it fails in the
    # browser ("GlobalVue.use is not a function") and the main area stays blank. Lay the
    # panels out in a plain wrapping row instead; with ipyvuetify < 3 Mesa's grid is kept.
    solara_viz.ComponentsView = PanelsView


SLIDERS: dict[str, tuple[str, float, float, float]] = {
    "lifespan_days": ("Turnover: cell lifespan (days)", 5.0, 2000.0, 5.0),
    "stress_rate_per_day": ("Stress senescence (/day)", 0.0, 1e-3, 1e-5),
    "clearance_rate_per_day": ("Immune clearance (/day)", 0.0, 1.0, 0.01),
    "bystander_per_day": ("Bystander senescence (/day)", 0.0, 0.02, 0.0005),
    "senolytic_start_years": ("Senolytic from age (years)", 0.0, 60.0, 0.5),
    "senolytic_interval_days": ("Senolytic interval (days)", 1.0, 365.0, 1.0),
    "senolytic_efficacy": ("Senolytic efficacy per dose", 0.0, 1.0, 0.05),
}
"""The sliders: knob -> (label with unit, minimum, maximum, step)."""


def slider(knob: str, value: float) -> Slider:
    """The slider of ``knob`` (``SLIDERS``), set to ``value`` clamped to its range."""
    label, lo, hi, step = SLIDERS[knob]
    return Slider(label, float(min(max(value, lo), hi)), lo, hi, step)


def model_params(knobs: dict, scenario: str | None, arm: str | None) -> dict:
    """Mesa's model_params: fixed scenario and arm, and the controls."""
    sides = sorted({50, 100, 150, 200, 300, int(knobs["side"])})
    sliders = {k: slider(k, knobs[k]) for k in SLIDERS}
    return {
        "scenario_file": scenario,
        "arm": arm,
        "rng": {"type": "InputText", "value": "42", "label": "Random seed"},
        "side": {
            "type": "Select",
            "value": int(knobs["side"]),
            "values": sides,
            "label": "Lattice side (sites)",
        },
        "torus": {"type": "Checkbox", "value": bool(knobs["torus"]), "label": "Torus (wrap)"},
        **{k: sliders[k] for k in list(SLIDERS)[:4]},
        "senolytic": {"type": "Checkbox", "value": bool(knobs["senolytic"]), "label": "Senolytic"},
        **{k: sliders[k] for k in list(SLIDERS)[4:]},
        "reprogramming": {
            "type": "Select",
            "value": knobs["reprogramming"],
            "values": list(REPROGRAMMING),
            "label": "Reprogramming",
        },
    }


def make_page(scenario: str | None = None, arm: str | None = None, rng: str = "42"):
    """The page component for one scenario arm (defaults: environment, then
    ``lattice_bystander``'s control arm). Each browser session gets its own model."""
    base, title = scenario_arm(scenario, arm)
    params = model_params(knobs_of(base), scenario, arm)

    @solara.component
    def Page():
        model = solara.use_memo(lambda: VizModel(scenario, arm, rng=rng), dependencies=[])
        return SolaraViz(
            model,
            components=[LatticeView, StateSeries, TelomereHistogram],
            model_params=params,
            name=f"cellsim: {title}",
            play_interval=50,
            render_interval=1,
        )

    return Page


Page = make_page()
