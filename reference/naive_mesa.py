"""The naive reference: the tissue written the idiomatic Mesa 3.5 way, well-mixed and on a lattice.

One ``mesa.Agent`` per cell, ``model.agents.shuffle_do`` for the per-cell processes,
``agent.remove()`` on death and clearance, a new ``Cell`` for every daughter. It is the
speed baseline of ``benchmarks/bench.py`` and an independent second implementation of the
engine's well-mixed tissue (``NaiveTissueModel``; cellsim/kernels/processes.py) and of its
lattice (``NaiveLatticeModel``, one ``mesa.discrete_space.CellAgent`` per cell on an
``OrthogonalMooreGrid``; cellsim/kernels/lattice.py; see its docstring), checked against
them in ``tests/test_naive_reference.py``. It shares nothing with the engine but the parameter
models of ``cellsim.engine.params`` (and never imports the kernels), and it draws from the
model's own ``self.random`` (Python's Mersenne Twister, seeded by Mesa from ``rng``),
not from the engine's numpy Generator.

Processes of one step (docs/MODEL.md, same order and parameter names as the engine):

1. clocks: organism age and each cell's ``epigenetic_age_days`` advance by ``dt``;
2. turnover: CYCLING and STEM cells die with probability ``1 - exp(-dt / lifespan_days)``,
   TRANSFORMED ones at ``lifespan_days * transformation.lifespan_factor``; SENESCENT cells
   resist apoptosis;
3. stress senescence: a CYCLING cell becomes SENESCENT at hazard ``stress.rate_per_day +
   age_slope_per_day_per_year * age_years + epigenetic_slope_per_day_per_year *
   epigenetic_age_years``;
4. immune clearance: each SENESCENT cell is removed at hazard ``r0 / (1 + s / K)``, with
   ``s`` the senescent count (after step 3) over the ``n_cells`` slots;
6. replacement: every vacancy (``n_cells - len(model.agents)``) is refilled, one at a time,
   by the division of a competent cell drawn at random (CYCLING or STEM weight 1,
   TRANSFORMED weight ``transformation.fitness``); both daughters lose
   ``max(0, Normal(loss_mean_bp, loss_sd_bp)) * (1 - telomerase)`` bp, independently, from
   the parent's pre-division length; a CYCLING daughter becomes TRANSFORMED with
   ``probability_per_division``, otherwise a daughter below ``senescence_threshold_bp``
   becomes SENESCENT. The parent agent stays on as one daughter; the other is a new agent.
8. failure detection: pool exhaustion is the first day with no CYCLING or STEM cell;
   failure and neoplasia as in the engine.

Not modelled (the engine does them through interventions): scheduled interventions (5),
PLURIPOTENT cells, stem-compartment supply, in vitro culture. The lattice model changes
processes 3 and 6 only (NaiveLatticeModel).

Implementation notes, so that the baseline is idiomatic but not a straw man: per-state
counts are kept as the cells change state (no scan to count), and during the
``shuffle_do("step")`` pass each cell files itself in the day's list of senescent cells
(the ones process 4 visits) and of competent cells (the parents of process 6), so a day
costs one pass over the agents plus work per event. A parent is drawn uniformly from the
competent list; an entry that went senescent since it was filed is dropped and the draw
repeated, which is exactly uniform over the cells still competent.

Usage::

    from cellsim.engine.params import RunParams, TissueParams
    from reference.naive_mesa import NaiveTissueModel

    m = NaiveTissueModel(TissueParams(n_cells=500, lifespan_days=5), RunParams(), rng=1)
    m.run_until_exhaustion(max_days=2000)
    m.event_days["exhaustion"]

    lattice = TissueParams(lifespan_days=5, lattice={"width": 20, "height": 20})
    NaiveLatticeModel(lattice, RunParams(), rng=1).run_until_exhaustion(max_days=2000)
"""

from __future__ import annotations

import math
from typing import Any

import mesa
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid

from cellsim.engine.params import DAYS_PER_YEAR, CellState, RunParams, TissueParams

# Plain ints: comparisons with IntEnum members are several times slower in the hot loop.
PLURIPOTENT = int(CellState.PLURIPOTENT)
SENESCENT = int(CellState.SENESCENT)
EMPTY = int(CellState.EMPTY)
CYCLING = int(CellState.CYCLING)
STEM = int(CellState.STEM)
TRANSFORMED = int(CellState.TRANSFORMED)
N_STATES = len(CellState)

COUNTERS = (
    "deaths",
    "stress_senescence",
    "replicative_senescence",
    "cleared_immune",
    "divisions",
    "transformations",
)
EVENTS = ("exhaustion", "failure", "neoplasia")


def probability(rate_per_day: float, dt_days: float) -> float:
    """Probability of an event of constant hazard over one step: ``1 - exp(-rate * dt)``."""
    return -math.expm1(-rate_per_day * dt_days)


class Cell(mesa.Agent):
    """One cell: docs/MODEL.md's cell state as attributes."""

    def __init__(
        self,
        model: NaiveTissueModel,
        state: int,
        telomere_bp: float,
        divisions: int,
        epigenetic_age_days: float,
        clone: int,
    ) -> None:
        super().__init__(model)
        self.state = state
        self.telomere_bp = telomere_bp
        self.divisions = divisions
        self.epigenetic_age_days = epigenetic_age_days
        self.clone = clone
        model.n_state[state] += 1

    # --- state bookkeeping -----------------------------------------------------------
    def set_state(self, new_state: int) -> None:
        """Change state, keeping the model's per-state counts."""
        n_state = self.model.n_state
        n_state[self.state] -= 1
        n_state[new_state] += 1
        self.state = new_state

    def die(self, counter: str) -> None:
        """Leave the tissue (apoptosis or clearance): the slot becomes a vacancy."""
        self.model.n_state[self.state] -= 1
        self.model.counters[counter] += 1
        self.remove()

    # --- processes 1-3 (one shuffle_do pass) -----------------------------------------
    def step(self) -> None:
        """Clock, turnover and stress senescence of this cell; files it for 4 and 6."""
        m = self.model
        self.epigenetic_age_days += m.dt_days
        s = self.state
        if s == CYCLING:
            if m.random.random() < m.q_death:
                self.die("deaths")
                return
            hazard = m.stress_hazard_today + m.stress_epi_slope_per_day * (
                self.epigenetic_age_days / DAYS_PER_YEAR
            )
            if self.stress_senesces(hazard):
                self.set_state(SENESCENT)
                m.counters["stress_senescence"] += 1
                m.senescent_today.append(self)
                return
            m.competent.append(self)
        elif s == SENESCENT:
            m.senescent_today.append(self)
        elif s == STEM:
            if m.random.random() < m.q_death:
                self.die("deaths")
                return
            m.competent.append(self)
        elif s == TRANSFORMED:
            if m.random.random() < m.q_death_transformed:
                self.die("deaths")
                return
            m.transformed.append(self)

    def stress_senesces(self, hazard: float) -> bool:
        """Process 3's draw for this CYCLING cell at today's ``hazard`` (its own part)."""
        m = self.model
        return hazard > 0.0 and m.random.random() < probability(hazard, m.dt_days)

    # --- process 4 ---------------------------------------------------------------------
    def clear(self, q_clear: float) -> None:
        """Immune clearance of a senescent cell with this day's probability."""
        if self.state == SENESCENT and self.model.random.random() < q_clear:
            self.die("cleared_immune")

    # --- process 6 ---------------------------------------------------------------------
    def division_loss_bp(self, lineage_state: int) -> float:
        """Telomere lost by one daughter: max(0, Normal(mean, sd)) * (1 - telomerase)."""
        m = self.model
        loss = m.random.gauss(m.loss_mean_bp, m.loss_sd_bp)
        if loss < 0.0:
            loss = 0.0
        return loss * (1.0 - m.telomerase[lineage_state])

    def divide(self) -> Cell:
        """Divide into a vacancy: this agent is one daughter, the new agent the other."""
        m = self.model
        lineage = self.state
        base = self.telomere_bp
        self.telomere_bp = base - self.division_loss_bp(lineage)
        other_bp = base - self.division_loss_bp(lineage)
        self.divisions += 1
        m.counters["divisions"] += 1
        daughter = type(self)(
            m,
            state=lineage,
            telomere_bp=other_bp,
            divisions=self.divisions,
            epigenetic_age_days=self.epigenetic_age_days,
            clone=self.clone,
        )
        self.settle(lineage, is_new=False)
        daughter.settle(lineage, is_new=True)
        return daughter

    def settle(self, lineage: int, is_new: bool) -> None:
        """A daughter's state after division; file it among the day's parents if it can
        divide (the parent daughter is already filed unless it changed state)."""
        m = self.model
        if lineage == TRANSFORMED:
            new = TRANSFORMED
        elif lineage == CYCLING and m.random.random() < m.transformation_probability:
            new = TRANSFORMED
            m.counters["transformations"] += 1
        elif self.telomere_bp < m.threshold_bp:
            new = SENESCENT
            m.counters["replicative_senescence"] += 1
        else:
            new = lineage
        if new != self.state:
            self.set_state(new)
        if new == TRANSFORMED and (is_new or lineage != TRANSFORMED):
            m.transformed.append(self)
        elif is_new and new != SENESCENT:
            m.competent.append(self)


class NaiveTissueModel(mesa.Model):
    """One well-mixed tissue, one agent per cell.

    Args:
        tissue: the tissue's parameters (``kind="stem"`` founds STEM cells).
        run: clock, horizon and stopping rule (``dt_days``, ``horizon_days``,
            ``start_age_days``, ``stop_at``; recording is not implemented).
        rng: seed for Mesa's ``self.random`` / ``self.rng``.
    """

    cell_class: type[Cell] = Cell

    def __init__(
        self, tissue: TissueParams | None = None, run: RunParams | None = None, *, rng: Any = None
    ) -> None:
        super().__init__(rng=rng)
        tissue = tissue or TissueParams()
        run = run or RunParams()
        self.tissue_params = tissue
        self.run_params = run
        self.n_cells = tissue.n_cells
        self.dt_days = run.dt_days
        self.age_days = run.start_age_days
        self.end_day = run.start_age_days + run.horizon_days

        tel, stress, clr, tr = (
            tissue.telomere,
            tissue.stress,
            tissue.clearance,
            tissue.transformation,
        )
        self.q_death = probability(1.0 / tissue.lifespan_days, self.dt_days)
        self.q_death_transformed = probability(
            1.0 / (tissue.lifespan_days * tr.lifespan_factor), self.dt_days
        )
        self.stress_rate_per_day = stress.rate_per_day
        self.stress_age_slope_per_day = stress.age_slope_per_day_per_year
        self.stress_epi_slope_per_day = stress.epigenetic_slope_per_day_per_year
        self.stress_hazard_today = 0.0  # the part of the hazard shared by all cells today
        self.clearance_rate_per_day = clr.rate_per_day
        self.half_saturation_fraction = clr.half_saturation_fraction
        self.loss_mean_bp = tel.loss_mean_bp
        self.loss_sd_bp = tel.loss_sd_bp
        self.threshold_bp = tel.senescence_threshold_bp
        self.telomerase = [0.0] * N_STATES
        self.telomerase[STEM] = tel.telomerase_stem
        self.telomerase[PLURIPOTENT] = tel.telomerase_pluripotent
        self.telomerase[TRANSFORMED] = tel.telomerase_transformed
        self.transformation_probability = tr.probability_per_division
        self.fitness = tr.fitness
        self.failure = tissue.failure

        self.n_state = [0] * N_STATES
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.event_days: dict[str, float | None] = dict.fromkeys(EVENTS)
        self.senescent_today: list[Cell] = []
        self.competent: list[Cell] = []  # CYCLING or STEM when filed
        self.transformed: list[Cell] = []

        self.found()

    def found(self) -> list[Cell]:
        """Found the tissue: one cell per slot, telomeres ~ Normal(initial mean, sd), one
        clone each, SENESCENT if already below the threshold. Returns them in slot order."""
        tissue, tel = self.tissue_params, self.tissue_params.telomere
        founder = STEM if tissue.kind == "stem" else CYCLING
        cells = []
        for i in range(self.n_cells):
            bp = max(0.0, self.random.gauss(tel.initial_mean_bp, tel.initial_sd_bp))
            state = SENESCENT if bp < self.threshold_bp else founder
            cells.append(self.cell_class(self, state, bp, 0, self.run_params.start_age_days, i))
        return cells

    # --- one step ------------------------------------------------------------------------
    def step(self) -> None:
        """Processes 1-4, 6 and 8 of one step."""
        self.age_days += self.dt_days
        self.stress_hazard_today = (
            self.stress_rate_per_day + self.stress_age_slope_per_day * self.age_days / DAYS_PER_YEAR
        )
        self.senescent_today = []
        self.competent = []
        self.transformed = []
        self.agents.shuffle_do("step")  # 1-3
        s = self.n_state[SENESCENT] / self.n_cells  # 4
        hazard = self.clearance_rate_per_day / (1.0 + s / self.half_saturation_fraction)
        q_clear = probability(hazard, self.dt_days)
        self.random.shuffle(self.senescent_today)
        for cell in self.senescent_today:
            cell.clear(q_clear)
        self.replace(self.n_cells - len(self.agents))  # 6
        self.detect_events()  # 8
        if self.should_stop():
            self.running = False

    def draw_parent(self) -> Cell | None:
        """A competent cell: CYCLING/STEM with weight 1, TRANSFORMED with weight fitness."""
        competent, transformed = self.competent, self.transformed
        while True:
            n_norm = len(competent)
            total = n_norm + self.fitness * len(transformed)
            if total <= 0.0:
                return None
            u = self.random.random() * total
            if u >= n_norm:
                j = min(int((u - n_norm) / self.fitness), len(transformed) - 1)
                return transformed[j]
            j = int(u)
            cell = competent[j]
            if cell.state == CYCLING or cell.state == STEM:
                return cell
            competent[j] = competent[-1]  # went senescent or transformed: drop the entry
            competent.pop()

    def replace(self, n_vacancies: int) -> int:
        """Process 6: refill vacancies one at a time; returns the number filled."""
        filled = 0
        while filled < n_vacancies:
            parent = self.draw_parent()
            if parent is None:
                break
            parent.divide()
            filled += 1
        return filled

    # --- failure detection ---------------------------------------------------------------
    def pool_size(self) -> int:
        """CYCLING + STEM cells."""
        return self.n_state[CYCLING] + self.n_state[STEM]

    def detect_events(self) -> None:
        """Record the first day of exhaustion, failure and neoplasia."""
        n = self.n_cells
        pool = self.pool_size()
        reached = {
            "exhaustion": pool == 0,
            "failure": pool < self.failure.functional_fraction_min * n,
            "neoplasia": self.n_state[TRANSFORMED] > self.failure.neoplasia_fraction * n,
        }
        for event, hit in reached.items():
            if hit and self.event_days[event] is None:
                self.event_days[event] = self.age_days

    def should_stop(self) -> bool:
        """The engine's stopping rule (RunParams.stop_at)."""
        if self.age_days >= self.end_day - 1e-9:
            return True
        ev = self.event_days
        stop_at = self.run_params.stop_at
        if stop_at == "first_event":
            return any(v is not None for v in ev.values())
        if stop_at == "all_events":
            if ev["exhaustion"] is None or ev["failure"] is None:
                return False
            can_change = self.pool_size() + self.n_state[TRANSFORMED] > 0
            return ev["neoplasia"] is not None or not can_change
        return False

    def run(self) -> NaiveTissueModel:
        """Step until ``running`` is False."""
        while self.running:
            self.step()
        return self

    def run_until_exhaustion(self, max_days: float) -> float | None:
        """Step until pool exhaustion or ``max_days``; returns the exhaustion day or None."""
        limit = self.age_days + max_days
        while self.event_days["exhaustion"] is None and self.age_days < limit - 1e-9:
            self.step()
        return self.event_days["exhaustion"]

    def counts(self) -> dict[str, int]:
        """Cells per state (EMPTY = vacant slots)."""
        out = {s.name: self.n_state[s] for s in CellState}
        out["EMPTY"] = self.n_cells - len(self.agents)
        return out


# --- the lattice tissue ------------------------------------------------------------------
class LatticeCell(Cell, CellAgent):
    """A cell on a site of the lattice: a ``Cell`` that is also a Mesa ``CellAgent``
    (``self.cell`` is its site; ``remove()`` also leaves the site)."""

    def die(self, counter: str) -> None:
        """Leave the tissue; the site becomes a vacancy for process 6."""
        site = self.cell
        super().die(counter)
        self.model.vacancies.append(site)

    def stress_senesces(self, hazard: float) -> bool:
        """Process 3 with the bystander term: hazard ``+ bystander_per_day * m / 8``, ``m``
        the senescent Moore neighbours as they stood when the process started (cells that
        went senescent earlier in today's pass do not count)."""
        m = self.model
        b = m.bystander_per_day
        if b <= 0.0:
            return super().stress_senesces(hazard)
        u, dt = m.random.random(), m.dt_days
        # The neighbours are looked at only when they decide: u below the probability at
        # m = 0 is senescent whatever they are, u at or above the one at m = 8 is not.
        if u < probability(hazard, dt):
            hit = True
        elif u >= probability(hazard + b, dt):
            hit = False
        else:
            new = m.new_senescent
            k = sum(
                1
                for other in self.cell.neighborhood.agents
                if other.state == SENESCENT and other not in new
            )
            hit = u < probability(hazard + b * k / 8, dt)
        if hit:
            m.new_senescent.add(self)
        return hit


class NaiveLatticeModel(NaiveTissueModel):
    """One tissue on a lattice, one ``CellAgent`` per cell on a Mesa ``OrthogonalMooreGrid``.

    The well-mixed model's processes with the lattice rules of the engine
    (cellsim/kernels/lattice.py), and nothing else changed:

    - grid: ``OrthogonalMooreGrid((width, height), torus=lattice.torus, capacity=1)`` with
      the model's ``self.random``; one founder per site; a site holds at most one cell;
    - stress senescence (3): a CYCLING cell's hazard gains ``bystander_per_day * m / 8``,
      ``m`` its senescent Moore neighbours (8 in the denominator on a bounded grid too) on
      the pattern as it stood when the process started: a cell that goes senescent during
      today's ``shuffle_do`` pass does not count for the cells visited after it;
    - replacement (6): the vacant sites are visited once a day in a uniformly random order
      (``self.random.shuffle``); each is refilled by the division of one of its Moore
      neighbours drawn with weight 1 if CYCLING or STEM, ``transformation.fitness`` if
      TRANSFORMED, among the cells present when the pass started (a site vacant then,
      refilled during the pass or not, gives no parent until the next day; a parent may
      divide into several adjacent vacancies); the daughter agent is placed on the vacant
      site. A vacancy with no competent neighbour stays empty (a tissue defect) and is
      tried again the next day.

    Fair, not a straw man: the vacant sites are kept in a list as cells die (no scan of
    the grid for ``empties``), and a cell looks at its neighbours for the bystander term
    only when they can change its fate (its uniform draw falls between the probabilities
    at 0 and 8 senescent neighbours, a fraction ~``bystander_per_day`` of its days).

    Args:
        tissue: the tissue's parameters; ``tissue.lattice`` must be set.
        run: clock, horizon and stopping rule, as for NaiveTissueModel.
        rng: seed for Mesa's ``self.random`` / ``self.rng``.
    """

    cell_class = LatticeCell

    def __init__(
        self, tissue: TissueParams, run: RunParams | None = None, *, rng: Any = None
    ) -> None:
        if tissue.lattice is None:
            raise ValueError("NaiveLatticeModel needs tissue.lattice (use NaiveTissueModel)")
        self.bystander_per_day = tissue.lattice.bystander_per_day
        self.vacancies: list[Any] = []  # vacant grid cells (sites), in no particular order
        self.new_senescent: set[Cell] = set()  # went senescent in today's process 3
        super().__init__(tissue, run, rng=rng)

    def found(self) -> list[Cell]:
        """Build the grid and put one founder on each site."""
        lat = self.tissue_params.lattice
        self.grid = OrthogonalMooreGrid(
            (lat.width, lat.height), torus=lat.torus, capacity=1, random=self.random
        )
        cells = super().found()
        for cell, site in zip(cells, self.grid.all_cells.cells, strict=True):
            cell.cell = site
        return cells

    def step(self) -> None:
        """Processes 1-4, 6 and 8 of one step (6 on the lattice)."""
        self.new_senescent.clear()
        super().step()

    def replace(self, n_vacancies: int) -> int:
        """Process 6 on the lattice: each vacant site, in random order, is refilled by a
        competent neighbour present at the start of the pass; returns the number filled."""
        vacancies = self.vacancies
        if not vacancies or self.pool_size() + self.n_state[TRANSFORMED] == 0:
            return 0
        self.random.shuffle(vacancies)
        vacant_at_start = set(vacancies)
        fitness, random = self.fitness, self.random.random
        still_vacant = []
        parents: list[Cell] = []
        weights: list[float] = []
        for site in vacancies:
            parents.clear()
            weights.clear()
            total = 0.0
            for cell in site.neighborhood.agents:
                s = cell.state
                if s == CYCLING or s == STEM:
                    w = 1.0
                elif s == TRANSFORMED:
                    w = fitness
                else:
                    continue
                if cell.cell in vacant_at_start:
                    continue  # arrived in this pass
                parents.append(cell)
                weights.append(w)
                total += w
            if total <= 0.0:
                still_vacant.append(site)
                continue
            u = random() * total
            j = 0
            acc = weights[0]
            while u >= acc and j < len(weights) - 1:
                j += 1
                acc += weights[j]
            parents[j].divide().cell = site
        self.vacancies = still_vacant
        return len(vacancies) - len(still_vacant)
