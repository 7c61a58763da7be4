"""Interventions as Mesa event schedules that act on tissues (docs/MODEL.md "Interventions").

Each intervention of ``ModelParams.interventions`` becomes an Action whose callbacks are
scheduled with ``Model.schedule_recurring`` / ``Model.schedule_event``. An action "at age
d" fires between the step that ends on day d and the next one, so the vacancies it makes
are refilled by the next day's replacement. Actions call the kernels of
kernels/interventions.py with the model's Generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mesa.time import Schedule

from cellsim.engine.params import FullReprogramming, Insult, PartialReprogramming, Senolytic
from cellsim.kernels import interventions as intervention_kernels
from cellsim.kernels.layout import C_CLEARED_GENETIC, C_CLEARED_SENOLYTIC

if TYPE_CHECKING:
    from cellsim.engine.model import AgingModel
    from cellsim.engine.tissue import Tissue


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

    def _recurring(self, callback, start_day: float, interval_days: float, end_day) -> None:
        m = self.model
        start = max(start_day, m.age_days)
        end = None if end_day is None else m.time_of_day(end_day)
        if end is not None and end < m.time_of_day(start):
            return
        m.schedule_recurring(
            callback,
            Schedule(interval=interval_days / m.dt_days, start=m.time_of_day(start), end=end),
        )


class CourseAction(Action):
    """An intervention given in courses, every ``interval_days`` from ``start_age_days``
    until ``end_age_days``."""

    def schedule(self) -> None:
        s = self.spec
        self._recurring(self.course, s.start_age_days, s.interval_days, s.end_age_days)

    def course(self) -> None:
        """One course."""
        raise NotImplementedError


class SenolyticAction(CourseAction):
    """Courses of daily doses; each dose kills senescent (and off-target) cells."""

    spec: Senolytic

    def course(self) -> None:
        """A course: today's dose, then one a day for the rest of the course."""
        self.dose()
        for c in range(1, self.spec.course_days):
            self.model.schedule_event(self.dose, after=c / self.model.dt_days)

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
        m = self.model
        if self.spec.age_days >= m.age_days:
            m.schedule_event(self.apply, at=m.time_of_day(self.spec.age_days))

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
        self._recurring(
            self.cycle if s.off_days else self.continuous_day,
            s.start_age_days,
            float(period if s.off_days else 1),
            s.end_age_days,
        )

    def cycle(self) -> None:
        """On-day 1 of a cycle now, on-days 2..on_days on the following days."""
        self._consecutive = 1
        self.on_day(1)
        if self.spec.on_days > 1:
            m = self.model
            m.schedule_recurring(
                self.continuous_day,
                Schedule(
                    interval=1 / m.dt_days,
                    start=m.time + 1 / m.dt_days,
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


ACTIONS: dict[str, type[Action]] = {
    "senolytic": SenolyticAction,
    "insult": InsultAction,
    "full_reprogramming": FullReprogrammingAction,
    "partial_reprogramming": PartialReprogrammingAction,
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
