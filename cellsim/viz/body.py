"""BodyModel: an organism scenario's arm as the body view drives it (no Solara).

Every tissue steps together (one AgingModel); the page advances it a frame at a time
(``advance``: the engine's fast-forwarded ``run(until_day=...)``, bit-identical to
stepping) and notes after each frame, per tissue, the cell count of each state and the
body's senescent burden: the immune system's weighted senescent fraction (each tissue's
count times its scale factor ``cells_in_body / n_cells``, over the tissues the immune
system counts: ``engine.model.immune_coupling``) and the clearance per senescent cell it
leaves, ``1 / (1 + S / K)`` of the low-burden rate (Karin 2019). The run goes on to the
horizon past every failure; the first tissue to fail (and to be exhausted) is read from
the tissues' own failure days. Interventions are switched from the page through
``live.LiveInterventions``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cellsim.config.scenario import load_scenario
from cellsim.engine.model import AgingModel, burden_weights, immune_coupling
from cellsim.engine.params import DAYS_PER_YEAR, CellState, ModelParams
from cellsim.engine.tissue import Tissue
from cellsim.viz.catalog import ArmChoice, choose
from cellsim.viz.live import LiveInterventions

TELOMERE_BIN_BP = 250.0
"""Width of a tissue panel's telomere histogram bins."""


def _seed(rng: Any) -> Any:
    """Seeds typed into a text box arrive as strings."""
    if isinstance(rng, str):
        rng = rng.strip()
        return int(rng) if rng.lstrip("-").isdigit() else None
    return rng


def body_params(choice: ArmChoice, scale: float = 1.0) -> ModelParams:
    """The arm's parameters, every tissue's sample ``scale`` times larger (``--scale``'s
    rule: each sample still stands for the same real tissue), run to the horizon."""
    params = choice.params
    if scale != 1.0:
        params = load_scenario(choice.path, scale=scale).resolved()[choice.arm]
    data = params.model_dump()
    data["run"]["stop_at"] = "horizon"
    return ModelParams.model_validate(data)


class BodyModel(AgingModel):
    """The model of the body view.

    Args:
        scenario_file, arm: which arm of which scenario (defaults: ``catalog.choose``).
        rng: seed (a string of digits is accepted).
        scale: multiplies every tissue's sample size (1: the scenario's).
    """

    def __init__(
        self,
        scenario_file: str | None = None,
        arm: str | None = None,
        *,
        rng: Any = 42,
        scale: float = 1.0,
    ) -> None:
        self.choice = choose(scenario_file, arm)
        self.scale = float(scale)
        super().__init__(body_params(self.choice, self.scale), rng=_seed(rng))
        self.title = self.choice.title
        self.seed = rng
        n_slots = [t.cells.n_slots for t in self.tissues]
        coupling = immune_coupling(self.params, n_slots)
        self.shared_immune = coupling is not None
        # each tissue's own immune system (no coupling): weigh every tissue
        self.burden_weight = coupling[0] if coupling else burden_weights(self.params, n_slots)
        self.half_saturation = float(self.params.immune.half_saturation_fraction)
        self.considered = [n for n in self.choice.considered if n in self.by_name]
        self.live = LiveInterventions(self)
        self.history: list[np.ndarray] = []
        """Per frame: [day, burden, then per tissue the count of each state]."""
        self._note()

    # --- time --------------------------------------------------------------------------
    def advance(self, days: float) -> float:
        """Run at least ``days`` of organism age (whole steps; to the horizon at most) and
        note the frame; returns the days advanced."""
        start = self.age_days
        if self.running:
            self.run(until_day=start + max(days, self.dt_days * 0.5))
        self._note()
        return self.age_days - start

    def _note(self) -> None:
        counts = np.array([t.cells.state_counts() for t in self.tissues], dtype=np.float64)
        self.history.append(np.concatenate([[self.age_days, self.burden()], counts.ravel()]))

    # --- what the panels show -------------------------------------------------------------
    def burden(self) -> float:
        """The body's senescent burden now: the immune system's weighted senescent
        fraction (0-1)."""
        sen = np.array([t.cells.count(CellState.SENESCENT) for t in self.tissues], np.float64)
        return float(np.dot(self.burden_weight, sen))

    def series(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(days, burden fraction, counts [frames x tissues x states]) noted so far."""
        h = np.array(self.history, dtype=np.float64)
        counts = h[:, 2:].reshape(h.shape[0], len(self.tissues), len(CellState))
        return h[:, 0], h[:, 1], counts

    def age_span_years(self) -> tuple[float, float]:
        """The run's ages, start to horizon (years): the charts' fixed age axis."""
        run = self.params.run
        return run.start_age_days / DAYS_PER_YEAR, self.end_day / DAYS_PER_YEAR

    def clearance_relative(self, burden: np.ndarray) -> np.ndarray:
        """Clearance per senescent cell at ``burden``, as a fraction of the low-burden
        rate: ``1 / (1 + S / K)``."""
        return 1.0 / (1.0 + np.asarray(burden) / self.half_saturation)

    def telomere_range_bp(self, tissue: Tissue) -> float:
        """Upper end of a tissue's telomere histogram (fixed per run; room for
        reprogrammed cells)."""
        tel = tissue.params.telomere
        top = max(
            tel.initial_mean_bp + 5 * tel.initial_sd_bp,
            tissue.params.pluripotency.embryonic_telomere_bp,
        )
        return float(np.ceil(top / 1000.0) * 1000.0)

    def telomere_histogram(self, tissue: Tissue) -> tuple[np.ndarray, np.ndarray]:
        """(bin edges in bp, counts) of the tissue's occupied slots' telomere lengths over
        ``[0, telomere_range_bp]`` (longer ones in the last bin)."""
        cells = tissue.cells
        n_bins = int(self.telomere_range_bp(tissue) // TELOMERE_BIN_BP)
        occupied = cells.state != CellState.EMPTY
        bins = np.clip((cells.telomere_bp[occupied] // TELOMERE_BIN_BP).astype(np.int64), 0, None)
        hist = np.bincount(np.minimum(bins, n_bins - 1), minlength=n_bins)
        return np.arange(n_bins + 1) * TELOMERE_BIN_BP, hist

    def first(self, event: str) -> tuple[str, float] | None:
        """The first of the considered tissues to reach ``event`` (exhaustion, failure,
        neoplasia) and the day it did; None while none has."""
        days = [
            (d, name)
            for name in self.considered
            if (d := self.by_name[name].event_days[event]) is not None
        ]
        if not days:
            return None
        d, name = min(days)
        return name, d

    def status(self) -> str:
        """The clock and the first failure, in words."""
        first = self.first("failure")
        failed = (
            f"first to fail: {first[0]} at {first[1] / DAYS_PER_YEAR:.1f} y"
            if first
            else "no tissue has failed"
        )
        return (
            f"Day {self.age_days:.0f} (age {self.age_days / DAYS_PER_YEAR:.2f} y), step "
            f"{self.step_count} | burden {100 * self.burden():.2f}% | {failed}"
        )
