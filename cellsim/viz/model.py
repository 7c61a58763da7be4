"""VizModel: an AgingModel built from a scenario arm and the browser view's controls.

The view shows the first somatic tissue of the arm on a square lattice (a well-mixed
tissue is laid out on one). The controls own a few parameters of that tissue and the
senolytic and reprogramming interventions: ``knobs_of`` reads their starting values from
the arm, ``apply_knobs`` writes them back. Other tissues (a stem compartment) and other
interventions (insults) are kept as the arm has them. The run goes on to the horizon
(``stop_at = "horizon"``), past the failures a batch run would stop at.

No Solara here: the model runs and is tested without the page.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cellsim.engine.model import AgingModel
from cellsim.engine.params import (
    DAYS_PER_YEAR,
    CellState,
    FullReprogramming,
    ModelParams,
    PartialReprogramming,
    Senolytic,
)
from cellsim.viz.catalog import choose
from cellsim.viz.live import REPROGRAMMING

DEFAULT_SIDE = 100
FIELDS = {
    "state": "cell state",
    "telomere_bp": "telomere length (bp)",
    "epigenetic_age_days": "epigenetic age (years)",
    "divisions": "divisions (population doublings)",
    "clone": "clone (founding lineage)",
}
"""Per-slot fields the lattice can be coloured by, and their labels."""
KNOBS = (
    "side",
    "torus",
    "lifespan_days",
    "stress_rate_per_day",
    "clearance_rate_per_day",
    "bystander_per_day",
    "senolytic",
    "senolytic_start_years",
    "senolytic_interval_days",
    "senolytic_efficacy",
    "reprogramming",
)


def scenario_arm(scenario: str | None = None, arm: str | None = None) -> tuple[ModelParams, str]:
    """The resolved parameters of one arm (default: the control arm) and its name.

    ``scenario`` and ``arm`` default to the environment variables ``CELLSIM_VIZ_SCENARIO``
    and ``CELLSIM_VIZ_ARM`` (set by ``cellsim viz``), then to ``lattice_bystander``.
    """
    choice = choose(scenario, arm)
    return choice.params, choice.title


def _primary_index(params: ModelParams) -> int:
    kinds = [t.kind for t in params.tissues]
    return kinds.index("somatic") if "somatic" in kinds else 0


def knobs_of(params: ModelParams) -> dict[str, Any]:
    """The controls' starting values, read from an arm's parameters."""
    t = params.tissues[_primary_index(params)]
    lat = t.lattice
    sen = next((iv for iv in params.interventions if isinstance(iv, Senolytic)), None)
    kinds = {iv.kind for iv in params.interventions}
    reprogramming = (
        "partial"
        if "partial_reprogramming" in kinds
        else "full"
        if "full_reprogramming" in kinds
        else "none"
    )
    default_sen = sen or Senolytic()
    return {
        "side": lat.width if lat is not None else DEFAULT_SIDE,
        "torus": lat.torus if lat is not None else True,
        "lifespan_days": t.lifespan_days,
        "stress_rate_per_day": t.stress.rate_per_day,
        "clearance_rate_per_day": t.clearance.rate_per_day,
        "bystander_per_day": lat.bystander_per_day if lat is not None else 0.0,
        "senolytic": sen is not None,
        "senolytic_start_years": default_sen.start_age_days / DAYS_PER_YEAR,
        "senolytic_interval_days": default_sen.interval_days,
        "senolytic_efficacy": default_sen.efficacy_per_dose,
        "reprogramming": reprogramming,
    }


def apply_knobs(params: ModelParams, knobs: dict[str, Any]) -> ModelParams:
    """A validated copy of ``params`` with the controls' values (see the module doc)."""
    data = params.model_dump()
    t = data["tissues"][_primary_index(params)]
    side = int(knobs["side"])
    t["n_cells"] = side * side
    t["lattice"] = {
        **(t.get("lattice") or {}),
        "width": side,
        "height": side,
        "torus": bool(knobs["torus"]),
        "bystander_per_day": float(knobs["bystander_per_day"]),
    }
    t["lifespan_days"] = float(knobs["lifespan_days"])
    t["stress"]["rate_per_day"] = float(knobs["stress_rate_per_day"])
    t["clearance"]["rate_per_day"] = float(knobs["clearance_rate_per_day"])
    own = {"senolytic", "partial_reprogramming", "full_reprogramming"}
    first = {}
    for iv in data["interventions"]:
        first.setdefault(iv["kind"], iv)
    kept = [iv for iv in data["interventions"] if iv["kind"] not in own]
    if knobs["senolytic"]:
        sen = Senolytic.model_validate(first.get("senolytic", {})).model_dump()
        sen["start_age_days"] = float(knobs["senolytic_start_years"]) * DAYS_PER_YEAR
        sen["interval_days"] = float(knobs["senolytic_interval_days"])
        sen["efficacy_per_dose"] = float(knobs["senolytic_efficacy"])
        sen["end_age_days"] = None
        kept.append(sen)
    choice = knobs["reprogramming"]
    if choice not in REPROGRAMMING:
        raise ValueError(f"reprogramming = {choice!r}: must be one of {REPROGRAMMING}")
    if choice == "partial":
        spec = first.get("partial_reprogramming") or PartialReprogramming().model_dump()
        kept.append(spec)
    elif choice == "full":
        spec = first.get("full_reprogramming") or FullReprogramming().model_dump()
        kept.append(spec)
    data["interventions"] = kept
    data["run"]["stop_at"] = "horizon"
    return ModelParams.model_validate(data)


def _seed(rng: Any) -> Any:
    """Seeds typed into a text box arrive as strings."""
    if isinstance(rng, str):
        rng = rng.strip()
        return int(rng) if rng.lstrip("-").isdigit() else None
    return rng


class VizModel(AgingModel):
    """The model the browser view drives.

    Args:
        scenario_file, arm: which arm of which scenario (defaults: see ``scenario_arm``).
        rng: seed (a string of digits is accepted).
        scenario: ignored; Mesa's SolaraViz passes its own ``mesa`` Scenario object on
            Reset (the name is Mesa's, hence ``scenario_file`` for ours).
        **knobs: the controls (``KNOBS``); a missing or None value keeps the arm's.

    ``history`` holds, after every step, the day and the primary tissue's cell count per
    state (O(1) from the state index); ``image(field)`` the lattice as a 2-D array.
    """

    def __init__(
        self,
        scenario_file: str | None = None,
        arm: str | None = None,
        *,
        rng: Any = 42,
        scenario: Any = None,
        **knobs: Any,
    ) -> None:
        unknown = set(knobs) - set(KNOBS)
        if unknown:
            raise TypeError(f"unknown controls: {sorted(unknown)}")
        base, self.title = scenario_arm(scenario_file, arm)
        self.knobs = {**knobs_of(base), **{k: v for k, v in knobs.items() if v is not None}}
        super().__init__(apply_knobs(base, self.knobs), rng=_seed(rng))
        lat = self.primary.params.lattice
        self.width, self.height = lat.width, lat.height
        self.history: list[tuple[float, ...]] = []
        self._note()

    def step(self) -> None:
        """One step, then note the counts."""
        super().step()
        self._note()

    def advance(self, days: float) -> float:
        """Step until ``days`` more of organism age have passed (at least one step; to
        the horizon at most), noting every step; returns the days advanced."""
        start = self.age_days
        while self.running and (self.age_days == start or self.age_days < start + days - 1e-9):
            self.step()
        return self.age_days - start

    def _note(self) -> None:
        self.history.append((self.age_days, *self.primary.cells.state_counts().tolist()))

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        """(days, counts per state [steps x N_STATES]) noted so far."""
        h = np.array(self.history[:], dtype=np.float64)
        return h[:, 0], h[:, 1:]

    def image(self, field: str = "state") -> np.ndarray:
        """The primary tissue's lattice coloured by ``field`` (epigenetic age in years)."""
        img = self.primary.cells.image(self.width, field, self.age_days)
        if field == "epigenetic_age_days":
            img = img / DAYS_PER_YEAR
        return img

    def telomere_range_bp(self) -> float:
        """Upper end of the telomere histogram: fixed per run, room for reprogrammed cells."""
        tel = self.primary.params.telomere
        top = max(
            tel.initial_mean_bp + 5 * tel.initial_sd_bp,
            self.primary.params.pluripotency.embryonic_telomere_bp,
        )
        return float(np.ceil(top / 1000.0) * 1000.0)

    def telomere_histogram(self, bin_bp: float = 100.0) -> tuple[np.ndarray, dict]:
        """(bin edges in bp, {state: counts}) of occupied slots' telomere lengths over
        ``[0, telomere_range_bp()]`` (longer ones in the last bin)."""
        cells = self.primary.cells
        n_bins = int(self.telomere_range_bp() // bin_bp)
        bins = np.clip((cells.telomere_bp // bin_bp).astype(np.int64), 0, n_bins - 1)
        out = {}
        for s in CellState:
            if s != CellState.EMPTY:
                out[s] = np.bincount(bins[cells.state == s], minlength=n_bins)
        return np.arange(n_bins + 1) * bin_bp, out
