"""The naive reference: the tissue written the idiomatic Mesa 3.5 way, well-mixed and on a lattice.

One ``mesa.Agent`` per cell, ``agent.remove()`` on death and clearance, a new ``Cell`` for
every daughter. It is the speed baseline of ``benchmarks/bench.py`` and an independent
second implementation of the engine's well-mixed tissue (``NaiveTissueModel``;
cellsim/kernels/events.py and day.py) and of its lattice (``NaiveLatticeModel``, one
``mesa.discrete_space.CellAgent`` per cell on an ``OrthogonalMooreGrid``; see its
docstring), checked against them in ``tests/test_naive_reference.py``. It shares nothing
with the engine but the parameter models of ``cellsim.engine.params`` (and never imports
the kernels), and it draws from the model's own ``self.random`` (Python's Mersenne
Twister, seeded by Mesa from ``rng``), not from the engine's numpy Generator.

The tissue is a continuous-time Markov chain (docs/MODEL.md's processes, the engine's
parameter names), simulated exactly by Gillespie's direct method, so the result does not
depend on ``dt``, which only sets when failures are looked for. Step ``k`` runs from day
``start + (k - 1) * dt`` to ``start + k * dt`` (``k`` is Mesa's ``self.steps``):

1. vacancies present at the start of the step are filled at once (process 6; there are
   any only where no parent could be found when they arose; see the lattice model);
2. then, event after event until the end of the step: the waiting time to the next event
   is exponential at the total rate of all possible events, and the event is one of them
   drawn in proportion to its rate:

   - turnover (2): each CYCLING, STEM (and PLURIPOTENT) cell dies at
     ``1 / lifespan_days``, each TRANSFORMED one at ``1 / (lifespan_days *
     transformation.lifespan_factor)``; SENESCENT cells resist apoptosis;
   - stress senescence (3): each CYCLING cell becomes SENESCENT at hazard
     ``stress.rate_per_day + age_slope * age_years + epigenetic_slope *
     epigenetic_age_years`` of the organism's and the cell's epigenetic age *at the
     instant of the event* (the slopes are 0 when ``stress.age_dependent`` is false). The
     hazard grows within the step, so candidates come at its bound over the step (the
     hazard at the step's end with the oldest clock a cell can have) and each is kept with
     probability hazard / bound (thinning, Lewis & Shedler 1979: exact);
   - immune clearance (4): each SENESCENT cell is removed at ``r0 / (1 + s / K)``, ``s``
     the senescent cells over the ``n_cells`` slots *at that instant* (``r0`` when
     ``clearance.saturating`` is false);
   - replacement (6): the vacancy a death or a clearance leaves is refilled at that
     instant by the division of a competent cell drawn at random (CYCLING or STEM weight
     1, TRANSFORMED weight ``transformation.fitness``; none: it stays vacant); both
     daughters lose ``max(0, Normal(loss_mean_bp, loss_sd_bp)) * (1 - telomerase)`` bp,
     independently, from the parent's pre-division length; a CYCLING daughter becomes
     TRANSFORMED with ``probability_per_division``, otherwise a daughter below
     ``senescence_threshold_bp`` becomes SENESCENT. The parent agent stays on as one
     daughter; the other is a new agent, with the parent's epigenetic clock and clone;

3. failure detection (8): pool exhaustion is the first step end with no CYCLING or STEM
   cell; failure and neoplasia as in the engine.

Epigenetic clocks: a cell keeps the day its clock read zero (``epi_origin_day``; the
founders' clocks read the organism's age), so its epigenetic age is the time since, and
no per-cell clock is advanced.

Not modelled (the engine does them through interventions): scheduled interventions (5),
PLURIPOTENT cells, stem-compartment supply, in vitro culture. The lattice model changes
processes 3 and 6 only (NaiveLatticeModel).

Implementation notes, so that the baseline is idiomatic but not a straw man: the model
keeps one list of agents per state, each agent its place in its list, so a random cell of
a state is one ``self.random`` draw and a change of state is a swap-remove plus an append
(O(1)); the rates are read off the lengths of the lists. A step costs work per event, not
per cell: no pass over ``model.agents``.

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


class Cell(mesa.Agent):
    """One cell: docs/MODEL.md's cell state as attributes. ``place`` is its index in the
    model's list of the cells of its state (``model.cells_in[state]``)."""

    def __init__(
        self,
        model: NaiveTissueModel,
        state: int,
        telomere_bp: float,
        divisions: int,
        epi_origin_day: float,
        clone: int,
    ) -> None:
        super().__init__(model)
        self.state = state
        self.telomere_bp = telomere_bp
        self.divisions = divisions
        self.epi_origin_day = epi_origin_day
        self.clone = clone
        same = model.cells_in[state]
        self.place = len(same)
        same.append(self)

    @property
    def epigenetic_age_days(self) -> float:
        """Epigenetic age now (at the model's current instant)."""
        return self.model.now_days - self.epi_origin_day

    # --- state bookkeeping -----------------------------------------------------------
    def unlist(self) -> None:
        """Leave the list of the cells of its state: the last one takes its place."""
        same = self.model.cells_in[self.state]
        last = same.pop()
        if last is not self:
            same[self.place] = last
            last.place = self.place

    def set_state(self, new_state: int) -> None:
        """Change state, moving to the list of the new state."""
        self.unlist()
        self.state = new_state
        same = self.model.cells_in[new_state]
        self.place = len(same)
        same.append(self)

    def die(self, counter: str) -> None:
        """Leave the tissue (apoptosis or clearance): the slot becomes a vacancy."""
        self.unlist()
        self.model.counters[counter] += 1
        self.remove()

    # --- process 3 ---------------------------------------------------------------------
    def stress_hazard_per_day(self, day: float) -> float:
        """This CYCLING cell's own stress hazard on ``day`` (organism age, its clock)."""
        m = self.model
        return (
            m.stress_rate_per_day
            + m.stress_age_slope_per_day * (day / DAYS_PER_YEAR)
            + m.stress_epi_slope_per_day * ((day - self.epi_origin_day) / DAYS_PER_YEAR)
        )

    def stress_senesces(self, day: float, v: float) -> bool:
        """Thinning of a stress candidate: ``v`` is uniform on [0, the bound); the cell
        senesces when ``v`` falls below its hazard on ``day``."""
        return v < self.stress_hazard_per_day(day)

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
            epi_origin_day=self.epi_origin_day,
            clone=self.clone,
        )
        self.settle(lineage)
        daughter.settle(lineage)
        return daughter

    def settle(self, lineage: int) -> None:
        """A daughter's state after division (a draw for transformation in a CYCLING
        lineage only, then the telomere threshold)."""
        m = self.model
        if lineage == TRANSFORMED:
            return
        if lineage == CYCLING and m.random.random() < m.transformation_probability:
            self.set_state(TRANSFORMED)
            m.counters["transformations"] += 1
        elif self.telomere_bp < m.threshold_bp:
            self.set_state(SENESCENT)
            m.counters["replicative_senescence"] += 1


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
        self.start_day = run.start_age_days
        self.age_days = run.start_age_days  # at the end of the last step
        self.now_days = run.start_age_days  # the current instant (within a step)
        self.end_day = run.start_age_days + run.horizon_days

        tel, stress, clr, tr = (
            tissue.telomere,
            tissue.stress,
            tissue.clearance,
            tissue.transformation,
        )
        self.death_rate_per_day = 1.0 / tissue.lifespan_days
        self.transformed_death_rate_per_day = 1.0 / (tissue.lifespan_days * tr.lifespan_factor)
        self.stress_rate_per_day = stress.rate_per_day
        age_dependent = stress.age_dependent
        self.stress_age_slope_per_day = stress.age_slope_per_day_per_year if age_dependent else 0.0
        self.stress_epi_slope_per_day = (
            stress.epigenetic_slope_per_day_per_year if age_dependent else 0.0
        )
        self.clearance_rate_per_day = clr.rate_per_day
        self.half_saturation_fraction = clr.half_saturation_fraction if clr.saturating else math.inf
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

        self.cells_in: list[list[Cell]] = [[] for _ in range(N_STATES)]  # EMPTY's stays empty
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.event_days: dict[str, float | None] = dict.fromkeys(EVENTS)
        # Every clock is a founder's or inherited from one: none started before this day.
        self.earliest_epi_origin_day = 0.0

        self.found()

    def found(self) -> list[Cell]:
        """Found the tissue: one cell per slot, telomeres ~ Normal(initial mean, sd), one
        clone each, SENESCENT if already below the threshold, epigenetic clocks reading the
        organism's age (started at its birth, day 0). Returns them in slot order."""
        tissue, tel = self.tissue_params, self.tissue_params.telomere
        founder = STEM if tissue.kind == "stem" else CYCLING
        cells = []
        for i in range(self.n_cells):
            bp = max(0.0, self.random.gauss(tel.initial_mean_bp, tel.initial_sd_bp))
            state = SENESCENT if bp < self.threshold_bp else founder
            cells.append(self.cell_class(self, state, bp, 0, self.earliest_epi_origin_day, i))
        return cells

    # --- one step ------------------------------------------------------------------------
    def step(self) -> None:
        """One step (Mesa's ``self.steps``-th): vacancies left over are filled, then the
        events of the step in continuous time, then failure detection (8)."""
        t0 = self.start_day + (self.steps - 1) * self.dt_days
        t1 = self.start_day + self.steps * self.dt_days
        self.now_days = t0
        self.close_vacancies()
        self.continuous_events(t0, t1)
        self.age_days = self.now_days = t1
        self.detect_events()
        if self.should_stop():
            self.running = False

    def stress_bound_per_day(self, t0: float, t1: float) -> float:
        """A bound of every CYCLING cell's stress hazard from day ``t0`` to ``t1``: the
        hazard grows with organism and epigenetic age (the slopes are >= 0), so it is the
        hazard on ``t1`` of a cell with the oldest possible clock."""
        return (
            self.stress_rate_per_day
            + self.stress_age_slope_per_day * (t1 / DAYS_PER_YEAR)
            + self.stress_epi_slope_per_day
            * (max(t1 - self.earliest_epi_origin_day, 0.0) / DAYS_PER_YEAR)
        )

    def continuous_events(self, t0: float, t1: float) -> int:
        """Processes 2, 3, 4 and 6 from day ``t0`` to ``t1`` by Gillespie's direct method;
        returns the number of events drawn (stress candidates included)."""
        random = self.random.random
        expovariate = self.random.expovariate
        randrange = self.random.randrange
        cells_in, counters = self.cells_in, self.counters
        cycling, stem, pluripotent = cells_in[CYCLING], cells_in[STEM], cells_in[PLURIPOTENT]
        transformed, senescent = cells_in[TRANSFORMED], cells_in[SENESCENT]
        death, death_transformed = self.death_rate_per_day, self.transformed_death_rate_per_day
        r0, k_slots = self.clearance_rate_per_day, self.half_saturation_fraction * self.n_cells
        bound = self.stress_bound_per_day(t0, t1)
        t = t0
        n_events = 0
        while True:
            n_cyc, n_sen = len(cycling), len(senescent)
            r_death = death * (n_cyc + len(stem) + len(pluripotent))
            r_death_transformed = death_transformed * len(transformed)
            r_stress = bound * n_cyc
            r_clear = r0 / (1.0 + n_sen / k_slots) * n_sen
            total = r_death + r_death_transformed + r_stress + r_clear
            if total <= 0.0:
                break
            t += expovariate(total)
            if t > t1:
                break
            self.now_days = t
            n_events += 1
            u = random() * total
            if u < r_death:  # a CYCLING, STEM or PLURIPOTENT cell dies
                j = randrange(n_cyc + len(stem) + len(pluripotent))
                if j < n_cyc:
                    victim = cycling[j]
                elif j < n_cyc + len(stem):
                    victim = stem[j - n_cyc]
                else:
                    victim = pluripotent[j - n_cyc - len(stem)]
                self.fill(self.vacate(victim, "deaths"))
                continue
            u -= r_death
            if u < r_death_transformed:
                self.fill(self.vacate(transformed[randrange(len(transformed))], "deaths"))
                continue
            u -= r_death_transformed
            if u < r_stress or n_sen == 0:  # a stress candidate (rounding lands here too)
                if n_cyc == 0:
                    continue
                cell = cycling[randrange(n_cyc)]
                if cell.stress_senesces(t, random() * bound):
                    cell.set_state(SENESCENT)
                    counters["stress_senescence"] += 1
                continue
            self.fill(self.vacate(senescent[randrange(n_sen)], "cleared_immune"))  # clearance
        self.now_days = t1
        return n_events

    # --- process 6 ---------------------------------------------------------------------
    def vacate(self, cell: Cell, counter: str) -> Any:
        """Remove ``cell`` (death or clearance); returns its vacancy (well-mixed: None)."""
        cell.die(counter)
        return None

    def fill(self, vacancy: Any) -> bool:
        """Refill a vacancy at once by the division of a competent cell of the tissue;
        False when there is none (the slot stays vacant)."""
        parent = self.draw_parent()
        if parent is None:
            return False
        parent.divide()
        return True

    def draw_parent(self) -> Cell | None:
        """A competent cell: CYCLING/STEM with weight 1, TRANSFORMED with weight fitness."""
        cycling, stem = self.cells_in[CYCLING], self.cells_in[STEM]
        transformed = self.cells_in[TRANSFORMED]
        n_cyc = len(cycling)
        n_norm = n_cyc + len(stem)
        total = n_norm + self.fitness * len(transformed)
        if total <= 0.0:
            return None
        u = self.random.random() * total
        if u < n_norm:
            j = min(int(u), n_norm - 1)
            return cycling[j] if j < n_cyc else stem[j - n_cyc]
        return transformed[min(int((u - n_norm) / self.fitness), len(transformed) - 1)]

    def close_vacancies(self) -> int:
        """Fill the vacancies present at the start of a step, one at a time; returns the
        number filled."""
        return self.replace(self.n_cells - len(self.agents))

    def replace(self, n_vacancies: int) -> int:
        """Refill up to ``n_vacancies`` vacancies one at a time; returns the number filled."""
        filled = 0
        while filled < n_vacancies and self.fill(None):
            filled += 1
        return filled

    # --- failure detection ---------------------------------------------------------------
    def pool_size(self) -> int:
        """CYCLING + STEM cells."""
        return len(self.cells_in[CYCLING]) + len(self.cells_in[STEM])

    def detect_events(self) -> None:
        """Record the first day of exhaustion, failure and neoplasia."""
        n = self.n_cells
        pool = self.pool_size()
        reached = {
            "exhaustion": pool == 0,
            "failure": pool < self.failure.functional_fraction_min * n,
            "neoplasia": len(self.cells_in[TRANSFORMED]) > self.failure.neoplasia_fraction * n,
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
            can_change = self.pool_size() + len(self.cells_in[TRANSFORMED]) > 0
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
        out = {s.name: len(self.cells_in[s]) for s in CellState}
        out["EMPTY"] = self.n_cells - len(self.agents)
        return out


# --- the lattice tissue ------------------------------------------------------------------
class LatticeCell(Cell, CellAgent):
    """A cell on a site of the lattice: a ``Cell`` that is also a Mesa ``CellAgent``
    (``self.cell`` is its site; ``remove()`` also leaves the site)."""

    def stress_senesces(self, day: float, v: float) -> bool:
        """Thinning with the bystander term: hazard ``+ bystander_per_day * m / 8``, ``m``
        the senescent Moore neighbours at this instant (8 in the denominator on a bounded
        grid too). The neighbours are looked at only when they decide: ``v`` below the
        hazard at m = 0 senesces whatever they are, ``v`` at or above the one at m = 8
        does not."""
        b = self.model.bystander_per_day
        h = self.stress_hazard_per_day(day)
        if v < h:
            return True
        if v >= h + b:
            return False
        m = sum(1 for other in self.cell.neighborhood.agents if other.state == SENESCENT)
        return v < h + b * m / 8


class NaiveLatticeModel(NaiveTissueModel):
    """One tissue on a lattice, one ``CellAgent`` per cell on a Mesa ``OrthogonalMooreGrid``.

    The well-mixed model's processes with the lattice rules of the engine, and nothing
    else changed:

    - grid: ``OrthogonalMooreGrid((width, height), torus=lattice.torus, capacity=1)`` with
      the model's ``self.random``; one founder per site; a site holds at most one cell;
    - stress senescence (3): a CYCLING cell's hazard gains ``bystander_per_day * m / 8``,
      ``m`` its senescent Moore neighbours at the instant of the event (8 in the
      denominator on a bounded grid too); the bound of the thinning adds
      ``bystander_per_day``;
    - replacement (6), at the instant a death or a clearance leaves a site vacant: the
      division of one of its Moore neighbours present then, drawn with weight 1 if CYCLING
      or STEM, ``transformation.fitness`` if TRANSFORMED; the daughter agent is placed on
      the site. With no competent neighbour the site stays vacant (a tissue defect) until
      the start of the next step;
    - at the start of each step, the vacant sites are filled by passes: each pass visits
      them in a uniformly random order (``self.random.shuffle``) and refills each from its
      competent neighbours among the cells present when the pass started (a site vacant
      then, refilled during the pass or not, gives no parent in that pass; a parent's
      competence is judged when its vacancy is visited; a parent may divide into several
      adjacent vacancies); passes are repeated until one fills nothing, so a hole closes
      ring by ring from its rim, and what stays vacant has no competent cell around it.

    The vacant sites are kept in a list as they arise (no scan of the grid for empties).

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

    def stress_bound_per_day(self, t0: float, t1: float) -> float:
        """The well-mixed bound plus the bystander term with 8 senescent neighbours."""
        return super().stress_bound_per_day(t0, t1) + self.bystander_per_day

    def vacate(self, cell: Cell, counter: str) -> Any:
        """Remove ``cell``; returns its site, now vacant."""
        site = cell.cell
        cell.die(counter)
        return site

    def neighbour_parent(self, site: Any, excluded: set[Any] | None = None) -> Cell | None:
        """A competent Moore neighbour of ``site``, drawn with weight 1 if CYCLING or STEM,
        the fitness if TRANSFORMED, skipping cells on the sites in ``excluded``; None if
        there is none."""
        fitness = self.fitness
        parents: list[Cell] = []
        weights: list[float] = []
        total = 0.0
        for cell in site.neighborhood.agents:
            s = cell.state
            if s == CYCLING or s == STEM:
                w = 1.0
            elif s == TRANSFORMED:
                w = fitness
            else:
                continue
            if excluded is not None and cell.cell in excluded:
                continue
            parents.append(cell)
            weights.append(w)
            total += w
        if total <= 0.0:
            return None
        u = self.random.random() * total
        j = 0
        acc = weights[0]
        while u >= acc and j < len(weights) - 1:
            j += 1
            acc += weights[j]
        return parents[j]

    def fill(self, vacancy: Any) -> bool:
        """Refill the vacant site at once from its competent neighbours; with none, it
        stays vacant (a defect, filled at the start of a later step if it can be)."""
        parent = self.neighbour_parent(vacancy)
        if parent is None:
            self.vacancies.append(vacancy)
            return False
        parent.divide().cell = vacancy
        return True

    def close_vacancies(self) -> int:
        """Fill the vacant sites at the start of a step, by passes until a pass fills
        nothing (see the class docstring); returns the number filled."""
        filled = 0
        while True:
            k = self.replace_pass()
            if k == 0:
                return filled
            filled += k

    def replace_pass(self) -> int:
        """One pass over the vacant sites, in random order: each is refilled by a competent
        neighbour present at the start of the pass; returns the number filled."""
        vacancies = self.vacancies
        if not vacancies or self.pool_size() + len(self.cells_in[TRANSFORMED]) == 0:
            return 0
        self.random.shuffle(vacancies)
        vacant_at_start = set(vacancies)
        still_vacant = []
        for site in vacancies:
            parent = self.neighbour_parent(site, vacant_at_start)
            if parent is None:
                still_vacant.append(site)
            else:
                parent.divide().cell = site
        self.vacancies = still_vacant
        return len(vacancies) - len(still_vacant)

    def replace(self, n_vacancies: int) -> int:
        """Refill the vacant sites (all of them: ``n_vacancies`` is not used on a lattice)
        by ``close_vacancies``; returns the number filled."""
        return self.close_vacancies()
