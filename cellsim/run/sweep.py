"""Parameter sweeps: a sweep file (TOML) -> points x replicates -> runs on Dask -> a store.

Sweep file
----------
A sweep varies some parameters of one base parameter set; see
scenarios/sweeps/senolytic_schedule.toml for an annotated example. Top-level keys::

    name = "my_sweep"              # default: the file's stem
    description = "..."
    seed = 7                       # root entropy of the sweep's SeedSequence (default 0)
    replicates = 4                 # runs per point (default 4)
    scenario = "../baseline.toml"  # base parameters: a scenario file (path relative to
    arm = "fibroblast"             #   this file): its [base], or one arm's resolved
                                   #   parameters when `arm` is given; or instead ...
    [base]                         # ... an inline base, exactly like a scenario's [base]
    trajectory_interval_days = 365.25  # stored trajectories: one record per interval (the
                                       # first at or after each multiple) + the last one;
                                       # omit the key to keep the scenario's recording
    store_trajectories = true          # false: store the runs table only

    [parameters]                   # the grid: one entry per parameter, any of
    "tissue.lifespan_days" = [31.0, 140.0]                           # a list of values
    "run.stop_at" = { values = ["first_event", "all_events"] }      # the same, spelled out
    "interventions.0.efficacy_per_dose" = { start = 0.1, stop = 0.9, num = 5 }  # linspace
    "interventions.0.interval_days" = { start = 7, stop = 365, num = 6, scale = "log",
                                        integer = true }            # geomspace, rounded

    [sample]                       # space-filling sample (scipy.stats.qmc), optional
    method = "lhs"                 # "lhs" (Latin hypercube) or "sobol" (n a power of 2)
    n = 16                         # points in the sample
    scramble = true                # randomised (seeded from `seed`)
    [sample.bounds]
    "tissue.clearance.rate_per_day" = { low = 1e-4, high = 0.1, scale = "log" }
    "tissue.n_cells" = { low = 1000, high = 4000, integer = true }

Parameter names are the dotted paths of ``cellsim.engine.params.with_overrides``: ``run.*``, a
tissue's name or ``tissues.N`` then its fields (``tissue.telomere.loss_mean_bp``),
``interventions.N.*``, or a bare field name of the first tissue.

How points are formed
---------------------
The grid is the cartesian product of the ``[parameters]`` entries, in file order, the last
entry varying fastest (``itertools.product``). A ``[sample]`` block draws ``n`` points in the
unit hypercube with ``scipy.stats.qmc`` (LatinHypercube or Sobol, seeded from ``seed``) and
maps each coordinate to its bounds: ``low + u (high - low)``, or log-uniformly for
``scale = "log"``, or to an integer in ``[low, high]`` for ``integer = true``. With both, every
grid point is combined with every sample point (grid outer, sample inner). Point ``i`` is the
i-th combination (``p00000``, ``p00001``, ...); every point gets ``replicates`` runs.

Seeds and run ids
-----------------
Run ``p00012/r003`` is replicate 3 of point 12; its generator is ``RunSpec``'s
``SeedSequence(seed, spawn_key=(stable_key("p00012"), 3))``: it depends on the run's id
only, so results are identical for any number of workers and any completion order. Every
point is validated (``with_overrides``) before anything runs or is written.

Execution and storage
---------------------
``run_sweep`` runs the missing runs on Dask distributed (a LocalCluster of worker
processes, one thread each, Numba/BLAS threads pinned to 1, or any running scheduler),
appends finished runs in batches to the store of ``cellsim.run.store`` (atomic Parquet parts;
rerunning the same command skips completed runs and retries failed ones), compacts it and
writes ``summary.csv``, figures and ``report.md`` (``analysis.sweep``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import platform
import time
import tomllib
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator
from rich.console import Console

from cellsim import __version__
from cellsim.config.plan import RunSpec, stable_key
from cellsim.config.scenario import ScenarioError, format_validation_error, load_scenario
from cellsim.engine.params import ModelParams, _resolve_bare, _Strict, with_overrides
from cellsim.engine.schema import DAYS_PER_YEAR, RESERVED_RUN_COLUMNS
from cellsim.io import MANIFEST, OutputError, check_output_dir, write_csv, write_json, write_parquet
from cellsim.run.single import run_one
from cellsim.run.store import SweepStore

THREAD_ENV: dict[str, str] = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
"""Set in every worker before it imports Numba or NumPy: one run per core, no oversubscription."""

RESERVED_COLUMNS = RESERVED_RUN_COLUMNS | {"point", "point_id", "error", "traceback"}
"""Run columns and the sweep's own: no parameter column may take these names."""
MAX_POINTS = 1_000_000


class SweepError(ScenarioError):
    """A sweep file that cannot be used; the message is one line naming field and value."""


# --------------------------------------------------------------------------------------
# the sweep file
# --------------------------------------------------------------------------------------

Scalar = float | int | str | bool


class Axis(_Strict):
    """One grid parameter: a list of ``values``, or ``num`` values from ``start`` to
    ``stop`` (inclusive), evenly spaced (``scale = "linear"``) or geometrically ("log"),
    rounded to whole numbers with ``integer = true``."""

    values: list[Scalar] | None = Field(None, min_length=1)
    start: float | None = None
    stop: float | None = None
    num: int | None = Field(None, ge=1, le=100_000)
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"values": data}
        if not isinstance(data, dict):
            raise ValueError(
                f"value {data!r}: give a list of values, {{ values = [...] }} or "
                "{ start = a, stop = b, num = n }"
            )
        return data

    @model_validator(mode="after")
    def _one_form(self) -> Axis:
        ranged = [self.start, self.stop, self.num]
        if self.values is not None:
            if any(v is not None for v in ranged):
                raise ValueError("give either values or start/stop/num, not both")
            if len({json.dumps(v) for v in self.values}) != len(self.values):
                raise ValueError(f"values {self.values!r} repeat a value")
            return self
        if any(v is None for v in ranged):
            raise ValueError("a range needs start, stop and num (or give values = [...])")
        if self.scale == "log" and (self.start <= 0 or self.stop <= 0):
            raise ValueError(
                f"scale = 'log' needs start and stop > 0, got start = {self.start:g}, "
                f"stop = {self.stop:g}"
            )
        values = self.grid()
        if len(set(values)) != len(values):
            raise ValueError(
                f"integer = true makes repeated values {values} from start = {self.start:g}, "
                f"stop = {self.stop:g}, num = {self.num}: use fewer points"
            )
        return self

    def grid(self) -> list[Scalar]:
        """The values of this axis, in order."""
        if self.values is not None:
            return list(self.values)
        assert self.start is not None and self.stop is not None and self.num is not None
        if self.scale == "log":
            raw = np.geomspace(self.start, self.stop, self.num)
        else:
            raw = np.linspace(self.start, self.stop, self.num)
        if self.integer:
            return [int(v) for v in np.round(raw)]
        return [float(v) for v in raw]


class Bound(_Strict):
    """The range of one sampled parameter."""

    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Bound:
        if not self.low < self.high:
            raise ValueError(f"low = {self.low:g} must be below high = {self.high:g}")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"scale = 'log' needs low > 0, got low = {self.low:g}")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError(
                f"integer = true needs whole bounds, got low = {self.low:g}, high = {self.high:g}"
            )
        return self

    def scale_unit(self, u: np.ndarray) -> list[Scalar]:
        """Map unit-interval coordinates to values of this parameter."""
        if self.integer:
            lo, hi = int(self.low), int(self.high)
            return [int(v) for v in np.clip(lo + np.floor(u * (hi - lo + 1)), lo, hi)]
        if self.scale == "log":
            lo, hi = math.log(self.low), math.log(self.high)
            return [float(v) for v in np.exp(lo + u * (hi - lo))]
        return [float(v) for v in self.low + u * (self.high - self.low)]


class Sample(_Strict):
    """A space-filling sample of ``n`` points over ``bounds`` (scipy.stats.qmc)."""

    method: Literal["lhs", "sobol"] = "lhs"
    n: int = Field(ge=1, le=MAX_POINTS)
    scramble: bool = True
    optimization: Literal["random-cd", "lloyd"] | None = None
    bounds: dict[str, Bound] = Field(min_length=1)

    @model_validator(mode="after")
    def _sobol_power_of_two(self) -> Sample:
        if self.method == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"n = {self.n}: method 'sobol' needs a power of 2 (e.g. 16, 32, 64)")
        return self

    def draw(self, seed: int) -> dict[str, list[Scalar]]:
        """The sample's values per parameter (same for the same seed and scipy)."""
        from scipy.stats import qmc

        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stable_key("sample"),)))
        d = len(self.bounds)
        if self.method == "sobol":
            engine = qmc.Sobol(d, scramble=self.scramble, optimization=self.optimization, rng=rng)
            unit = engine.random_base2(int(self.n).bit_length() - 1)
        else:
            engine = qmc.LatinHypercube(
                d, scramble=self.scramble, optimization=self.optimization, rng=rng
            )
            unit = engine.random(self.n)
        return {
            name: bound.scale_unit(unit[:, j])
            for j, (name, bound) in enumerate(self.bounds.items())
        }


class Sweep(_Strict):
    """A validated sweep file (see the module doc)."""

    name: str = "sweep"
    description: str = ""
    seed: int = Field(0, ge=0)
    replicates: int = Field(4, ge=1, le=100_000)
    scenario: str | None = None
    """A scenario file (relative to the sweep file) whose base parameters are swept."""
    arm: str | None = None
    """With ``scenario``: sweep around this arm's resolved parameters instead of its base."""
    base: ModelParams | None = None
    """Inline base parameters (like a scenario's [base]); default: ModelParams()."""
    parameters: dict[str, Axis] = Field(default_factory=dict)
    sample: Sample | None = None
    trajectory_interval_days: float | None = Field(DAYS_PER_YEAR, gt=0)
    store_trajectories: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> Sweep:
        if self.scenario is not None and self.base is not None:
            raise ValueError(f"scenario = {self.scenario!r} and [base] both given: use one of them")
        if self.arm is not None and self.scenario is None:
            raise ValueError(f'arm = {self.arm!r} needs scenario = "path/to/scenario.toml"')
        sampled = set(self.sample.bounds) if self.sample else set()
        if not self.parameters and not sampled:
            raise ValueError("nothing to sweep: add [parameters] or a [sample] block")
        both = sorted(set(self.parameters) & sampled)
        if both:
            raise ValueError(f"parameter {both[0]!r} is both in [parameters] and [sample.bounds]")
        for name in [*self.parameters, *sampled]:
            if name in RESERVED_COLUMNS:
                raise ValueError(
                    f"parameter {name!r} would clash with the result column of that name: "
                    "use its dotted path (e.g. 'tissue.n_cells')"
                )
        return self


# --------------------------------------------------------------------------------------
# the plan: validated points and their runs
# --------------------------------------------------------------------------------------


@dataclass
class SweepPlan:
    """A loaded sweep: base parameters, the validated points and how to make their runs."""

    sweep: Sweep
    path: Path | None
    base: ModelParams
    points: pd.DataFrame
    """One row per point: ``point``, ``point_id``, then one column per parameter."""
    grid_parameters: list[str]
    sample_parameters: list[str]

    @property
    def parameters(self) -> list[str]:
        """Every varied parameter, grid first, in file order."""
        return [*self.grid_parameters, *self.sample_parameters]

    @property
    def n_points(self) -> int:
        """Number of points."""
        return len(self.points)

    @property
    def n_runs(self) -> int:
        """Points x replicates."""
        return self.n_points * self.sweep.replicates

    def overrides(self, point: int) -> dict[str, Any]:
        """The dotted-path overrides of one point."""
        return {name: _python(self.points[name].iat[point]) for name in self.parameters}

    def run_id(self, point: int, replicate: int) -> str:
        """The id of a run, e.g. ``p00012/r003`` (same as ``RunSpec.run_id``)."""
        return f"{point_id(point)}/r{replicate:03d}"

    def spec(self, point: int, replicate: int) -> RunSpec:
        """The RunSpec of one run; its seed depends only on (point id, replicate)."""
        ov = self.overrides(point)
        return RunSpec(
            arm=point_id(point),
            replicate=replicate,
            params=with_overrides(self.base, ov),
            entropy=self.sweep.seed,
            extra={"point": point, **ov},
        )

    def all_runs(self) -> Iterator[tuple[int, int]]:
        """(point, replicate) of every run, in run-id order."""
        for i in range(self.n_points):
            for r in range(self.sweep.replicates):
                yield i, r

    @property
    def fingerprint(self) -> str:
        """A hash of everything that determines the results (not name or description)."""
        payload = {
            "base": self.base.model_dump(mode="json"),
            "points": json.loads(self.points.to_json(orient="records", double_precision=15)),
            "parameters": self.parameters,
            "replicates": self.sweep.replicates,
            "seed": self.sweep.seed,
            "trajectory_interval_days": self.sweep.trajectory_interval_days,
            "store_trajectories": self.sweep.store_trajectories,
            "cellsim_version": __version__,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def resolved(self) -> dict[str, Any]:
        """The resolved sweep for ``sweep.resolved.json``."""
        return {
            "sweep": self.sweep.model_dump(mode="json"),
            "sweep_file": None if self.path is None else str(self.path),
            "base_resolved": self.base.model_dump(mode="json"),
            "grid_parameters": self.grid_parameters,
            "sample_parameters": self.sample_parameters,
            "n_points": self.n_points,
            "replicates": self.sweep.replicates,
            "seed_entropy": self.sweep.seed,
            "fingerprint": self.fingerprint,
            "cellsim_version": __version__,
        }


def point_id(point: int) -> str:
    """The id of point ``i``: ``p00012``."""
    return f"p{point:05d}"


def _python(value: Any) -> Any:
    """A numpy scalar as the plain Python value pydantic and JSON expect."""
    return value.item() if isinstance(value, np.generic) else value


def _get_path(data: dict[str, Any], key: str) -> Any:
    """The value at a dotted path of ``with_overrides`` in a ``ModelParams.model_dump()``."""
    parts = key.split(".")
    names = {t["name"]: i for i, t in enumerate(data["tissues"])}
    if len(parts) > 1 and parts[0] in names:
        parts = ["tissues", str(names[parts[0]]), *parts[1:]]
    elif len(parts) == 1:
        parts = _resolve_bare(data, key)
    node: Any = data
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def format_error(exc: ValidationError, prefix: str = "") -> str:
    """The first error of a ValidationError as one line (see ``format_validation_error``)."""
    return format_validation_error(
        exc, prefix, unknown_hint="see the format in cellsim/run/sweep.py"
    )


def load_sweep(path: str | Path) -> SweepPlan:
    """Read, validate and expand a sweep file, or raise SweepError (one line)."""
    path = Path(path)
    if not path.is_file():
        raise SweepError(f"sweep: file {str(path)!r} not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(f"{path}: cannot be read: {exc}") from None
    data.setdefault("name", path.stem)
    try:
        sweep = Sweep.model_validate(data)
    except ValidationError as exc:
        raise SweepError(f"{path}: {format_error(exc)}") from None
    try:
        return plan_sweep(sweep, path.parent, path)
    except SweepError as exc:
        raise SweepError(f"{path}: {exc}") from None


def plan_sweep(sweep: Sweep, folder: Path = Path("."), path: Path | None = None) -> SweepPlan:
    """Resolve the base, expand the grid and sample, validate every point."""
    base = _base_params(sweep, folder)
    grid_names = list(sweep.parameters)
    sample_names = list(sweep.sample.bounds) if sweep.sample else []
    for name in [*grid_names, *sample_names]:
        where = f'parameters."{name}"' if name in sweep.parameters else f'sample.bounds."{name}"'
        try:
            current = _get_path(base.model_dump(), name)
        except (KeyError, IndexError, ValueError):
            raise SweepError(
                f"{where}: unknown parameter {name!r} (a dotted path of "
                "cellsim.engine.params.with_overrides, e.g. 'tissue.lifespan_days' or "
                "'interventions.0.interval_days')"
            ) from None
        if isinstance(current, dict | list):
            raise SweepError(f"{where}: {name!r} is a group, not a single parameter")
    grid_values = [sweep.parameters[n].grid() for n in grid_names]
    sample_values = sweep.sample.draw(sweep.seed) if sweep.sample else {}
    n_grid = math.prod(len(v) for v in grid_values)
    n_sample = sweep.sample.n if sweep.sample else 1
    if n_grid * n_sample > MAX_POINTS:
        raise SweepError(
            f"points = {n_grid * n_sample}: at most {MAX_POINTS} points per sweep (split the sweep)"
        )
    rows: list[dict[str, Any]] = []
    for combo in itertools.product(*grid_values):
        for s in range(n_sample):
            ov = dict(zip(grid_names, combo, strict=True))
            ov.update({n: sample_values[n][s] for n in sample_names})
            i = len(rows)
            try:
                params = with_overrides(base, ov)
            except ValidationError as exc:
                desc = ", ".join(f"{k} = {v!r}" for k, v in ov.items())
                raise SweepError(f"point {point_id(i)} ({desc}): {format_error(exc)}") from None
            dumped = params.model_dump()
            rows.append(
                {
                    "point": i,
                    "point_id": point_id(i),
                    **{n: _get_path(dumped, n) for n in [*grid_names, *sample_names]},
                }
            )
    points = pd.DataFrame.from_records(rows)
    return SweepPlan(
        sweep=sweep,
        path=path,
        base=base,
        points=points,
        grid_parameters=grid_names,
        sample_parameters=sample_names,
    )


def _base_params(sweep: Sweep, folder: Path) -> ModelParams:
    if sweep.base is not None:
        return sweep.base
    if sweep.scenario is None:
        return ModelParams()
    scenario_path = Path(sweep.scenario)
    if not scenario_path.is_absolute():
        scenario_path = folder / scenario_path
    if not scenario_path.is_file():
        raise SweepError(f"scenario = {sweep.scenario!r}: file {str(scenario_path)!r} not found")
    try:
        scenario = load_scenario(scenario_path)
    except ScenarioError as exc:
        raise SweepError(f"scenario = {sweep.scenario!r}: {exc}") from None
    if sweep.arm is None:
        return scenario.base
    arms = scenario.resolved()
    if sweep.arm not in arms:
        raise SweepError(
            f"arm = {sweep.arm!r}: not an arm of {sweep.scenario!r} (arms: {', '.join(arms)})"
        )
    return arms[sweep.arm]


# --------------------------------------------------------------------------------------
# one run, on a worker
# --------------------------------------------------------------------------------------


def subsample_trajectories(traj: pd.DataFrame, interval_days: float | None) -> pd.DataFrame:
    """Keep, per tissue, the first record at or after each multiple of ``interval_days``
    (counted from the first record) and the last record; all of them when None."""
    if interval_days is None or traj.empty:
        return traj
    keep = np.zeros(len(traj), dtype=bool)
    days = traj["day"].to_numpy(dtype=float)
    groups = traj["tissue"].to_numpy() if "tissue" in traj.columns else np.zeros(len(traj))
    for g in pd.unique(groups):
        idx = np.flatnonzero(groups == g)
        d = days[idx]
        bins = np.floor((d - d[0]) / interval_days + 1e-9)
        first = np.ones(len(idx), dtype=bool)
        first[1:] = bins[1:] != bins[:-1]
        first[-1] = True
        keep[idx[first]] = True
    return traj[keep].reset_index(drop=True)


def execute_run(
    spec: RunSpec, trajectory_interval_days: float | None, store_trajectories: bool
) -> dict[str, Any]:
    """Run one spec on a worker; an exception becomes an error record, never a raise."""
    try:
        result = run_one(spec)
    except Exception as exc:  # the sweep records the failure and goes on
        return {
            "run_id": spec.run_id,
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
            "traceback": traceback.format_exc(),
        }
    traj = None
    if store_trajectories:
        traj = subsample_trajectories(result.trajectories, trajectory_interval_days)
    return {"run_id": spec.run_id, "ok": True, "row": result.row, "trajectories": traj}


def worker_info() -> dict[str, Any]:
    """What a worker reports about its thread pinning (stored in the manifest)."""
    import dask
    import numba

    return {
        "pid": os.getpid(),
        "env": {k: os.environ.get(k) for k in THREAD_ENV},
        "numba_num_threads": int(numba.config.NUMBA_NUM_THREADS),
        "profiler": bool(dask.config.get("distributed.worker.profile.enabled", True)),
    }


try:  # a plugin class needs distributed at import; workers always have it
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover
    WorkerPlugin = object  # type: ignore[assignment,misc]


class PinThreads(WorkerPlugin):  # type: ignore[misc]
    """Set THREAD_ENV on every worker (also ones that join later) before its first task.

    Effective for libraries imported after it runs (a worker imports cellsim, hence Numba,
    with its first task); export the variables before ``dask worker`` to be sure.
    """

    name = "cellsim-pin-threads"

    def setup(self, worker: Any) -> None:
        os.environ.update(THREAD_ENV)


# --------------------------------------------------------------------------------------
# the Dask side
# --------------------------------------------------------------------------------------


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def _probe(address: str) -> None:
    """Fail fast (one line) when nothing listens at a ``tcp://host:port`` address."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or parts.hostname is None:
        return  # tls://, inproc://, ...: let distributed report
    try:
        port = parts.port or 8786
        with socket.create_connection((parts.hostname, port), timeout=10):
            pass
    except (OSError, ValueError) as exc:
        raise OutputError(f"--scheduler = {address!r}: cannot connect: {exc}") from None


@contextmanager
def dask_client(
    workers: int | None = None, scheduler: str | None = None
) -> Iterator[tuple[Any, str]]:
    """A Dask client: on a new LocalCluster of ``workers`` processes (1 thread each, thread
    env pinned before they start), or connected to the scheduler at ``scheduler``."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        _probe(scheduler)
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise OutputError(
                f"--scheduler = {scheduler!r}: cannot connect: {exc}".splitlines()[0]
            ) from None
        try:
            client.register_plugin(PinThreads())
            yield client, f"scheduler {scheduler}"
        finally:
            client.close()
        return
    n = workers or default_workers()
    pre_spawn = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    pre_spawn.update(THREAD_ENV)
    settings = {
        "distributed.nanny.pre-spawn-environ": pre_spawn,
        # the statistical profiler only feeds the dashboard; its history grows with time
        # (~0.2 MB/s per busy worker, up to an hour of samples): off for sweeps
        "distributed.worker.profile.enabled": False,
    }
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            env=dict(THREAD_ENV),
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
    try:
        client = Client(cluster)
        try:
            client.register_plugin(PinThreads())
            yield client, f"local cluster of {n} worker process(es)"
        finally:
            client.close()
    finally:
        cluster.close()


class _Batch:
    """Finished runs waiting to be written as one part."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.traj: list[pd.DataFrame] = []
        self.failures: list[dict[str, Any]] = []
        self.since = time.monotonic()

    def __len__(self) -> int:
        return len(self.runs) + len(self.failures)

    def flush(self, store: SweepStore) -> None:
        store.append(self.runs, self.traj, self.failures)
        self.runs, self.traj, self.failures = [], [], []
        self.since = time.monotonic()


def _failure_record(plan: SweepPlan, point: int, replicate: int, error: str, tb: str) -> dict:
    return {
        "run_id": plan.run_id(point, replicate),
        "arm": point_id(point),
        "replicate": replicate,
        "point": point,
        **plan.overrides(point),
        "error": error,
        "traceback": tb,
    }


def _execute(
    client: Any,
    plan: SweepPlan,
    todo: list[tuple[int, int]],
    store: SweepStore,
    *,
    flush_runs: int,
    flush_seconds: float,
    on_done: Any,
) -> None:
    """Submit ``todo`` with a bounded window, store results in batches as they finish."""
    from distributed import as_completed

    from cellsim.run.errors import RunsFailed

    pending = iter(todo)
    which: dict[str, tuple[int, int]] = {}
    ac = as_completed()
    cached = {"at": -math.inf, "size": 4}

    def window() -> int:
        """Runs kept queued: twice the cluster's threads (rechecked every 5 s)."""
        if time.monotonic() - cached["at"] > 5.0:
            cached["size"] = max(4, 2 * sum(client.nthreads().values()))
            cached["at"] = time.monotonic()
        return int(cached["size"])

    def submit(k: int) -> None:
        for point, rep in itertools.islice(pending, k):
            fut = client.submit(
                execute_run,
                plan.spec(point, rep),
                plan.sweep.trajectory_interval_days,
                plan.sweep.store_trajectories,
                pure=False,
            )
            which[fut.key] = (point, rep)
            ac.add(fut)

    submit(window())
    batch = _Batch()
    try:
        for fut in ac:
            point, rep = which.pop(fut.key)
            if fut.status == "finished":
                out = fut.result()
            elif fut.status == "cancelled":
                raise RunsFailed(
                    f"Dask cancelled run {plan.run_id(point, rep)} (scheduler lost?); the "
                    "stored runs are kept: rerun the same command to resume"
                )
            else:  # the task itself failed (a worker died running it, ...)
                exc = fut.exception()
                out = {
                    "ok": False,
                    "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
                    "traceback": "".join(traceback.format_exception(exc)),
                }
            fut.release()
            if out["ok"]:
                batch.runs.append(out["row"])
                if out.get("trajectories") is not None:
                    batch.traj.append(out["trajectories"])
            else:
                batch.failures.append(
                    _failure_record(plan, point, rep, out["error"], out["traceback"])
                )
            on_done(out["ok"], None if out["ok"] else (plan.run_id(point, rep), out["error"]))
            if len(batch) >= flush_runs or time.monotonic() - batch.since >= flush_seconds:
                batch.flush(store)
            if ac.count() < window():
                submit(window() - ac.count())
    finally:
        if len(batch):
            batch.flush(store)


# --------------------------------------------------------------------------------------
# the output folder
# --------------------------------------------------------------------------------------


def is_sweep_folder(folder: str | Path) -> bool:
    """True when ``folder`` is a sweep output folder (manifest kind "sweep")."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("kind") == "sweep"
    except (OSError, ValueError):
        return False


def check_sweep_folder(plan: SweepPlan, out_dir: Path) -> bool:
    """Refuse an ``--out`` that is not this sweep's folder; True when resuming one."""
    check_output_dir(out_dir)
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return False
    data = json.loads(manifest.read_text())
    if data.get("kind") != "sweep":
        raise OutputError(
            f"--out: {str(out_dir)!r} holds a cellsim {data.get('kind', 'scenario')} output, "
            "not a sweep; choose a new folder"
        )
    if data.get("fingerprint") != plan.fingerprint:
        raise OutputError(
            f"--out: {str(out_dir)!r} holds a different sweep ({data.get('name')!r}, "
            f"fingerprint {data.get('fingerprint')} != {plan.fingerprint}); rerun its own "
            "sweep file to resume it, or choose a new folder"
        )
    return True


def _manifest(plan: SweepPlan, status: str, **extra: Any) -> dict[str, Any]:
    import dask

    return {
        "kind": "sweep",
        "name": plan.sweep.name,
        "description": plan.sweep.description,
        "fingerprint": plan.fingerprint,
        "status": status,
        "parameters": plan.parameters,
        "grid_parameters": plan.grid_parameters,
        "sample_parameters": plan.sample_parameters,
        "n_points": plan.n_points,
        "replicates": plan.sweep.replicates,
        "n_runs": plan.n_runs,
        "seed_entropy": plan.sweep.seed,
        "cellsim_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "dask": dask.__version__,
        **extra,
    }


def read_results(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The ``runs``, ``trajectories`` and ``failures`` tables of a sweep folder (also of one
    still running or killed: compacted tables plus parts), sorted by point and replicate,
    with the parameter columns taken from ``points.parquet`` (one dtype per column)."""
    folder = Path(folder)
    runs, traj, failures = SweepStore(folder).read()
    points = pd.read_parquet(folder / "points.parquet")
    manifest = json.loads((folder / MANIFEST).read_text())
    names = list(manifest["parameters"])
    return _with_points(runs, points, names), traj, _with_points(failures, points, names)


def _with_points(df: pd.DataFrame, points: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if df.empty or "point" not in df.columns:
        return df
    cols = [c for c in df.columns if c not in names]
    at = cols.index("point") + 1
    merged = df[cols].merge(points[["point", *names]], on="point", how="left", sort=False)
    return merged[[*cols[:at], *names, *cols[at:]]]


def run_sweep(
    plan: SweepPlan,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    flush_runs: int = 32,
    flush_seconds: float = 30.0,
    console: Console | None = None,
    progress: bool = True,
    report: bool = True,
) -> dict[str, Any]:
    """Run the sweep's missing runs into ``out_dir``, compact, analyse, report.

    ``client`` (a ``distributed.Client``) overrides ``workers``/``scheduler``. Finished runs
    are stored in batches of ``flush_runs`` runs or every ``flush_seconds``, whichever
    comes first (a kill loses at most one unflushed batch). ``report=False`` skips the
    figures and report.md (so does a rerun that had nothing to run and finds a report);
    summary.csv is always written. Returns ``{"runs", "trajectories", "failures",
    "summary", "out_dir", "ran", "skipped"}``.
    """
    from cellsim.run.workflow import progress_bar

    console = console or Console()
    out_dir = Path(out_dir)
    resuming = check_sweep_folder(plan, out_dir)  # before anything is written
    store = SweepStore(out_dir)

    def missing() -> list[tuple[int, int]]:
        done = store.completed_ids() if out_dir.is_dir() else set()
        return [(i, r) for i, r in plan.all_runs() if plan.run_id(i, r) not in done]

    todo = missing()
    workers_seen: list[dict[str, Any]] = []
    errors: list[tuple[str, str]] = []
    with ExitStack() as stack:
        cl, where = None, ""
        if todo:  # connect (or start the cluster) before writing anything
            cl, where = stack.enter_context(_client_for(client, workers, scheduler))
        stack.enter_context(store.lock())
        store.remove_temporaries()
        if resuming:  # the workers that ran the stored runs, kept if none run now
            workers_seen = json.loads((out_dir / MANIFEST).read_text()).get("workers", [])
        write_json(out_dir / MANIFEST, _manifest(plan, "running"))
        write_json(out_dir / "sweep.resolved.json", plan.resolved())
        write_parquet(out_dir / "points.parquet", plan.points)
        write_csv(out_dir / "points.csv", plan.points)
        todo = missing() if todo else todo
        skipped = plan.n_runs - len(todo)
        console.print(
            f"{plan.sweep.name}: {plan.n_points} points x {plan.sweep.replicates} replicates "
            f"= {plan.n_runs} runs; "
            + (f"{skipped} already done (resuming), " if resuming else "")
            + f"{len(todo)} to run",
            markup=False,
        )
        if todo and cl is not None:
            if not cl.nthreads():
                console.print(f"waiting for workers to join {where} ...", markup=False)
                cl.wait_for_workers(1)
            info = cl.run(worker_info)
            workers_seen = [{"address": a, **v} for a, v in sorted(info.items())]
            console.print(
                f"running on {where}: {len(info)} worker(s), "
                f"{sum(cl.nthreads().values())} thread(s)",
                markup=False,
            )
            bar = progress_bar() if progress else None
            task = None
            if bar is not None:
                bar.start()
                task = bar.add_task(f"{plan.sweep.name}: runs", total=len(todo), failed=0)

            def on_done(ok: bool, err: tuple[str, str] | None) -> None:
                if err is not None:
                    errors.append(err)
                if bar is not None and task is not None:
                    bar.update(task, advance=1, failed=len(errors))

            try:
                _execute(
                    cl,
                    plan,
                    todo,
                    store,
                    flush_runs=max(1, flush_runs),
                    flush_seconds=flush_seconds,
                    on_done=on_done,
                )
            except BaseException:  # Ctrl-C, a lost scheduler, ...: stored runs stay
                write_json(out_dir / MANIFEST, _manifest(plan, "interrupted"))
                raise
            finally:
                if bar is not None:
                    bar.stop()
        runs, traj, failures = _finish_store(store, out_dir)
        complete = len(runs) == plan.n_runs
        write_json(
            out_dir / MANIFEST,
            _manifest(
                plan,
                "complete" if complete else "incomplete",
                completed_runs=len(runs),
                failed_runs=len(failures),
                workers=workers_seen,
            ),
        )
    if runs.empty and len(failures):
        from cellsim.run.errors import RunsFailed

        first = failures["error"].iloc[0]
        raise RunsFailed(f"all {len(failures)} runs failed; first error: {first}")
    figures = report and (bool(todo) or not (out_dir / "report.md").is_file())
    summary = analyse_sweep(out_dir, runs, failures, figures=figures)
    print_sweep_summary(console, summary, plan.parameters, out_dir)
    for _, row in failures.iterrows():
        console.print(f"run {row['run_id']} failed: {row['error']}", markup=False, style="red")
    return {
        "runs": runs,
        "trajectories": traj,
        "failures": failures,
        "summary": summary,
        "out_dir": out_dir,
        "ran": len(todo),
        "skipped": skipped,
    }


@contextmanager
def _client_for(client: Any, workers: int | None, scheduler: str | None) -> Iterator[tuple]:
    if client is not None:
        client.register_plugin(PinThreads())
        yield client, "the given client"
        return
    with dask_client(workers=workers, scheduler=scheduler) as pair:
        yield pair


def _finish_store(
    store: SweepStore, out_dir: Path
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Compact the parts into the top-level tables (normalised by points.parquet)."""
    runs, traj, failures = read_results(out_dir)
    store.compact((runs, traj, failures))
    return runs, traj, failures


# --------------------------------------------------------------------------------------
# analysis and report
# --------------------------------------------------------------------------------------


def analyse_sweep(
    folder: Path,
    runs: pd.DataFrame | None = None,
    failures: pd.DataFrame | None = None,
    figures: bool = True,
) -> pd.DataFrame:
    """summary.csv, and unless ``figures`` is False figures/ and report.md, of a sweep
    folder; returns the summary."""
    from analysis.sweep import make_sweep_figures, sweep_summary, write_sweep_report

    manifest = json.loads((folder / MANIFEST).read_text())
    if not (folder / "points.parquet").is_file():
        raise OutputError(f"folder = {str(folder)!r}: the sweep stored nothing yet (no points)")
    if runs is None or failures is None:
        runs, _, failures = read_results(folder)
    points = pd.read_parquet(folder / "points.parquet")
    params = list(manifest["parameters"])
    summary = sweep_summary(runs, params, points=points, failures=failures)
    write_csv(folder / "summary.csv", summary)
    if not figures:
        return summary
    paths = make_sweep_figures(
        summary,
        folder / "figures",
        grid_parameters=list(manifest.get("grid_parameters", params)),
        sample_parameters=list(manifest.get("sample_parameters", [])),
    )
    write_sweep_report(
        folder,
        summary,
        paths,
        parameters=params,
        failures=failures,
        title=f"cellsim sweep: {manifest['name']}",
        description=manifest.get("description", ""),
        overview=[
            f"- Points: {manifest['n_points']} x {manifest['replicates']} replicates = "
            f"{manifest['n_runs']} runs; stored: {len(runs)}; failed: {len(failures)}; "
            f"status: {manifest.get('status', 'unknown')}",
            f"- Seed entropy: {manifest.get('seed_entropy')}; cellsim "
            f"{manifest.get('cellsim_version')}; fingerprint {manifest.get('fingerprint')}",
        ],
    )
    return summary


def rewrite_sweep_report(folder: Path, console: Console | None = None) -> Path:
    """Recompute summary.csv, figures and report.md of a sweep folder (complete or not)."""
    summary = analyse_sweep(folder)
    if console is not None:
        manifest = json.loads((folder / MANIFEST).read_text())
        print_sweep_summary(console, summary, list(manifest["parameters"]), folder)
    return folder / "report.md"


def print_sweep_summary(
    console: Console, summary: pd.DataFrame, parameters: list[str], out_dir: Path
) -> None:
    """The per-point table (first rows): median years to exhaustion [95% CI]."""
    from analysis.sweep import format_sweep_summary

    console.print(
        "median age at replicative-pool exhaustion in years [95% CI] per point "
        "(Kaplan-Meier; runs that did not reach it are censored at their end)",
        markup=False,
    )
    for line in format_sweep_summary(summary, parameters, max_rows=40):
        console.print(line, markup=False, highlight=False)
    console.print(
        f"results in {out_dir}/: runs.parquet, trajectories.parquet, failures.parquet, "
        "points.parquet, summary.csv, report.md, figures/",
        markup=False,
    )
