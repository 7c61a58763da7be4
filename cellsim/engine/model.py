"""AgingModel: the Mesa model that owns the clock, tissues, interventions and recording."""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from cellsim.engine.interventions import EVENT_TOLERANCE_DAYS, schedule_interventions
from cellsim.engine.mesa_adapter import (
    collector_state,
    next_event_time,
    restore_collector,
    step_schedule_paused,
)
from cellsim.engine.params import ModelParams, TissueParams, with_overrides
from cellsim.engine.schema import EVENTS
from cellsim.engine.tissue import Tissue
from cellsim.io import CheckpointError, read_checkpoint, write_checkpoint
from cellsim.kernels import day as day_kernels
from cellsim.kernels.layout import P_CLEARANCE_HALF_SATURATION, P_DEATH_RATE_PER_DAY

TRAJECTORY_KEYS_PRIMARY = (
    "day",
    "age_years",
    "functional_fraction",
    "senescent_fraction",
    "transformed_fraction",
    "pool_size",
    "telomere_mean_bp",
    "divisions_left_mean",
    "divisions_cumulative",
)
CELL_ARRAYS = (
    "state",
    "telomere_bp",
    "divisions",
    "epi_origin_day",
    "clone",
    "order",
    "pos",
    "seg",
)
"""Names of ``CellPopulation.arrays()`` in a checkpoint, in that order."""
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
"""The numpy bit generators a checkpoint may name."""


def immune_coupling(
    params: ModelParams, n_slots: list[int]
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The shared immune system as the day kernels take it (``kernels.events.shared_rates``),
    or None when each tissue's clearance saturates in its own burden (``immune.shared``
    false). Per tissue: its weight in the body's senescent fraction (scale factor
    ``cells_in_body / n_slots`` over the body's weighted slots; 0 for a tissue outside
    ``immune.tissues``) and whether its clearance saturates (1) or not (0); then the
    body's half-saturation fraction.

    Args:
        params: the model's parameters (its ``immune`` block and tissues).
        n_slots: each tissue's slots (cells), in the order of ``params.tissues``.

    Returns:
        ``(weight, saturates, K)`` (arrays of one entry per tissue, and the body's
        half-saturation fraction), or None.
    """
    immune = params.immune
    if not immune.shared or len(params.tissues) == 1:
        return None  # a body of one tissue: its own burden is the body's (see __init__)
    weight = burden_weights(params, n_slots, immune.tissues)
    saturates = np.array([1.0 if t.clearance.saturating else 0.0 for t in params.tissues])
    return weight, saturates, float(immune.half_saturation_fraction)


def burden_weights(
    params: ModelParams, n_slots: list[int], counted: list[str] | None = None
) -> np.ndarray:
    """Per tissue, the weight of one senescent slot in the body's senescent fraction: its
    scale factor ``cells_in_body / n_slots`` (1 without a real size) over the body's
    scaled slots, 0 for a tissue outside ``counted`` (None: every tissue).

    Args:
        params: the model's parameters (its tissues, in order).
        n_slots: each tissue's slots (cells), in the order of ``params.tissues``.
        counted: the tissues in the burden (None: all).

    Returns:
        One weight per tissue (1 / cells; the weighted senescent counts sum to a fraction).
    """
    names = set(counted or [t.name for t in params.tissues])
    scale = np.array(
        [
            (t.cells_in_body / n if t.cells_in_body is not None else 1.0)
            if t.name in names
            else 0.0
            for t, n in zip(params.tissues, n_slots, strict=True)
        ]
    )
    return scale / float(np.dot(scale, np.asarray(n_slots, dtype=np.float64)))


def _primary_value(model: AgingModel, key: str) -> Any:
    return model.primary.last_record[key]


def _tissue_name(tissue: Tissue) -> str:
    return tissue.name


def _tissue_record(tissue: Tissue) -> dict[str, Any]:
    return dict(tissue.last_record)


class AgingModel(mesa.Model):
    """An organism's tissues advanced a step (``dt_days``) at a time.

    Each step runs docs/MODEL.md's processes in a fixed order: the clock advances (1); every
    tissue loses cells to turnover (2), stress senescence (3) and immune clearance (4);
    vacancies are refilled by division (6), first from stem compartments, then locally;
    failures are detected (8). Scheduled interventions (5) are Mesa events that fire
    between steps (see ``step_of_day``): an intervention at age d fires at the end of the
    step that contains d (the first step boundary at or after d; before the first step if
    d is at or before the start), acts on the tissue as it stands there, before the next
    step's turnover, and the vacancies it makes are refilled by that next step's
    replacement.

    Args:
        params: the run's parameters (defaults: one dermal-fibroblast-like tissue).
        rng: seed or Generator; the model's Generator drives every kernel.
        **overrides: flat parameter overrides, e.g. ``lifespan_days=360`` (see
            ``cellsim.engine.params.with_overrides``), so that ``mesa.batch_run`` can vary them.
    """

    def __init__(
        self,
        params: ModelParams | None = None,
        *,
        rng: Any = None,
        **overrides: Any,
    ) -> None:
        super().__init__(rng=rng)
        self.params = with_overrides(params or ModelParams(), overrides)
        run = self.params.run
        self.dt_days = run.dt_days
        self.step_count = 0
        """Steps taken: the clock reads ``start_age_days + step_count * dt_days`` exactly."""
        self.age_days = run.start_age_days
        self.stop_reason: str | None = None
        """Why the run stopped (``schema.STOP_REASONS``); None while it can go on."""
        self.end_day = run.start_age_days + run.horizon_days
        self.tissues: list[Tissue] = [Tissue(self, tp) for tp in self.params.tissues]
        """The organism's tissues (Mesa agents), in the order of ``params.tissues``."""
        self.by_name = {t.name: t for t in self.tissues}
        self._last_record_day = self.age_days
        somatic = [t for t in self.tissues if t.params.kind == "somatic"]
        self.primary = somatic[0] if somatic else self.tissues[0]
        for t in self.tissues:
            if t.params.supply_from is not None:
                t.source = self.by_name[t.params.supply_from]
                t.clone_offset = t.cells.n_slots
                if t.params.initial_from_supply:
                    t.found_from_supply(self.rng)
        # a stem division clock's events run in the linked loop (kernels/events.py)
        self.has_supply = any(
            t.source is not None or t.params.stem_divisions is not None for t in self.tissues
        )
        # kernels/day.py: tissues in one call share a geometry form; supply links or None
        if any(t.lattice is not None for t in self.tissues):
            for t in self.tissues:
                t.use_grid_geometry()
        # the tissues as the day kernels take them (their arrays are never reallocated)
        self._kernel_tissues = tuple(t.kernel_view() for t in self.tissues)
        index = {t.name: k for k, t in enumerate(self.tissues)}
        self._links = None
        if self.has_supply:
            self._links = (
                np.array(
                    [index[t.source.name] if t.source is not None else -1 for t in self.tissues],
                    dtype=np.int64,
                ),
                np.array([t.params.supply_share for t in self.tissues], dtype=np.float64),
                np.array([t.clone_offset for t in self.tissues], dtype=np.int64),
            )
        self._immune = immune_coupling(self.params, [t.cells.n_slots for t in self.tissues])
        if self.params.immune.shared and len(self.tissues) == 1:
            # the body's burden is this tissue's: its clearance saturates at the body's K
            only = self.tissues[0]
            if only.params.clearance.saturating:
                only.kernel_params[P_CLEARANCE_HALF_SATURATION] = (
                    self.params.immune.half_saturation_fraction
                )
        # childhood turnover (TissueParams.childhood_turnover): (tissue, adult death rate)
        self._childhood = [
            (t, 1.0 / t.params.lifespan_days)
            for t in self.tissues
            if t.params.childhood_turnover.active
        ]
        self._childhood_until = max(
            (t.params.childhood_turnover.active_until_days() for t, _ in self._childhood),
            default=-math.inf,
        )
        self._update_watch()
        self.interventions = schedule_interventions(self)
        self._next_record_day = self.age_days
        # module-level reporters (no lambdas); checkpoints save the records they collect
        self.datacollector = mesa.DataCollector(
            model_reporters={
                k: functools.partial(_primary_value, key=k) for k in TRAJECTORY_KEYS_PRIMARY
            },
            agent_reporters={"tissue": _tissue_name, "record": _tissue_record},
        )
        self._record()

    # --- time ------------------------------------------------------------------------
    def step_of_day(self, day: float) -> int:
        """The step after which an event at organism age ``day`` fires: the first step count
        k whose boundary ``day_after(k) = start + k * dt`` is at or after ``day``, i.e. the
        end of the step that contains ``day`` (k = ceil((day - start) / dt)). An age within
        ``EVENT_TOLERANCE_DAYS`` of a boundary counts as on it (float rounding: 25567.5 +
        3 * 0.1 is a boundary); an age at or before the start gives 0 (before the first
        step).

        Args:
            day: organism age (days).

        Returns:
            The step count after which an event at ``day`` fires.
        """
        start = self.params.run.start_age_days
        if day <= start + EVENT_TOLERANCE_DAYS:
            return 0
        k = max(1, math.ceil((day - start) / self.dt_days))
        # the division can round across a boundary: settle k on the clock's own boundaries
        while k > 1 and self.day_after(k - 1) >= day - EVENT_TOLERANCE_DAYS:
            k -= 1
        while self.day_after(k) < day - EVENT_TOLERANCE_DAYS:
            k += 1
        return k

    def time_of_day(self, day: float) -> float:
        """Mesa time of an event at organism age ``day``: ``step_of_day(day) + 0.5``. Step k
        runs at Mesa time k, so the event fires after step k (the end of the step that
        contains ``day``) and before step k + 1: it acts on the tissue as it stands at the
        boundary ``start + k * dt``, before the next step's processes.

        Args:
            day: organism age (days).

        Returns:
            Mesa time (steps + 0.5).
        """
        return self.step_of_day(day) + 0.5

    def step(self) -> None:
        """Advance every tissue by one step of ``dt_days`` (the day of kernels/day.py)."""
        self._advance_days(1)
        self._after_steps(1)

    def _advance_days(self, n_days: int) -> int:
        """Up to ``n_days`` steps of every tissue in one call of ``kernels.day.advance_days``,
        stopping after a step on which a failure not yet recorded is reached. Returns the
        steps run; the caller moves the clock. While a tissue's childhood turnover is on,
        one step at a time, at the tissues' death rates averaged over that step."""
        if self._childhood:
            n_days = self._set_childhood_rates(n_days)
        return int(
            day_kernels.advance_days(
                self._kernel_tissues,
                self._links,
                self.params.run.start_age_days,
                self.step_count,
                self.dt_days,
                n_days,
                *self._watch,
                self.rng,
                self._immune,
            )
        )

    def _set_childhood_rates(self, n_days: int) -> int:
        """Set the death rate of each tissue with a childhood turnover for the next step
        (the adult rate times ``ChildhoodTurnoverParams.mean_factor`` over the step, the
        adult rate itself once past ``active_until_days``); return the steps the next
        kernel call may run: 1 in childhood (each step its own rate), else ``n_days``."""
        start = self.age_days
        if start >= self._childhood_until:
            for t, adult in self._childhood:
                t.kernel_params[P_DEATH_RATE_PER_DAY] = adult
            return n_days
        end = self.day_after(self.step_count + 1)
        for t, adult in self._childhood:
            factor = t.params.childhood_turnover.mean_factor(start, end)
            t.kernel_params[P_DEATH_RATE_PER_DAY] = adult * factor
        return min(n_days, 1)

    def _update_watch(self) -> None:
        """What the day kernels stop on, per tissue (``Tissue.watch``), as arrays; updated
        when a failure is recorded."""
        # with stop_at "all_events" the run ends when the primary tissue has no cell left
        # that can change (``_event_stop_reason``): a fast-forward must stop there too
        ends_on_no_change = self.params.run.stop_at == "all_events"
        watches = [t.watch(ends_on_no_change and t is self.primary) for t in self.tissues]
        self._watch = (
            np.array([w[0] for w in watches]),
            np.array([w[1] for w in watches], dtype=np.float64),
            np.array([w[2] for w in watches], dtype=np.float64),
        )

    def day_after(self, steps: int) -> float:
        """Organism age after ``steps`` steps from the start (days): start + steps * dt,
        computed from the count, never summed step by step, so it carries no rounding
        drift (at dt = 0.1 d, 30000 steps end at day 3000.0, not 3000.1).

        Args:
            steps: steps from the start.

        Returns:
            Organism age in days.
        """
        return self.params.run.start_age_days + steps * self.dt_days

    def _after_steps(self, n_steps: int) -> None:
        """Clock, failure detection, recording and stopping after ``n_steps`` steps."""
        self.step_count += n_steps
        day = self.age_days = self.day_after(self.step_count)
        if any([t.detect_events(day) for t in self.tissues]):
            self._update_watch()
        if day >= self._next_record_day - 1e-9:
            self._record()
        reason = self._stop_reason()
        if reason is not None:
            self.running = False
            self.stop_reason = reason
            if self._last_record_day != day:
                self._record()

    def _stop_reason(self) -> str | None:
        """Why the run stops after this step (a key of ``schema.STOP_REASONS``), or None
        while it goes on: ``run.stop_at`` judged on the primary tissue, then the horizon.
        An event reached on the horizon's step names the stop rather than ``horizon``."""
        reason = self._event_stop_reason()
        if reason is None and self.age_days >= self.end_day - 1e-9:
            return "horizon"
        return reason

    def _event_stop_reason(self) -> str | None:
        stop_at = self.params.run.stop_at
        reached = {e: d for e, d in self.primary.event_days.items() if d is not None}
        if stop_at == "first_event" and reached:
            first = min(reached.values())
            return next(e for e in EVENTS if reached.get(e) == first)
        if stop_at == "all_events" and "exhaustion" in reached and "failure" in reached:
            if "neoplasia" not in reached and self.primary.can_change():
                return None
            latest = max(reached.values())
            if "neoplasia" not in reached and latest < self.age_days:
                return "no_change"  # the last cell that could change did so after the events
            return next(e for e in EVENTS if reached.get(e) == latest)
        return None

    def run(
        self,
        until_day: float | None = None,
        *,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_every_days: float | None = None,
    ) -> AgingModel:
        """Step until ``running`` is False (a failure, or the horizon), or until the clock
        reaches organism age ``until_day`` (the model can then be run on).

        Same result as calling ``step()`` in a loop, faster: the quiet stretches between
        scheduled events, records and the horizon run as one kernel call each (the same
        per-step kernels in the same order with the same Generator, stopping after a step
        on which any tissue reaches a failure not yet recorded, so the output is
        bit-identical), and Mesa's clock is advanced over the stretch.

        With ``checkpoint`` (a file path) and ``checkpoint_every_days``, the whole model is
        saved there (atomically, replacing the previous one) every that many simulated
        days and when the run returns; ``AgingModel.load_checkpoint(path).run()`` then ends
        exactly as the uninterrupted run would have.

        Args:
            until_day: organism age (days) at which to pause (None: run to the stop rule or
                the horizon).
            checkpoint: file to save the model to (with ``checkpoint_every_days``).
            checkpoint_every_days: simulated days between saves.

        Returns:
            The model itself, so that ``AgingModel(...).run()`` chains.

        Example:
            >>> from cellsim.engine.model import AgingModel
            >>> model = AgingModel(rng=1, n_cells=200, lifespan_days=20.0, horizon_days=30.0)
            >>> model.run().age_days, model.stop_reason
            (30.0, 'horizon')
        """
        if (checkpoint is None) != (checkpoint_every_days is None):
            raise ValueError("give both checkpoint and checkpoint_every_days, or neither")
        if checkpoint_every_days is not None and not checkpoint_every_days > 0:
            raise ValueError(f"checkpoint_every_days = {checkpoint_every_days}: must be > 0")
        stop = math.inf if until_day is None else until_day
        every = checkpoint_every_days or math.inf
        next_save = self.age_days + every
        while self.running and self.age_days < stop - 1e-9:
            if not self._fast_forward(limit_day=min(stop, next_save)):
                self.step()
            if checkpoint is not None and self.age_days >= next_save - 1e-9:
                self.save_checkpoint(checkpoint)
                next_save = self.age_days + every
        if checkpoint is not None:
            self.save_checkpoint(checkpoint)
        return self

    # --- checkpoints -----------------------------------------------------------------
    def save_checkpoint(self, path: str | os.PathLike[str]) -> Path:
        """Save the whole model (cells, Generator state, clock, event days, counters,
        records, interventions' progress) to ``path``, atomically, as numpy arrays and JSON
        with a checksum (docs/ARCHITECTURE.md "Checkpoints"); see ``load_checkpoint``.

        Args:
            path: the file to write (replaced atomically).

        Returns:
            The path written.
        """
        arrays = self._checkpoint_arrays()
        tissues = [
            {
                "name": t.name,
                "event_days": t.event_days,
                "last_record": t.last_record,
                "divisions_at_last_record": t._divisions_at_last_record,
            }
            for t in self.tissues
        ]
        version, internal, gauss = self.random.getstate()
        meta = {
            "kind": type(self).__name__,
            "params": self.params.model_dump(mode="json"),
            "rng": self.rng.bit_generator.state,
            "random": [version, list(internal), gauss],
            "mesa": {"time": self.time, "steps": self.steps, "running": self.running},
            "clock": {
                "step_count": self.step_count,
                "age_days": self.age_days,
                "stop_reason": self.stop_reason,
                "last_record_day": self._last_record_day,
                "next_record_day": self._next_record_day,
            },
            "tissues": tissues,
            "interventions": [
                {"fired": a.fired, "consecutive": getattr(a, "_consecutive", None)}
                for a in self.interventions
            ],
            "records": collector_state(self.datacollector),
        }
        return write_checkpoint(path, meta, arrays)

    @classmethod
    def load_checkpoint(cls, path: str | os.PathLike[str]) -> AgingModel:
        """The model saved by ``save_checkpoint``: running it on gives exactly the result
        the saved model would have given. Loading runs no code from the file: the checksum
        is verified first, then the model is rebuilt from its parameters, its pending
        interventions re-scheduled by replaying Mesa's clock to the saved time, and the
        saved state put in place. Any problem is a one-line ``CheckpointError``.

        Args:
            path: the checkpoint file written by ``save_checkpoint``.

        Returns:
            The restored model, ready to ``run()`` on.
        """
        meta, arrays = read_checkpoint(path)
        where = f"checkpoint = {str(path)!r}"
        if meta.get("kind") != cls.__name__:
            raise CheckpointError(f"{where}: holds a {meta.get('kind')}, not an {cls.__name__}")
        try:
            return cls._restore(meta, arrays)
        except CheckpointError as exc:
            raise CheckpointError(f"{where}: {exc}") from None
        except Exception as exc:  # a checksummed file that this code did not write
            raise CheckpointError(
                f"{where}: contents do not describe a model ({type(exc).__name__}: {exc})".replace(
                    "\n", " "
                )
            ) from None

    @classmethod
    def _restore(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> AgingModel:
        model = cls(ModelParams.model_validate(meta["params"]), rng=0)
        # replay Mesa's clock without steps: the interventions' events fire and re-schedule
        # exactly as in the saved run, acting on no tissue (their state is put back below)
        time = float(meta["mesa"]["time"])
        if time > 0:
            targets = [action.targets for action in model.interventions]
            for action in model.interventions:
                action.targets = []
            with step_schedule_paused(model):
                model.run_for(time)
            for action, kept in zip(model.interventions, targets, strict=True):
                action.targets = kept
        model.steps = int(meta["mesa"]["steps"])
        model.running = bool(meta["mesa"]["running"])
        state = meta["rng"]
        bit_generator = state["bit_generator"]
        if bit_generator not in BIT_GENERATORS:
            raise CheckpointError(f"unknown bit generator {bit_generator!r}")
        bg = getattr(np.random, bit_generator)()
        bg.state = state
        model.rng = np.random.Generator(bg)
        version, internal, gauss = meta["random"]
        model.random.setstate((version, tuple(internal), gauss))
        clock = meta["clock"]
        model.step_count = int(clock["step_count"])
        model.age_days = float(clock["age_days"])
        model.stop_reason = clock["stop_reason"]
        model._last_record_day = float(clock["last_record_day"])
        model._next_record_day = float(clock["next_record_day"])
        model._restore_arrays(arrays)
        model._restore_tissues(meta["tissues"])
        model._restore_interventions(meta["interventions"])
        restore_collector(model.datacollector, meta["records"])
        return model

    def _checkpoint_arrays(self) -> dict[str, np.ndarray]:
        """The model's arrays by their names in a checkpoint."""
        arrays: dict[str, np.ndarray] = {}
        for k, t in enumerate(self.tissues):
            for name, a in zip(CELL_ARRAYS, t.cells.arrays(), strict=True):
                arrays[f"tissue{k}/{name}"] = a
            arrays[f"tissue{k}/counters"] = t.counters
            if t.geometry is not None:
                arrays[f"tissue{k}/mark"] = t.geometry[3]
                arrays[f"tissue{k}/epoch"] = t.geometry[4]
        return arrays

    def _restore_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        expected = self._checkpoint_arrays()
        if set(expected) != set(arrays):
            raise CheckpointError("its arrays are not those of its parameters' model")
        for name, target in expected.items():
            saved = arrays[name]
            if saved.dtype != target.dtype or saved.shape != target.shape:
                raise CheckpointError(f"array {name} is {saved.dtype}{saved.shape}")
            target[...] = saved  # in place: the kernels hold these arrays

    def _restore_tissues(self, saved_tissues: list[dict[str, Any]]) -> None:
        if len(saved_tissues) != len(self.tissues):
            raise CheckpointError("its tissues are not those of its parameters")
        for t, saved in zip(self.tissues, saved_tissues, strict=True):
            if saved["name"] != t.name or set(saved["event_days"]) != set(t.event_days):
                raise CheckpointError(f"tissue {saved['name']!r} does not match its parameters")
            t.event_days = {
                e: None if d is None else float(d) for e, d in saved["event_days"].items()
            }
            t.last_record = dict(saved["last_record"])
            t._divisions_at_last_record = int(saved["divisions_at_last_record"])
            if not t.cells.is_consistent():
                raise CheckpointError(f"tissue {t.name!r}: cell index inconsistent")
        self._update_watch()

    def _restore_interventions(self, saved_actions: list[dict[str, Any]]) -> None:
        if len(saved_actions) != len(self.interventions):
            raise CheckpointError("its interventions are not those of its parameters")
        for action, saved in zip(self.interventions, saved_actions, strict=True):
            action.fired = int(saved["fired"])
            if saved["consecutive"] is not None:
                action._consecutive = int(saved["consecutive"])
            action.restore()

    def _steps_until(self, day: float) -> int:
        """Whole steps from now until the clock reaches ``day`` (at least 0): the first step
        count whose day is ``day`` or later, less the steps taken."""
        start = self.params.run.start_age_days
        return max(0, math.ceil((day - start) / self.dt_days - 1e-9) - self.step_count)

    def _fast_forward(self, limit_day: float = math.inf, min_steps: int = 2) -> bool:
        """Run the steps before the next scheduled event, record, the horizon or
        ``limit_day`` in one kernel call; False when fewer than ``min_steps`` are free."""
        with step_schedule_paused(self):
            n = self._steps_until(min(self._next_record_day, self.end_day, limit_day))
            due = next_event_time(self)
            if due is not None:  # steps k+1 .. k+n must all come before the next event
                n = min(n, math.ceil(due) - 1 - round(self.time))
            if n < min_steps:
                return False
            done = self._advance_days(n)
            self.steps += done
            self.run_for(done)  # no event is due: this only moves Mesa's clock
            self._after_steps(done)
            return True

    # --- recording -------------------------------------------------------------------
    def _record(self) -> None:
        for t in self.tissues:
            t.record(self.age_days)
        self.datacollector.collect(self)
        self._last_record_day = self.age_days
        interval = self.params.run.record_interval_days
        self._next_record_day = (math.floor(self.age_days / interval + 1e-9) + 1) * interval

    def trajectories(self) -> pd.DataFrame:
        """One row per (tissue, recorded day): cellsim.engine.schema's trajectory columns."""
        df = self.datacollector.get_agent_vars_dataframe().reset_index()
        rows = pd.DataFrame.from_records(df["record"].tolist())
        rows.insert(0, "tissue", df["tissue"].to_numpy())
        return rows.drop_duplicates(["tissue", "day"], keep="last").reset_index(drop=True)

    def event_days(self) -> dict[str, dict[str, float | None]]:
        """First day of each failure per tissue (None when not reached by ``age_days``)."""
        return {t.name: dict(t.event_days) for t in self.tissues}

    def cells_frame(self, tissue: str | None = None) -> pd.DataFrame:
        """The cells of one tissue (default: the first) as a DataFrame.

        Args:
            tissue: a tissue's name (None: the primary tissue).

        Returns:
            One row per occupied slot: ``slot``, ``state``, ``telomere_bp``, ``divisions``,
            ``epigenetic_age_days``, ``clone`` (``CellPopulation.frame``).
        """
        t = self.by_name[tissue] if tissue else self.primary
        return t.cells.frame(self.age_days)

    def tissue_params(self, name: str) -> TissueParams:
        """The parameters of the tissue called ``name``.

        Args:
            name: the tissue's name.

        Returns:
            Its ``TissueParams``.
        """
        return self.by_name[name].params

    @property
    def rng_state(self) -> dict[str, Any]:
        """The Generator's state (for checkpoints)."""
        return self.rng.bit_generator.state
