"""Interventions switched on and off while a model runs (the body view's switches).

A switch builds the engine's own intervention (``cellsim.engine.interventions``) starting
at the model's current age and schedules it as Mesa events: it acts from the end of the
current step on, by the engine's firing rule. Switching off stops its future doses or
courses (each action checks its ``on`` flag when it fires) and, for a telomerase
activator, puts the stem cells' telomerase back as it was. The arm's own interventions are
left as the scenario has them.

No Solara here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cellsim.engine.interventions import (
    FullReprogrammingAction,
    PartialReprogrammingAction,
    SenolyticAction,
    TelomeraseTherapyAction,
    TransplantAction,
)
from cellsim.engine.params import (
    FullReprogramming,
    PartialReprogramming,
    Senolytic,
    StemCellTransplant,
    TelomeraseTherapy,
)
from cellsim.kernels.layout import P_TELOMERASE_STEM

if TYPE_CHECKING:
    from cellsim.engine.model import AgingModel

STEM_SUPPORT = ("none", "telomerase", "transplant")
"""Stem-cell support: none, a telomerase activator in every stem compartment (stem cells
lose half as much per division), or a transplant of young donor cells (80% of each stem
compartment's slots, birth-length telomeres), given once."""
REPROGRAMMING = ("none", "partial", "full")
"""Reprogramming: none, cyclic partial (2 days on, 5 off; Ocampo 2016), or yearly full
OSKM courses reaching 0.1% of cells."""
TRANSPLANT_FRACTION = 0.8
LOSS_REDUCTION = 0.5


class _Senolytic(SenolyticAction):
    on = True

    def dose(self) -> None:
        if self.on:
            super().dose()


class _Full(FullReprogrammingAction):
    on = True

    def course(self) -> None:
        if self.on:
            super().course()


class _Partial(PartialReprogrammingAction):
    on = True

    def on_day(self, consecutive_on_days: int) -> None:
        if self.on:
            super().on_day(consecutive_on_days)


class _Telomerase(TelomeraseTherapyAction):
    on = True

    def __init__(self, model: AgingModel, spec: TelomeraseTherapy) -> None:
        super().__init__(model, spec)
        self.saved: dict[str, float] = {}

    def apply(self) -> None:
        if self.on:
            self.saved = {t.name: float(t.kernel_params[P_TELOMERASE_STEM]) for t in self.targets}
            super().apply()

    def switch_off(self) -> None:
        """Stop, and give back the telomerase the stem cells had before (once applied)."""
        self.on = False
        for t in self.targets:
            if t.name in self.saved:
                t.kernel_params[P_TELOMERASE_STEM] = self.saved[t.name]


@dataclass
class LiveInterventions:
    """The switches of one model and what they have started.

    ``senolytic`` (bool), ``senolytic_interval_days``, ``senolytic_efficacy``,
    ``stem_support`` (``STEM_SUPPORT``) and ``reprogramming`` (``REPROGRAMMING``) as last
    applied; ``log`` lists what was switched, at which age (years).
    """

    model: AgingModel
    senolytic: bool = False
    senolytic_interval_days: float = 30.0
    senolytic_efficacy: float = 0.5
    stem_support: str = "none"
    reprogramming: str = "none"
    log: list[str] = field(default_factory=list)
    _actions: dict[str, Any] = field(default_factory=dict)
    _retired: list[Any] = field(default_factory=list)

    @property
    def stem_tissues(self) -> list[str]:
        """The model's stem compartments (what stem-cell support acts on)."""
        return [t.name for t in self.model.params.tissues if t.kind == "stem"]

    def _start(self, key: str, action: Any) -> None:
        self._stop(key)
        action.schedule()
        self._actions[key] = action
        self.model.interventions.append(action)  # Mesa holds weak references only

    def _stop(self, key: str) -> None:
        action = self._actions.pop(key, None)
        if action is None:
            return
        if isinstance(action, _Telomerase):
            action.switch_off()
        action.on = False
        self._retired.append(action)  # kept alive: its pending events fire as no-ops

    def _note(self, text: str) -> None:
        self.log.append(f"{self.model.age_days / 365.25:.1f} y: {text}")

    def set_senolytic(self, on: bool, interval_days: float, efficacy: float) -> None:
        """A systemic senolytic (every somatic tissue) from now, one dose every
        ``interval_days`` killing each senescent cell with probability ``efficacy``; or
        none. Changing the schedule restarts it from now."""
        if not interval_days > 0 or not 0 <= efficacy <= 1:
            raise ValueError(
                f"senolytic: interval {interval_days!r} d must be > 0 and efficacy "
                f"{efficacy!r} in [0, 1]"
            )
        same = (on, interval_days, efficacy) == (
            self.senolytic,
            self.senolytic_interval_days,
            self.senolytic_efficacy,
        )
        if same:
            return
        self.senolytic, self.senolytic_interval_days, self.senolytic_efficacy = (
            on,
            interval_days,
            efficacy,
        )
        if not on:
            self._stop("senolytic")
            self._note("senolytic off")
            return
        spec = Senolytic(
            start_age_days=self.model.age_days,
            interval_days=float(interval_days),
            efficacy_per_dose=float(efficacy),
            label="senolytic (page)",
        )
        self._start("senolytic", _Senolytic(self.model, spec))
        self._note(f"senolytic every {interval_days:g} d, {efficacy:.0%} per dose")

    def set_stem_support(self, choice: str) -> None:
        """``STEM_SUPPORT``: a telomerase activator from now (until switched off), or a
        transplant now; ValueError for another choice or a model without stem cells."""
        if choice not in STEM_SUPPORT:
            raise ValueError(f"stem support = {choice!r}: must be one of {', '.join(STEM_SUPPORT)}")
        if choice == self.stem_support:
            return
        stems = self.stem_tissues
        if choice != "none" and not stems:
            raise ValueError(f"stem support = {choice!r}: this model has no stem compartment")
        self._stop("stem")
        self.stem_support = choice
        age = self.model.age_days
        if choice == "telomerase":
            spec = TelomeraseTherapy(
                start_age_days=age, loss_reduction=LOSS_REDUCTION, tissues=stems
            )
            self._start("stem", _Telomerase(self.model, spec))
            self._note(f"telomerase activator in {', '.join(stems)}")
        elif choice == "transplant":
            for name in stems:
                tel = self.model.by_name[name].params.telomere
                spec = StemCellTransplant(
                    age_days=age,
                    fraction=TRANSPLANT_FRACTION,
                    donor_telomere_mean_bp=tel.initial_mean_bp,
                    donor_telomere_sd_bp=tel.initial_sd_bp,
                    tissues=[name],
                )
                self._start(f"stem:{name}", TransplantAction(self.model, spec))
            self._note(f"transplant of young cells into {', '.join(stems)}")
        else:
            self._note("stem-cell support off")

    def set_reprogramming(self, choice: str) -> None:
        """``REPROGRAMMING`` from now on every somatic tissue, or none."""
        if choice not in REPROGRAMMING:
            raise ValueError(
                f"reprogramming = {choice!r}: must be one of {', '.join(REPROGRAMMING)}"
            )
        if choice == self.reprogramming:
            return
        self._stop("reprogramming")
        self.reprogramming = choice
        age = self.model.age_days
        if choice == "partial":
            spec = PartialReprogramming(start_age_days=age, label="partial (page)")
            self._start("reprogramming", _Partial(self.model, spec))
            self._note("cyclic partial reprogramming")
        elif choice == "full":
            spec = FullReprogramming(start_age_days=age, label="full (page)")
            self._start("reprogramming", _Full(self.model, spec))
            self._note("yearly full reprogramming, 0.1% of cells")
        else:
            self._note("reprogramming off")

    def fired(self) -> dict[str, int]:
        """How many times each running switch's action has fired (doses, courses)."""
        return {k: a.fired for k, a in self._actions.items()}
