"""Drawing for the browser view: PNG frames made cheaply, no Solara.

A lattice is one RGB image made straight from the state arrays (one pixel per site, scaled
up by the browser; never one patch per cell). Charts are matplotlib figures built once per
model whose axes, ticks and legends are rendered only when an axis range changes (1-2-5
steps) and whose data artists are blitted over them (``BlitFigure``): a frame costs the
data lines and a PNG encoding, not the text layout.
"""

from __future__ import annotations

import io
from typing import Protocol

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from cellsim.engine.params import CellState
from cellsim.engine.schema import DAYS_PER_YEAR

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


class HasImage(Protocol):
    def image(self, field: str = "state") -> np.ndarray: ...


def png(image: np.ndarray | Figure) -> bytes:
    """An RGB array (H x W x 3, uint8) or a matplotlib figure as PNG bytes."""
    buf = io.BytesIO()
    if isinstance(image, Figure):
        image.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
    else:
        Image.fromarray(image, "RGB").save(buf, format="png", compress_level=1)
    return buf.getvalue()


def field_rgb(img: np.ndarray, field: str) -> tuple[np.ndarray, tuple[float, float] | None]:
    """A lattice's per-site values (``CellPopulation.image``) coloured as one RGB array,
    and the (min, max) of a continuous field (None for state and clone colourings)."""
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


def lattice_rgb(model: HasImage, field: str) -> tuple[np.ndarray, tuple[float, float] | None]:
    """A model's lattice coloured by ``field`` (see ``field_rgb``)."""
    return field_rgb(model.image(field), field)


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


def age_limits(years: np.ndarray) -> tuple[float, float]:
    """An age axis from the first point to a 1-2-5 step past the last (>= 0.1 year)."""
    start = float(years[0]) if years.size else 0.0
    end = float(years[-1]) if years.size else start
    return start, start + nice_ceiling(max(end - start, 0.1))


class BlitFigure:
    """A matplotlib figure whose static part (axes, ticks, labels, legend) is rendered once
    per set of axis limits and whose data artists are drawn over it each frame (Agg
    blitting). Axis limits move in 1-2-5 steps, so the static part is re-rendered rarely."""

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
        self.bottom.set_ylabel("pool size (cells)")
        self.bottom.set_xlabel("age (years)")
        self.bottom.set_ylim(0, n_slots * 1.05)
        super().__init__(fig, [*self.lines.values(), self.pool])

    def set_limits(self, limits: tuple) -> None:
        self.bottom.set_xlim(*limits)

    def draw(self, model, max_points: int = 2000) -> bytes:
        """The frame of a model with ``series()`` (days, counts per state)."""
        days, counts = model.series()
        step = max(1, days.size // max_points)
        years, counts = days[::step] / DAYS_PER_YEAR, counts[::step]
        for s, line in self.lines.items():
            line.set_data(years, counts[:, s] / self.n)
        self.pool.set_data(years, counts[:, CellState.CYCLING] + counts[:, CellState.STEM])
        return self.frame(age_limits(years))


class HistogramFigure(BlitFigure):
    """Telomere lengths of the occupied slots stacked by state, over a fixed range."""

    def __init__(self, model) -> None:
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

    def draw(self, model) -> bytes:
        """The frame of a model with ``telomere_histogram()`` (edges, {state: counts})."""
        edges, by_state = model.telomere_histogram()
        base = np.zeros(edges.size - 1)
        for s, hist in by_state.items():
            self.patches[s].set_data(base + hist, edges, base.copy())
            base = base + hist
        return self.frame((0.0, nice_ceiling(max(1.0, float(base.max()) * 1.05))))


class TissueFigure(BlitFigure):
    """One tissue of a body: its functional and senescent fractions over age (left; the
    senescent fraction on its own right-hand scale) and its telomere histogram (right).

    The age axis spans the whole run and the other scales only grow (1-2-5 steps), so
    the static part is rendered a few times per run, not at every frame."""

    def __init__(self, model, tissue) -> None:
        self.tissue = tissue
        self.ages = model.age_span_years()
        self.tops = (0.01, 1.0)
        edges, _ = model.telomere_histogram(tissue)
        fig = Figure(figsize=(4.6, 1.9), dpi=72)
        self.ax, self.hist_ax = fig.subplots(1, 2, width_ratios=(3, 2))
        fig.subplots_adjust(left=0.11, right=0.98, top=0.9, bottom=0.24, wspace=0.42)
        self.sen_ax = self.ax.twinx()
        (self.functional,) = self.ax.plot([], [], color=STATE_COLOURS[CellState.CYCLING], lw=1.4)
        (self.senescent,) = self.sen_ax.plot(
            [], [], color=STATE_COLOURS[CellState.SENESCENT], lw=1.2
        )
        self.ax.axhline(tissue.params.failure.functional_fraction_min, color="0.5", ls=":", lw=1)
        self.ax.set_ylim(-0.02, 1.05)
        self.ax.set_ylabel("functional", fontsize=8, color=STATE_COLOURS[CellState.CYCLING])
        self.sen_ax.set_ylabel("senescent", fontsize=8, color=STATE_COLOURS[CellState.SENESCENT])
        self.ax.set_xlabel("age (years)", fontsize=8)
        self.hist = self.hist_ax.stairs(np.zeros(edges.size - 1), edges, fill=True, color="#1f77b4")
        threshold = tissue.params.telomere.senescence_threshold_bp
        self.hist_ax.axvline(threshold, color=STATE_COLOURS[CellState.SENESCENT], ls="--", lw=1)
        self.hist_ax.set_xlim(edges[0], edges[-1])
        self.hist_ax.set_xlabel("telomere (kb)", fontsize=8)
        self.hist_ax.xaxis.set_major_formatter(lambda v, _: f"{v / 1000:g}")
        for a in (self.ax, self.sen_ax, self.hist_ax):
            a.tick_params(labelsize=7)
        super().__init__(fig, [self.functional, self.senescent, self.hist])

    def set_limits(self, limits: tuple) -> None:
        x0, x1, sen_top, hist_top = limits
        self.ax.set_xlim(x0, x1)
        self.sen_ax.set_ylim(0, sen_top)
        self.hist_ax.set_ylim(0, hist_top)

    def draw(self, model, years: np.ndarray, counts: np.ndarray) -> bytes:
        """The frame from the tissue's counts per state over ``years`` (frames x states)."""
        n = counts[0].sum() if counts.size else 1.0
        functional = (counts[:, CellState.CYCLING] + counts[:, CellState.STEM]) / n
        senescent = counts[:, CellState.SENESCENT] / n
        self.functional.set_data(years, functional)
        self.senescent.set_data(years, senescent)
        edges, hist = model.telomere_histogram(self.tissue)
        self.hist.set_data(hist, edges)
        sen = float(senescent.max()) * 1.1 if senescent.size else 0.0
        self.tops = (
            max(self.tops[0], nice_ceiling(max(0.01, sen))),
            max(self.tops[1], nice_ceiling(max(1.0, float(hist.max()) * 1.05))),
        )
        return self.frame((*self.ages, *self.tops))


class BurdenFigure(BlitFigure):
    """The body's senescent burden (top, % of the immune system's cells) and the shared
    clearance per senescent cell it leaves (bottom, x the low-burden rate) over age; a
    dotted line at the first tissue failure. The age axis spans the whole run and the
    burden's scale only grows."""

    def __init__(self, ages: tuple[float, float]) -> None:
        self.ages = ages
        self.top_pct = 0.1
        fig = Figure(figsize=(6.4, 3.0), dpi=72)
        self.top, self.bottom = fig.subplots(2, 1, sharex=True)
        fig.subplots_adjust(left=0.13, right=0.97, top=0.95, bottom=0.15, hspace=0.12)
        (self.burden,) = self.top.plot([], [], color=STATE_COLOURS[CellState.SENESCENT], lw=1.5)
        (self.clearance,) = self.bottom.plot([], [], color="#1f77b4", lw=1.5)
        self.fail_top = self.top.axvline(np.nan, color="0.2", ls=":", lw=1.2)
        self.fail_bottom = self.bottom.axvline(np.nan, color="0.2", ls=":", lw=1.2)
        self.top.set_ylabel("senescent\nburden (%)", fontsize=9)
        self.bottom.set_ylabel("clearance per\nsenescent cell", fontsize=9)
        self.bottom.set_xlabel("age (years)", fontsize=9)
        self.bottom.set_ylim(0, 1.05)
        super().__init__(fig, [self.burden, self.clearance, self.fail_top, self.fail_bottom])

    def set_limits(self, limits: tuple) -> None:
        x0, x1, top = limits
        self.bottom.set_xlim(x0, x1)
        self.top.set_ylim(0, top)

    def draw(
        self, years: np.ndarray, burden: np.ndarray, clearance: np.ndarray, fail_years: float
    ) -> bytes:
        """The frame: burden (fraction, shown in %) and relative clearance over ``years``;
        ``fail_years`` NaN until a tissue fails."""
        pct = 100 * burden
        self.burden.set_data(years, pct)
        self.clearance.set_data(years, clearance)
        for line in (self.fail_top, self.fail_bottom):
            line.set_xdata([fail_years, fail_years])
        self.top_pct = max(
            self.top_pct, nice_ceiling(max(0.1, float(pct.max()) * 1.1 if pct.size else 0.1))
        )
        return self.frame((*self.ages, self.top_pct))
