"""A chain of generations (a scenario's ``[generations]``): every arm's person ``r`` of
generation ``g + 1`` is the child of person ``r`` of generation ``g``, born with the
telomere their parent's tissue had at the conception age.

``expand`` turns the scenario's arms into one arm per (arm, generation), ``a_gen<g>``,
so that the tables, the report and the survival analysis read each generation as an
arm; ``run_chain`` runs the generations one after the other (the people of a generation
in parallel), each child's spec made from its parent's result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from cellsim.config.plan import RunSpec
from cellsim.config.scenario import Generations, Scenario
from cellsim.engine.params import DAYS_PER_YEAR, value_at_path, with_overrides
from cellsim.run.single import RunResult, run_many


def arm_of(arm: str, generation: int) -> str:
    """The reported arm of generation ``generation`` of ``arm``."""
    return f"{arm}_gen{generation}"


def expand(scenario: Scenario) -> Scenario:
    """The scenario with one arm per (arm, generation), in arm then generation order; the
    control is generation 1 of the control arm. Its posterior is the scenario's. An
    expanded scenario is returned as it is."""
    gen = scenario.generations
    if gen is None or scenario._generations_expanded:
        return scenario
    arms = [
        a.model_copy(
            update={
                "name": arm_of(a.name, g),
                "description": f"{a.description} (generation {g})".strip(),
            }
        )
        for a in scenario.arms
        for g in range(1, gen.count + 1)
    ]
    data = scenario.model_dump()
    data["arms"] = [a.model_dump() for a in arms]
    data["control"] = arm_of(scenario.control_arm, 1)
    out = Scenario.model_validate(data)
    out._posterior = scenario._posterior
    out._generations_expanded = True
    return out


def inherited_value(traj: pd.DataFrame, gen: Generations) -> float:
    """What the child of a run with trajectories ``traj`` is born with: the parent's
    tissue's column at the last record at or before the conception age, plus
    ``germline_restoration`` of what it lost since the first record; NaN when the run
    ended before the conception age."""
    t = traj[traj["tissue"] == gen.tissue].sort_values("day")
    if t.empty:
        return float("nan")
    days = t["day"].to_numpy(dtype=float)
    values = t[gen.column].to_numpy(dtype=float)
    limit = gen.conception_age_years * DAYS_PER_YEAR
    i = int(np.searchsorted(days, limit + 1e-6, side="right")) - 1
    if i < 0 or days[-1] + 1e-6 < limit:
        return float("nan")
    return float(values[i] + gen.germline_restoration * (values[0] - values[i]))


def child_spec(spec: RunSpec, gen: Generations, value: float, generation: int) -> RunSpec:
    """``spec`` (the child's arm and replicate) with the inherited value of ``inherit``."""
    extra = {**spec.extra, "generation": generation, gen.inherit: value}
    return RunSpec(
        arm=spec.arm,
        replicate=spec.replicate,
        params=with_overrides(spec.params, {gen.inherit: value}),
        entropy=spec.entropy,
        extra=extra,
        stream=spec.stream,
    )


def run_chain(
    expanded: Scenario,
    base_arms: list[str],
    replicates: int | None,
    workers: int,
    stored: Mapping[str, pd.DataFrame] | None = None,
) -> Iterator[tuple[RunSpec, RunResult | None, str | None]]:
    """Run the generations of ``expanded`` (from ``expand``) in order, yielding ``(spec,
    result, error)`` like ``run_many``; a child is run only when its parent's run
    succeeded and lived to the conception age. ``stored`` (run id -> trajectories) holds
    runs done before (a resumed chain): they are not run again, and their children are
    made from their stored trajectories, as from a fresh run's."""
    gen = expanded.generations
    assert gen is not None
    stored = stored or {}
    specs = {(s.arm, s.replicate): s for s in expanded.run_specs(replicates)}
    parents: dict[tuple[str, int], float] = {}
    for g in range(1, gen.count + 1):
        todo = []
        for (arm, r), spec in specs.items():
            base = next((a for a in base_arms if arm == arm_of(a, g)), None)
            if base is None:
                continue
            if g == 1:
                value = float(value_at_path(spec.params.model_dump(), gen.inherit))
                todo.append(child_spec(spec, gen, value, 1))
            elif np.isfinite(parents.get((base, r), float("nan"))):
                todo.append(child_spec(spec, gen, parents[(base, r)], g))
        children: dict[tuple[str, int], float] = {}

        def keep(
            spec: RunSpec,
            traj: pd.DataFrame,
            g: int = g,
            children: dict[tuple[str, int], float] = children,
        ) -> None:
            base = spec.arm.removesuffix(f"_gen{g}")
            children[(base, spec.replicate)] = inherited_value(traj, gen)

        for spec in todo:
            if spec.run_id in stored:
                keep(spec, stored[spec.run_id])
        missing = [s for s in todo if s.run_id not in stored]
        for spec, result, error in run_many(missing, workers=workers):
            if result is not None:
                keep(spec, result.trajectories)
            yield spec, result, error
        parents = children
