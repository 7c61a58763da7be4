"""A finished result folder, read for the results view (no Solara).

``open_results(DIR)`` recognises the output folder of ``cellsim run`` (``runs.parquet``
and ``manifest.json`` of kind ``scenario``), ``cellsim sweep`` (kind ``sweep``),
``cellsim sensitivity`` (a sweep with ``sensitivity/indices.parquet``) and
``cellsim calibrate`` (kind ``calibration``), and reads its stored tables; anything else
is a one-line ``ResultsError``. Every figure is drawn from those tables with the
functions of ``analysis/`` that the commands use (Kaplan-Meier curves of
``analysis.exhaustion``, ``analysis.plots.plot_survival``, the sweep heatmap and lines
of ``analysis.sweep``, the tornado of ``analysis.sensitivity``, the weighted quantiles of
``analysis.calibration``): nothing is simulated again. Figures are PNG bytes, cached per
selection.
"""

from __future__ import annotations

import functools
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cellsim.io import MANIFEST, is_temporary
from cellsim.viz.draw import png

KINDS = ("run", "sweep", "sensitivity", "calibration")
EVENTS = ("exhaustion", "failure", "neoplasia")
ANY_TISSUE = " of any tissue"
"""Suffix of a body's "first tissue" events (``exhaustion of any tissue``)."""


class ResultsError(ValueError):
    """A folder the results view cannot show; the message is one line."""


@dataclass(eq=False)
class Results:
    """One result folder and its tables (those its kind has; others empty)."""

    folder: Path
    kind: str
    name: str
    manifest: dict[str, Any]
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    scenario: dict[str, Any] = field(default_factory=dict)
    body_burden: pd.DataFrame = field(default_factory=pd.DataFrame)
    body_answer: pd.DataFrame = field(default_factory=pd.DataFrame)
    indices: pd.DataFrame = field(default_factory=pd.DataFrame)
    posterior: pd.DataFrame = field(default_factory=pd.DataFrame)
    posterior_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    predictive: pd.DataFrame = field(default_factory=pd.DataFrame)

    # --- what can be picked ---------------------------------------------------------
    @property
    def arms(self) -> list[str]:
        """A run's arms in table order (a sweep's: its points)."""
        from analysis.exhaustion import arms_in_order

        return arms_in_order(self.runs) if not self.runs.empty else []

    @property
    def body_tissues(self) -> list[str]:
        """The tissues among which a body's first failure is read (empty: not a body)."""
        body = self.scenario.get("body") or {}
        if not body:
            return []
        names = body.get("tissues") or [
            t["name"] for t in self.scenario["base"]["tissues"] if t.get("kind") != "stem"
        ]
        return [
            n for n in names if f"{n}.exhaustion_day" in self.runs.columns or n == self._primary
        ]

    @property
    def _primary(self) -> str | None:
        if "tissue" in self.runs.columns and not self.runs.empty:
            return str(self.runs["tissue"].iloc[0])
        return None

    @property
    def events(self) -> list[str]:
        """The events a survival curve can show: a body's first of any tissue and each
        tissue's own; else the primary tissue's exhaustion, failure and neoplasia."""
        tissues = self.body_tissues
        if not tissues:
            return list(EVENTS)
        out = [f"{e}{ANY_TISSUE}" for e in EVENTS]
        for t in tissues:
            out += [f"{t}.{e}" for e in ("exhaustion", "failure")]
        return out

    @property
    def sweep_parameters(self) -> list[str]:
        """A sweep's parameters (grid ones first)."""
        grid = list(self.manifest.get("grid_parameters") or [])
        rest = [p for p in self.manifest.get("parameters") or [] if p not in grid]
        return [p for p in grid + rest if p in self.summary.columns]

    @property
    def outputs(self) -> list[str]:
        """A sensitivity study's outputs."""
        return list(pd.unique(self.indices["output"])) if not self.indices.empty else []

    @property
    def parameters(self) -> list[str]:
        """A calibration's parameters."""
        return [c for c in self.posterior.columns if c != "weight"]

    @property
    def observables(self) -> list[str]:
        """A calibration's observables (of the predictive check)."""
        if self.predictive.empty:
            return []
        return list(pd.unique(self.predictive["observable"]))

    def check_arm(self, arm: str | None) -> None:
        """ResultsError naming the arms when ``arm`` is not one of this result's."""
        if arm is not None and arm not in self.arms:
            allowed = ", ".join(self.arms) if self.arms else "none: this result has no arms"
            raise ResultsError(f"--arm = {arm!r}: not an arm of {self.name!r} (arms: {allowed})")

    # --- figures ----------------------------------------------------------------------
    def survival_png(self, arms: tuple[str, ...], event: str) -> bytes:
        """Kaplan-Meier curves of ``event`` for ``arms`` (``analysis.plots.plot_survival``
        on the stored runs)."""
        return _survival_png(self, tuple(arms), event)

    def heatmap_png(self, x: str, y: str | None, event: str) -> bytes:
        """The sweep's median age at ``event`` over ``x`` and ``y`` (heatmap), or against
        ``x`` alone (lines) when ``y`` is None or ``x``."""
        return _heatmap_png(self, x, y, event)

    def sobol_png(self, output: str) -> bytes:
        """The study's indices of ``output`` (tornado: ST with S1 inside, or Morris mu*)."""
        return _sobol_png(self, output)

    def marginal_png(self, parameter: str) -> bytes:
        """The posterior marginal of ``parameter``: weighted histogram, median and 90%
        credible interval."""
        return _marginal_png(self, parameter)

    def predictive_png(self, observable: str) -> bytes:
        """The posterior-predictive check of ``observable`` from ``predictive.csv``."""
        return _predictive_png(self, observable)

    def burden_png(self, arms: tuple[str, ...]) -> bytes:
        """A body's senescent burden and shared clearance by age (``body_burden.csv``)."""
        return _burden_png(self, tuple(arms))

    def table(self) -> pd.DataFrame:
        """The folder's headline table: a body's answer, a run's or sweep's summary, the
        indices, or the posterior summary."""
        for t in (self.body_answer, self.indices, self.posterior_summary, self.summary):
            if not t.empty:
                return t
        return pd.DataFrame()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not readable JSON ({exc.__class__.__name__})") from None
    if not isinstance(value, dict):
        raise ResultsError(f"{path}: not a JSON object")
    return value


def _read(path: Path) -> pd.DataFrame:
    """A stored table, or an empty one when the file is absent."""
    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:
        raise ResultsError(f"{path}: not a readable table ({exc.__class__.__name__})") from None


def result_kind(folder: Path) -> str | None:
    """The kind of result a folder holds (``KINDS``), or None when it holds none."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return "run" if (folder / "runs.parquet").is_file() else None
    kind = _read_json(manifest).get("kind")
    if kind == "sweep":
        return "sensitivity" if (folder / "sensitivity" / "indices.parquet").is_file() else "sweep"
    if kind == "calibration":
        return "calibration"
    if kind == "scenario" or (folder / "runs.parquet").is_file():
        return "run"
    return None


def looks_like_results(path: str | Path) -> bool:
    """True when ``path`` is a folder (a result or not): the results view is asked for."""
    return Path(path).is_dir()


ALLOWED = (
    "an output folder of cellsim run, sweep, sensitivity or calibrate, or a folder of such folders"
)


def find_results(folder: str | Path) -> list[Path]:
    """The result folders at ``folder``: itself when it is one, else its immediate
    subfolders that are (by name); ResultsError when there are none."""
    folder = Path(folder)
    if not folder.exists():
        raise ResultsError(f"folder = {str(folder)!r}: not found (give {ALLOWED})")
    if not folder.is_dir():
        raise ResultsError(f"folder = {str(folder)!r}: not a folder (give {ALLOWED})")
    if result_kind(folder) is not None:
        return [folder]
    found = sorted(
        p for p in folder.iterdir() if p.is_dir() and not is_temporary(p) and _kind_or_none(p)
    )
    if not found:
        raise ResultsError(
            f"folder = {str(folder)!r}: not a result (no manifest.json or runs.parquet in it "
            f"or in its subfolders; give {ALLOWED})"
        )
    return found


def _kind_or_none(folder: Path) -> str | None:
    try:
        return result_kind(folder)
    except ResultsError:
        return None


def _check_folder(folder: Path) -> str:
    """The folder's result kind, or ResultsError saying why it holds none."""
    allowed = "an output folder of cellsim run, sweep, sensitivity or calibrate"
    if not folder.exists():
        raise ResultsError(f"folder = {str(folder)!r}: not found (give {allowed})")
    if not folder.is_dir():
        raise ResultsError(f"folder = {str(folder)!r}: not a folder (give {allowed})")
    if is_temporary(folder.resolve()):
        raise ResultsError(
            f"folder = {str(folder)!r}: a temporary folder left by an interrupted cellsim "
            "command, not a result"
        )
    kind = result_kind(folder)
    if kind is None:
        raise ResultsError(
            f"folder = {str(folder)!r}: not a result (no manifest.json or runs.parquet; "
            f"give {allowed})"
        )
    return kind


def open_results(folder: str | Path) -> Results:
    """Read a result folder (module doc); ResultsError for a missing folder, a folder
    that holds no result, or a result that is not complete enough to show."""
    folder = Path(folder)
    kind = _check_folder(folder)
    manifest = _read_json(folder / MANIFEST) if (folder / MANIFEST).is_file() else {}
    name = str(manifest.get("name") or folder.name)
    res = Results(folder, kind, name, manifest)
    if kind in ("run", "sweep", "sensitivity"):
        res.runs = _read(folder / "runs.parquet")
        res.summary = _read(folder / "summary.csv")
        if res.runs.empty and kind == "run":
            raise ResultsError(f"folder = {str(folder)!r}: runs.parquet is missing or empty")
    if kind == "run":
        resolved = folder / "scenario.resolved.json"
        res.scenario = _read_json(resolved).get("scenario", {}) if resolved.is_file() else {}
        res.body_burden = _read(folder / "body_burden.csv")
        res.body_answer = _read(folder / "body_answer.csv")
    elif kind == "sweep":
        if res.summary.empty:
            raise ResultsError(f"folder = {str(folder)!r}: the sweep has no summary.csv yet")
    elif kind == "sensitivity":
        res.indices = _read(folder / "sensitivity" / "indices.parquet")
    elif kind == "calibration":
        res.posterior = _read(folder / "posterior.parquet")
        res.posterior_summary = _read(folder / "posterior_summary.csv")
        res.predictive = _read(folder / "predictive.csv")
        if res.posterior.empty or "weight" not in res.posterior.columns:
            raise ResultsError(
                f"folder = {str(folder)!r}: the calibration has no posterior.parquet yet "
                f"(status {manifest.get('status', 'unknown')!r})"
            )
    return res


def _via_file(draw: Callable[[Path], Any]) -> bytes:
    """PNG bytes of an ``analysis`` plot function that writes a file."""
    with tempfile.TemporaryDirectory(prefix="cellsim-viz-") as tmp:
        path = Path(tmp) / "figure.png"
        draw(path)
        return path.read_bytes()


def _no_data(text: str) -> bytes:
    fig = Figure(figsize=(6.0, 1.2), dpi=80)
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, text, ha="center", va="center")
    return png(fig)


def _event_table(res: Results, event: str) -> tuple[pd.DataFrame, str]:
    """A runs table with the ``<event>_day`` column ``plot_survival`` reads, and the
    event's name there."""
    if event.endswith(ANY_TISSUE):
        from analysis.body import first_tissue

        base = event.removesuffix(ANY_TISSUE)
        first = first_tissue(res.runs, base, res.body_tissues)
        table = first[["run_id", "arm", "end_day"]].copy()
        table[f"{event}_day"] = first["first_day"]
        return table, event
    primary = res._primary
    if primary is not None and event.startswith(f"{primary}."):
        return res.runs, event.removeprefix(f"{primary}.")
    return res.runs, event


@functools.lru_cache(maxsize=64)
def _survival_png(res: Results, arms: tuple[str, ...], event: str) -> bytes:
    from analysis.plots import plot_survival

    if event not in res.events:
        raise ResultsError(f"event = {event!r}: must be one of {', '.join(res.events)}")
    table, name = _event_table(res, event)
    table = table[table["arm"].astype(str).isin(arms)]
    if table.empty:
        return _no_data("no arm chosen")
    return _via_file(lambda p: plot_survival(table, p, event=name))


@functools.lru_cache(maxsize=64)
def _heatmap_png(res: Results, x: str, y: str | None, event: str) -> bytes:
    from analysis.sweep import plot_sweep_heatmap, plot_sweep_lines

    for p in (x, y):
        if p is not None and p not in res.sweep_parameters:
            raise ResultsError(
                f"parameter = {p!r}: must be one of {', '.join(res.sweep_parameters)}"
            )
    if y is None or y == x:
        return _via_file(lambda p: plot_sweep_lines(res.summary, x, p, event=event))
    return _via_file(lambda p: plot_sweep_heatmap(res.summary, x, y, p, event=event))


@functools.lru_cache(maxsize=64)
def _sobol_png(res: Results, output: str) -> bytes:
    from analysis.sensitivity import plot_tornado

    if output not in res.outputs:
        raise ResultsError(f"output = {output!r}: must be one of {', '.join(res.outputs)}")
    level = 0.95
    settings = res.folder / "sensitivity" / "settings.json"
    if settings.is_file():
        level = float(_read_json(settings).get("confidence_level", level))
    return _via_file(lambda p: plot_tornado(res.indices, output, p, confidence_level=level))


@functools.lru_cache(maxsize=64)
def _marginal_png(res: Results, parameter: str) -> bytes:
    from analysis.calibration import weighted_quantiles

    if parameter not in res.parameters:
        raise ResultsError(f"parameter = {parameter!r}: must be one of {', '.join(res.parameters)}")
    x = res.posterior[parameter].to_numpy(dtype=float)
    w = res.posterior["weight"].to_numpy(dtype=float)
    lo, med, hi = weighted_quantiles(x, w, [0.05, 0.5, 0.95])
    fig = Figure(figsize=(6.4, 3.6), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    bins = max(8, min(40, int(math.sqrt(x.size)) * 2))
    ax.hist(x, bins=bins, weights=w / w.sum(), color="#6baed6", edgecolor="white")
    ax.axvline(med, color="#08519c", lw=2, label=f"median {med:.4g}")
    ax.axvspan(lo, hi, color="#08519c", alpha=0.12, label=f"90% CI [{lo:.4g}, {hi:.4g}]")
    ax.set_xlabel(parameter)
    ax.set_ylabel("posterior weight")
    ax.set_title(f"Posterior marginal ({x.size} weighted particles)", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    return png(fig)


@functools.lru_cache(maxsize=64)
def _predictive_png(res: Results, observable: str) -> bytes:
    if observable not in res.observables:
        raise ResultsError(
            f"observable = {observable!r}: must be one of {', '.join(res.observables)}"
        )
    b = res.predictive[res.predictive["observable"] == observable]
    fig = Figure(figsize=(6.4, 3.8), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    x = b["age_mid_years"]
    ax.fill_between(
        x, b["sim_p10"], b["sim_p90"], color="#6baed6", alpha=0.4, label="simulated 10-90%"
    )
    ax.plot(x, b["sim_p50"], color="#08519c", lw=2, label="simulated median")
    for k, marker, label in (
        ("p50", "o", "data median (95% CI)"),
        ("p10", "v", "data 10th / 90th (95% CI)"),
        ("p90", "^", None),
    ):
        err = [b[f"data_{k}"] - b[f"data_{k}_low"], b[f"data_{k}_high"] - b[f"data_{k}"]]
        ax.errorbar(
            x, b[f"data_{k}"], yerr=err, fmt=marker, color="black", ms=4, lw=0.8,
            capsize=2, label=label,
        )  # fmt: skip
    inside = int(b["within_ci"].astype(bool).sum()) if "within_ci" in b.columns else 0
    ax.set_xlabel("age (years)")
    ax.set_ylabel(f"{observable} (bp)")
    ax.set_title(
        f"Posterior-predictive check: {inside}/{len(b)} age bins within the data's CIs",
        fontsize=10,
    )
    ax.legend(frameon=False, fontsize=7)
    return png(fig)


@functools.lru_cache(maxsize=64)
def _burden_png(res: Results, arms: tuple[str, ...]) -> bytes:
    b = res.body_burden
    if b.empty:
        return _no_data("no body_burden.csv in this folder")
    fig = Figure(figsize=(6.4, 4.2), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    for arm in arms:
        r = b[b["arm"].astype(str) == arm]
        if r.empty:
            continue
        (line,) = top.plot(r["age_years"], r["burden_median_pct"], lw=1.6, label=arm)
        top.fill_between(
            r["age_years"], r["burden_p10_pct"], r["burden_p90_pct"], color=line.get_color(),
            alpha=0.15, lw=0,
        )  # fmt: skip
        bottom.plot(r["age_years"], r["clearance_relative_median"], lw=1.6, color=line.get_color())
    top.set_ylabel("senescent burden (%)")
    top.set_title("The body's senescent burden (median, 10-90%) and shared clearance", fontsize=10)
    bottom.set_ylabel("clearance per cell\n(x low-burden rate)")
    bottom.set_xlabel("age (years)")
    if arms:
        top.legend(frameon=False, fontsize=7)
    return png(fig)
