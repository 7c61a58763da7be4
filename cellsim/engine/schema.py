"""The result schema: the contract between the simulator and everything that reads its tables.

Every table cellsim writes is described here, once: the ``trajectories`` columns (one row per
run, tissue and recorded day), the ``runs`` columns (one row per run), the failure events
and the units. ``Tissue.record`` and ``cellsim.run.single.runs_row`` build their rows in
this order, the sweep reserves these names, and tests check that the tables match.
``analysis/`` reads the same names without importing cellsim (it states the few it needs;
tests/test_schema.py checks that the two agree).

Importing this module imports neither Numba nor Mesa.
"""

from __future__ import annotations

from cellsim.kernels.layout import COUNTER_NAMES, DAYS_PER_YEAR

__all__ = [
    "CLONE_COLUMNS",
    "COUNTER_NAMES",
    "DAYS_PER_YEAR",
    "EVENTS",
    "EVENT_DESCRIPTIONS",
    "FAILURE_RULE_COLUMNS",
    "RUN_COLUMNS",
    "RUN_IDENTITY",
    "STATE_NAMES",
    "STOP_REASONS",
    "TRAJECTORY_COLUMNS",
    "TRAJECTORY_IDENTITY",
    "check_trajectory_column",
    "run_columns",
    "trajectory_columns",
]

EVENTS: tuple[str, ...] = ("exhaustion", "failure", "neoplasia")
"""The failures detected each step (docs/MODEL.md process 8), in this order everywhere."""

EVENT_DESCRIPTIONS: dict[str, str] = {
    "exhaustion": "replicative-pool exhaustion: no CYCLING or STEM cell is left",
    "failure": "tissue failure: the functional fraction (CYCLING + STEM) fell below "
    "failure.functional_fraction_min",
    "neoplasia": "neoplasia: the TRANSFORMED fraction rose above failure.neoplasia_fraction",
}

STOP_REASONS: dict[str, str] = {
    "exhaustion": "the primary tissue's pool ran out (no CYCLING or STEM cell left) on the "
    "last step",
    "failure": "tissue failure on the last step: the primary tissue's functional fraction "
    "(CYCLING + STEM) fell below failure_functional_fraction_min; the pool was not "
    "exhausted (stop_at = first_event)",
    "neoplasia": "neoplasia on the last step: the primary tissue's TRANSFORMED fraction rose "
    "above failure_neoplasia_fraction",
    "no_change": "after exhaustion and failure (stop_at = all_events), no cell of the primary "
    "tissue could divide or change state any more",
    "horizon": "the run reached its horizon before its stop rule ended it",
}
"""Why a run stopped (``stop_reason``), judged on the primary tissue by ``run.stop_at``
(docs/MODEL.md, "Failure detection"). When several events are first reached on the last
step, the first of ``EVENTS`` names it (exhaustion before failure before neoplasia); an
event reached on the horizon's step names it rather than ``horizon``."""

FAILURE_RULE_COLUMNS: dict[str, str] = {
    "failure_functional_fraction_min": "the tissue's failure rule "
    "(failure.functional_fraction_min): failure when (CYCLING + STEM) / slots is below this",
    "failure_neoplasia_fraction": "the tissue's neoplasia rule (failure.neoplasia_fraction): "
    "neoplasia when TRANSFORMED / slots is above this",
}
"""The failure rules in force for a tissue, one column each in a ``runs`` row (other tissues:
``<tissue>.failure_functional_fraction_min``, ...)."""

STATE_NAMES: tuple[str, ...] = (
    "pluripotent",
    "senescent",
    "empty",
    "cycling",
    "stem",
    "transformed",
)
"""Cell states in the order of their codes (kernels/layout.py, ``CellState``)."""

# --- trajectories ------------------------------------------------------------------------
TRAJECTORY_IDENTITY: dict[str, str] = {
    "run_id": "the run (``arm/r003``)",
    "arm": "the scenario arm",
    "replicate": "replicate number within the arm",
    "tissue": "tissue name",
}
"""Columns that say which run and tissue a trajectory row belongs to (added by the run)."""


def _trajectory_record_columns() -> dict[str, str]:
    cols = {
        "day": "organism age, days",
        "age_years": f"organism age, years (day / {DAYS_PER_YEAR})",
    }
    cols.update({f"n_{s}": f"slots in state {s.upper()}, cells" for s in STATE_NAMES})
    cols.update(
        {
            "functional_fraction": "(CYCLING + STEM) / slots",
            "senescent_fraction": "SENESCENT / slots",
            "transformed_fraction": "TRANSFORMED / slots",
            "pool_size": "CYCLING + STEM cells (the replicative pool), cells",
            "telomere_mean_bp": "mean telomere length over occupied slots, bp",
            "telomere_p10_bp": "10th percentile of telomere length (10 bp bins), bp",
            "telomere_p50_bp": "median telomere length (10 bp bins), bp",
            "telomere_p90_bp": "90th percentile of telomere length (10 bp bins), bp",
            "divisions_left_mean": "mean divisions left before the senescence threshold at "
            "the mean loss, over the pool, divisions",
            "divisions_per_cell_mean": "mean divisions since founding per occupied slot",
            "epigenetic_age_mean_years": "mean epigenetic age of occupied slots, years",
            "divisions_interval": "divisions since the previous record",
            "divisions_cumulative": "divisions since the run started",
        }
    )
    cols.update(
        {
            f"{name}_cumulative": f"cumulative count of {name.replace('_', ' ')} events"
            for name in COUNTER_NAMES
            if name != "divisions"
        }
    )
    return cols


TRAJECTORY_COLUMNS: dict[str, str] = _trajectory_record_columns()
"""What ``Tissue.record`` returns, in order: column name -> meaning and unit."""


CLONE_COLUMNS: dict[str, str] = {
    "n_clones": "distinct clones (clone ids) among the competent cells (CYCLING + STEM + "
    "TRANSFORMED), clones",
    "clones_for_half": "the fewest clones whose cells make up at least half of the competent "
    "cells, clones (Mitchell 2022: tens of thousands of HSCs under 65; over 75, 12-18 clones "
    "make up 30-60%)",
    "largest_clone_share": "the largest clone's fraction of the competent cells (NaN without one)",
    "driver_clones_cumulative": "driver (fit) clones founded since the run started "
    "(stem_divisions.selection), clones",
}
"""Columns after ``TRAJECTORY_COLUMNS`` in the rows of a stem compartment with a division
clock (``stem_divisions``) only: the clonal structure of its output (docs/MODEL.md,
"Clonal drift and selection"; the measures of ``analysis.clones.clone_structure``). Other
tissues' rows do not have them (NaN where a table mixes both)."""


def trajectory_columns() -> list[str]:
    """The columns of a ``trajectories`` table, in order."""
    return [*TRAJECTORY_IDENTITY, *TRAJECTORY_COLUMNS]


# --- runs --------------------------------------------------------------------------------
RUN_IDENTITY: dict[str, str] = {
    "run_id": "the run (``arm/r003``)",
    "arm": "the scenario arm (in a sweep: ``p000042``, the point's id)",
    "replicate": "replicate number within the arm",
    "seed_entropy": "root entropy of the scenario's SeedSequence",
    "spawn_key": "the run's spawn key: ``key(stream or arm),replicate``",
}
"""Columns that identify a run and its seed; a sweep adds its own between these and the
rest (point and parameter values)."""

RUN_COLUMNS: dict[str, str] = {
    "tissue": "the primary (first somatic) tissue, whose events these are",
    "n_cells": "slots in the primary tissue, cells",
    "start_day": "organism age at the start, days",
    "end_day": "organism age when the run stopped, days (censoring time)",
    "horizon_day": "the run's horizon, days",
    "stop_reason": "why the run stopped: "
    + "; ".join(f"{k} = {v}" for k, v in STOP_REASONS.items()),
    **FAILURE_RULE_COLUMNS,
    **{f"{e}_day": f"first day of {EVENT_DESCRIPTIONS[e]}; NaN if not reached" for e in EVENTS},
    **{f"{name}_total": f"total {name.replace('_', ' ')} events" for name in COUNTER_NAMES},
    "divisions_per_cell": "divisions_total / n_cells",
}
"""The primary tissue's columns of a ``runs`` row (other tissues add
``<tissue>.failure_functional_fraction_min``, ``<tissue>.failure_neoplasia_fraction``,
``<tissue>.<event>_day`` and ``<tissue>.<counter>_total``), in order."""

RUN_TRAILER: dict[str, str] = {
    "wall_seconds": "wall-clock time of the run, s (the only column that varies between "
    "identical runs)",
    "cellsim_version": "package version",
    "params_json": "the run's full parameters (JSON)",
}
"""The last columns of a ``runs`` row."""


def run_columns(other_tissues: tuple[str, ...] = ()) -> list[str]:
    """The columns of a scenario's ``runs`` table, in order, for a model whose non-primary
    tissues are ``other_tissues``."""
    cols = [*RUN_IDENTITY, *RUN_COLUMNS]
    for t in other_tissues:
        cols += [f"{t}.{c}" for c in FAILURE_RULE_COLUMNS]
        cols += [f"{t}.{e}_day" for e in EVENTS]
        cols += [f"{t}.{name}_total" for name in COUNTER_NAMES]
    return [*cols, *RUN_TRAILER]


RESERVED_RUN_COLUMNS: frozenset[str] = frozenset(
    {*RUN_IDENTITY, *RUN_COLUMNS, *RUN_TRAILER}
    - {f"{e}_day" for e in EVENTS}
    - {f"{name}_total" for name in COUNTER_NAMES}
)
"""Names a sweep's parameter columns may not take (they would overwrite a run column)."""


def check_trajectory_column(name: str) -> str:
    """``name`` if it is a trajectory column that a value can be read from (not ``day`` or
    ``age_years``); else ValueError (one line)."""
    if name not in TRAJECTORY_COLUMNS or name in ("day", "age_years"):
        raise ValueError(f"column = {name!r}: not a trajectory column")
    return name
