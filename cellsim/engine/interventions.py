"""Interventions as Mesa event schedules that act on tissues (docs/MODEL.md "Interventions").

Each intervention of ``ModelParams.interventions`` becomes an Action whose callbacks are
scheduled with ``Model.schedule_recurring`` / ``Model.schedule_event``. The firing rule,
for one-off and recurring events alike: an event at organism age a fires at the end of the
step that contains a, i.e. after step ``k = ceil((a - start) / dt)``, the first step
boundary at or after a (``AgingModel.step_of_day``, which treats an age within 1e-9 d of a
boundary as on it), at Mesa time k + 0.5, between step k and step k + 1. An age at or
before the run's start fires before the first step. The vacancies an action makes are
refilled by the next step's replacement. A recurring schedule's occurrences are at real
ages ``first + j * interval`` (``Occurrences``), each placed by that rule on its own, so a
fractional interval never drifts and two occurrences in one step both fire at its end.
Actions call the kernels of kernels/interventions.py with the model's Generator.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mesa.time import Schedule

from cellsim.engine.params import (
    CellState,
    FullReprogramming,
    Insult,
    PartialReprogramming,
    Senolytic,
    StemCellTransplant,
    TelomeraseTherapy,
)
from cellsim.kernels import interventions as intervention_kernels
from cellsim.kernels.layout import C_CLEARED_GENETIC, C_CLEARED_SENOLYTIC, P_TELOMERASE_STEM

if TYPE_CHECKING:
    from cellsim.engine.model import AgingModel
    from cellsim.engine.tissue import Tissue

EVENT_TOLERANCE_DAYS = 1e-9
"""An event age this close to a step boundary (days) is on it (``AgingModel.step_of_day``,
``Occurrences.count_until``): float rounding must not move an event by a step."""


class Action:
    """One scheduled intervention acting on a set of tissues."""

    def __init__(self, model: AgingModel, spec) -> None:
        self.model = model
        self.spec = spec
        names = spec.tissues or model.params.somatic_tissues()
        self.targets: list[Tissue] = [model.by_name[n] for n in names]
        self.fired = 0

    @property
    def label(self) -> str:
        """Display name."""
        return self.spec.label or self.spec.kind

    def schedule(self) -> None:
        """Register this action's events with the model."""
        raise NotImplementedError

    def _once(self, callback, day: float) -> None:
        """Schedule ``callback`` once, at organism age ``day`` (the firing rule above)."""
        self.model.schedule_event(callback, at=self.model.time_of_day(day))

    def restore(self) -> None:
        """Re-apply what a fired action changed outside the cells (a checkpoint holds the
        cells, not the tissues' parameter vectors); nothing for most actions."""

    def _recurring(
        self, callback, start_day: float, interval_days: float, end_day: float | None
    ) -> Occurrences | None:
        """Schedule ``callback`` at ages ``first + j * interval_days`` up to ``end_day``
        (inclusive), ``first`` being ``start_day``, or the run's start if that is later (a
        schedule that began before the run starts with it). Returns the occurrences (None
        when none is due)."""
        m = self.model
        first = max(start_day, m.age_days)
        occurrences = Occurrences(first, interval_days)
        count = None if end_day is None else occurrences.count_until(end_day)
        if count == 0:
            return None
        m.schedule_recurring(
            callback,
            Schedule(interval=occurrences, start=m.time_of_day(first), count=count),
        )
        return occurrences


class Occurrences:
    """The real ages ``first + j * interval`` (j = 0, 1, ...) of a recurring schedule, as a
    Mesa ``Schedule.interval``: Mesa calls it after occurrence j has fired and gets the Mesa
    time from there to occurrence j + 1 (``AgingModel.time_of_day`` of its age; 0 when both
    fall in the same step). Ages are computed from j, never summed."""

    def __init__(self, first_day: float, interval_days: float) -> None:
        self.first_day = first_day
        self.interval_days = interval_days
        self.j = 0
        """The occurrence pending, or firing now."""

    def day(self, j: int | None = None) -> float:
        """The real age of occurrence ``j`` (default: the current one), days."""
        return self.first_day + (self.j if j is None else j) * self.interval_days

    def count_until(self, end_day: float) -> int:
        """How many occurrences fall at or before ``end_day`` (within the clock's
        tolerance)."""
        limit = end_day + EVENT_TOLERANCE_DAYS
        if self.first_day > limit:
            return 0
        n = max(1, math.floor((limit - self.first_day) / self.interval_days) + 1)
        while n > 1 and self.day(n - 1) > limit:
            n -= 1
        while self.day(n) <= limit:
            n += 1
        return n

    def __call__(self, model: AgingModel) -> float:
        now = model.time_of_day(self.day())
        self.j += 1
        return model.time_of_day(self.day()) - now


class CourseAction(Action):
    """An intervention given in courses, every ``interval_days`` from ``start_age_days``
    until ``end_age_days``."""

    def schedule(self) -> None:
        s = self.spec
        self._occurrences = self._recurring(
            self.course, s.start_age_days, s.interval_days, s.end_age_days
        )

    def course(self) -> None:
        """One course."""
        raise NotImplementedError


class SenolyticAction(CourseAction):
    """Courses of daily doses; each dose kills senescent (and off-target) cells."""

    spec: Senolytic

    def course(self) -> None:
        """A course: a dose now, then one a day for the rest of the course, dose c at real
        age (course age + c), each firing by the rule at the end of the step containing it."""
        self.dose()
        m = self.model
        age = self._occurrences.day()
        for c in range(1, self.spec.course_days):
            m.schedule_event(self.dose, at=m.time_of_day(age + c))

    def dose(self) -> None:
        """One dose on every target tissue."""
        s = self.spec
        cause = C_CLEARED_GENETIC if s.cause == "genetic" else C_CLEARED_SENOLYTIC
        for t in self.targets:
            intervention_kernels.senolytic_dose(
                t.cells.state,
                t.cells.order,
                t.cells.pos,
                t.cells.seg,
                s.efficacy_per_dose,
                s.off_target_kill_per_dose,
                self.model.rng,
                t.counters,
                cause,
            )
        self.fired += 1


class InsultAction(Action):
    """A one-off senescence-inducing insult."""

    spec: Insult

    def schedule(self) -> None:
        """At the end of the step containing ``age_days`` (before the first step if that
        age is at or before the run's start)."""
        self._once(self.apply, self.spec.age_days)

    def apply(self) -> None:
        """Make the fraction of competent cells senescent."""
        for t in self.targets:
            intervention_kernels.insult(
                t.cells.state,
                t.cells.order,
                t.cells.pos,
                t.cells.seg,
                self.spec.fraction,
                self.model.rng,
                t.counters,
            )
        self.fired += 1


class FullReprogrammingAction(CourseAction):
    """OSKM courses converting a small fraction of cells to PLURIPOTENT."""

    spec: FullReprogramming

    def course(self) -> None:
        """One course on every target tissue."""
        day = self.model.age_days
        for t in self.targets:
            intervention_kernels.full_reprogramming(
                t.cells.arrays(),
                t.kernel_params,
                self.spec.efficiency_per_course,
                day,
                self.model.rng,
                t.counters,
            )
        self.fired += 1


class PartialReprogrammingAction(Action):
    """On/off cycles from the start age; each on-day acts on every cell of the targets.

    A cycle is a recurring event every ``on_days + off_days`` days that applies on-day 1 and
    schedules the rest of its on-days; continuous induction (no off-days) is one recurring
    daily event whose consecutive-day count keeps growing.
    """

    spec: PartialReprogramming

    def schedule(self) -> None:
        s = self.spec
        period = s.on_days + s.off_days
        self._consecutive = 0
        self._occurrences = self._recurring(
            self.cycle if s.off_days else self.continuous_day,
            s.start_age_days,
            float(period if s.off_days else 1),
            s.end_age_days,
        )

    def cycle(self) -> None:
        """On-day 1 of a cycle now, on-days 2..on_days at real ages (cycle age + 1), ...,
        each firing by the rule at the end of the step containing it."""
        self._consecutive = 1
        self.on_day(1)
        if self.spec.on_days > 1:
            m = self.model
            first = self._occurrences.day() + 1
            m.schedule_recurring(
                self.continuous_day,
                Schedule(
                    interval=Occurrences(first, 1.0),
                    start=m.time_of_day(first),
                    count=self.spec.on_days - 1,
                ),
            )

    def continuous_day(self) -> None:
        """One more day of continuous induction."""
        self._consecutive += 1
        self.on_day(self._consecutive)

    def on_day(self, consecutive_on_days: int) -> None:
        """Apply the ``consecutive_on_days``-th consecutive on-day."""
        s = self.spec
        day = self.model.age_days
        p_dediff = intervention_kernels.dedifferentiation_probability(
            s.dedifferentiation_probability_per_on_day, consecutive_on_days, s.identity_loss_days
        )
        for t in self.targets:
            intervention_kernels.partial_on_day(
                t.cells.arrays(),
                t.kernel_params,
                day,
                s.epigenetic_setback_days_per_on_day,
                s.telomere_gain_bp_per_on_day,
                p_dediff,
                self.model.rng,
                t.counters,
            )
        self.fired += 1


class TelomeraseTherapyAction(Action):
    """From the start age, the targets' STEM cells lose less per division."""

    spec: TelomeraseTherapy

    def schedule(self) -> None:
        self._once(self.apply, self.spec.start_age_days)

    def apply(self) -> None:
        """Scale each target's stem loss per division by ``1 - loss_reduction``."""
        self._set()
        self.fired += 1

    def _set(self) -> None:
        keep = 1.0 - self.spec.loss_reduction
        for t in self.targets:
            a = t.params.telomere.telomerase_stem
            t.kernel_params[P_TELOMERASE_STEM] = 1.0 - (1.0 - a) * keep

    def restore(self) -> None:
        if self.fired:
            self._set()


class TransplantAction(Action):
    """A one-off stem-cell transplant."""

    spec: StemCellTransplant

    def schedule(self) -> None:
        self._once(self.apply, self.spec.age_days)

    def apply(self) -> None:
        """Donor cells into the engrafted share of every target's slots; their clone ids
        start past any id the tissue used (``2 x slots``: founders use 0..n-1 and a
        supplying compartment's daughters keep its ids)."""
        s = self.spec
        for t in self.targets:
            founder = CellState.STEM if t.params.kind == "stem" else CellState.CYCLING
            intervention_kernels.transplant(
                t.cells.arrays(),
                t.kernel_params,
                s.fraction,
                s.donor_telomere_mean_bp,
                s.donor_telomere_sd_bp,
                int(founder),
                self.model.age_days,
                2 * t.cells.n_slots,
                self.model.rng,
            )
        self.fired += 1


ACTIONS: dict[str, type[Action]] = {
    "senolytic": SenolyticAction,
    "insult": InsultAction,
    "full_reprogramming": FullReprogrammingAction,
    "partial_reprogramming": PartialReprogrammingAction,
    "telomerase_therapy": TelomeraseTherapyAction,
    "transplant": TransplantAction,
}


def schedule_interventions(model: AgingModel) -> list[Action]:
    """Create and schedule the model's interventions; the model keeps the list (Mesa holds
    only weak references to callbacks)."""
    actions = []
    for spec in model.params.interventions:
        action = ACTIONS[spec.kind](model, spec)
        action.schedule()
        actions.append(action)
    return actions
