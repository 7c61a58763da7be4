"""The resumable result store of a sweep (and of a scenario's runs): Parquet parts appended
atomically, then compacted.

Layout of a sweep output folder (``cellsim sweep FILE --out DIR``)::

    DIR/manifest.json              kind "sweep", fingerprint, status, counts (written first)
    DIR/parts/batch-000001/        one flush: runs.parquet, trajectories.parquet,
    DIR/parts/batch-000002/          failures.parquet (each only when it has rows)
    ...
    DIR/runs.parquet               the compacted tables (written when a sweep invocation
    DIR/trajectories.parquet         ends; the parts they absorbed are then removed)
    DIR/failures.parquet

Guarantees, whatever moment the process is killed (SIGKILL included):

- A part is built in a temporary sibling folder (``parts/.batch-000007.*.tmp``) and renamed
  into place (``cellsim.io.atomic_dir``): a part is complete or absent. Temporary folders
  and files (names starting with ``.``) are never read and are removed on the next start.
- The set of completed runs is the run ids of the top-level ``runs.parquet`` and of every
  part's ``runs.parquet``; nothing else records progress, so a rerun recomputes exactly the
  runs that were in flight or not yet flushed (at most one batch).
- Compaction writes ``trajectories.parquet``, then ``failures.parquet``, then
  ``runs.parquet`` (each atomically), and only then deletes the absorbed parts. A run
  found in several sources is taken from the first one that lists it in a ``runs`` table
  (top level, then parts in order), and its trajectories from that same source, so a kill
  between two of these steps never duplicates or mixes a run's rows.
- A run that raised is recorded in a part's ``failures.parquet``; it is not completed, so a
  rerun tries it again. The failures table keeps the latest attempt of each run that has
  not (yet) succeeded.

Rows are sorted by ``sort_by`` (default ``point``, ``replicate``) when read, so the tables
do not depend on worker count, completion order or how runs were batched.

A scenario run by ``cellsim run`` that is resumable (``cellsim.run.workflow``) keeps the same
``parts/`` in its output folder while it runs (manifest kind "scenario", status "running");
``SpecList`` lets the executors take its list of ``RunSpec``s, and ``Batch`` is the buffer of
finished runs that both executors (Dask, the local pool) flush into a store.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cellsim.config.plan import RunSpec
from cellsim.io import MANIFEST, OutputError, atomic_dir, write_json, write_parquet

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no folder lock
    fcntl = None  # type: ignore[assignment]

TABLES = ("runs", "trajectories", "failures")
PART_RE = re.compile(r"^batch-(\d{6,})$")
LOCK_NAME = ".lock"


class SweepStore:
    """A folder of Parquet parts plus the compacted tables (see the module doc)."""

    def __init__(
        self,
        root: str | Path,
        sort_by: Sequence[str] = ("point", "replicate"),
        kind: str = "sweep",
    ):
        self.root = Path(root)
        self.parts_dir = self.root / "parts"
        self.sort_by = tuple(sort_by)
        self.kind = kind
        """What writes the folder ("sweep", "scenario"), for the messages."""

    # --- housekeeping -------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the folder (released by the OS if the process dies)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputError(
                    f"--out: {str(self.root)!r} is in use by another running cellsim {self.kind}"
                ) from None
            yield
        finally:
            os.close(fd)

    def is_locked(self) -> bool:
        """True while a process holds ``lock()`` (a running sweep); never creates the file."""
        if fcntl is None:  # pragma: no cover
            return False
        try:
            fd = os.open(self.root / LOCK_NAME, os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # also releases a lock taken here
        return False

    def remove_temporaries(self) -> None:
        """Delete temporary files and folders left by a killed writer (names ``.*.tmp``)."""
        for folder in (self.root, self.parts_dir):
            if not folder.is_dir():
                continue
            for p in folder.glob(".*.tmp"):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)

    def parts(self) -> list[Path]:
        """Complete part folders, oldest first."""
        if not self.parts_dir.is_dir():
            return []
        found = [
            (int(m.group(1)), p) for p in self.parts_dir.iterdir() if (m := PART_RE.match(p.name))
        ]
        return [p for _, p in sorted(found)]

    def _sources(self) -> list[Path]:
        return [self.root, *self.parts()]

    # --- writing ------------------------------------------------------------------------
    def append(
        self,
        runs: list[dict[str, Any]],
        trajectories: list[pd.DataFrame],
        failures: list[dict[str, Any]],
    ) -> Path | None:
        """Write one batch as a new part folder, atomically; return it (None if empty)."""
        if not runs and not failures:
            return None
        existing = self.parts()
        number = int(PART_RE.match(existing[-1].name).group(1)) + 1 if existing else 1
        path = self.parts_dir / f"batch-{number:06d}"
        with atomic_dir(path) as tmp:  # makes parts/ too
            if runs:
                write_parquet(tmp / "runs.parquet", pd.DataFrame.from_records(runs))
            frames = [t for t in trajectories if t is not None and len(t)]
            if frames:
                write_parquet(tmp / "trajectories.parquet", pd.concat(frames, ignore_index=True))
            if failures:
                write_parquet(tmp / "failures.parquet", pd.DataFrame.from_records(failures))
        return path

    def compact(
        self, tables: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None = None
    ) -> None:
        """Merge the parts into the top-level tables and remove them (see the module doc).

        ``tables`` are the ``(runs, trajectories, failures)`` to write, by default
        ``self.read()``; a caller may pass them after normalising their columns.
        """
        parts = self.parts()
        if not parts and (self.root / "runs.parquet").is_file():
            return
        runs, traj, failures = tables if tables is not None else self.read()
        write_parquet(self.root / "trajectories.parquet", traj)
        write_parquet(self.root / "failures.parquet", failures)
        write_parquet(self.root / "runs.parquet", runs)  # the commit point
        for p in parts:
            shutil.rmtree(p, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.parts_dir.rmdir()  # only when empty

    # --- reading ------------------------------------------------------------------------
    def completed_ids(self) -> set[str]:
        """Run ids with a stored result."""
        done: set[str] = set()
        for src in self._sources():
            f = src / "runs.parquet"
            if f.is_file():
                done.update(pd.read_parquet(f, columns=["run_id"])["run_id"].astype(str))
        return done

    def read(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The ``runs``, ``trajectories`` and ``failures`` tables, deduplicated and sorted."""
        for attempt in range(3):  # a concurrent compaction may remove a part under us
            try:
                return self._read()
            except FileNotFoundError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _read(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        chosen: set[str] = set()
        runs_frames: list[pd.DataFrame] = []
        traj_frames: list[pd.DataFrame] = []
        fail_frames: list[pd.DataFrame] = []
        for src in self._sources():
            if (src / "failures.parquet").is_file():
                fail_frames.append(pd.read_parquet(src / "failures.parquet"))
            if not (src / "runs.parquet").is_file():
                continue
            runs = pd.read_parquet(src / "runs.parquet")
            if runs.empty:
                continue
            runs = runs[~runs["run_id"].astype(str).isin(chosen)]
            ids = set(runs["run_id"].astype(str))
            chosen |= ids
            runs_frames.append(runs)
            if (src / "trajectories.parquet").is_file():
                traj = pd.read_parquet(src / "trajectories.parquet")
                if not traj.empty:
                    traj_frames.append(traj[traj["run_id"].astype(str).isin(ids)])
        runs = self._sorted(_concat(runs_frames))
        traj = _concat(traj_frames)
        if len(traj) and len(runs):
            rank = pd.Series(range(len(runs)), index=runs["run_id"].astype(str))
            order = rank.reindex(traj["run_id"].astype(str)).to_numpy()
            traj = traj.iloc[pd.Series(order).argsort(kind="stable").to_numpy()]
            traj = traj.reset_index(drop=True)
        failures = _concat(fail_frames)
        if len(failures):
            failures = failures[~failures["run_id"].astype(str).isin(chosen)]
            failures = failures.drop_duplicates("run_id", keep="last")
            failures = self._sorted(failures)
        return runs, traj, failures

    def _sorted(self, df: pd.DataFrame) -> pd.DataFrame:
        if df.empty:
            return df.reset_index(drop=True)
        keys = [k for k in self.sort_by if k in df.columns] or ["run_id"]
        return df.sort_values(keys, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------
# what the executors share: finished runs buffered, a list of RunSpecs as a plan
# --------------------------------------------------------------------------------------


class Batch:
    """Finished runs waiting to be written as one part."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.traj: list[pd.DataFrame] = []
        self.failures: list[dict[str, Any]] = []
        self.since = time.monotonic()

    def __len__(self) -> int:
        return len(self.runs) + len(self.failures)

    def add(self, out: dict[str, Any], identity: dict[str, Any]) -> None:
        """Keep one run's outcome (``cellsim.run.dask.execute_run``'s record): its row and
        trajectories, or its failure record (``identity``'s columns, error, traceback)."""
        if out["ok"]:
            self.runs.append(out["row"])
            if out.get("trajectories") is not None:
                self.traj.append(out["trajectories"])
        else:
            self.failures.append(
                {**identity, "error": out["error"], "traceback": out.get("traceback", "")}
            )

    def due(self, max_runs: int, max_age_seconds: float) -> bool:
        """True when the batch holds ``max_runs`` runs or is ``max_age_seconds`` old."""
        return len(self) >= max_runs or time.monotonic() - self.since >= max_age_seconds

    def flush(self, store: SweepStore) -> None:
        """Append the batch to the store as one part and start an empty one."""
        store.append(self.runs, self.traj, self.failures)
        self.runs, self.traj, self.failures = [], [], []
        self.since = time.monotonic()


class SpecList:
    """A list of ``RunSpec``s seen as a plan by ``cellsim.run.dask.execute_plan``: run
    ``(i, 0)`` is ``specs[i]``; trajectories are stored whole (not subsampled)."""

    trajectory_interval_days: float | None = None
    store_trajectories: bool = True

    def __init__(self, specs: Sequence[RunSpec]) -> None:
        self.specs = list(specs)

    def all_runs(self) -> list[tuple[int, int]]:
        """Every run as ``(index, 0)``."""
        return [(i, 0) for i in range(len(self.specs))]

    def spec(self, index: int, replicate: int = 0) -> RunSpec:
        return self.specs[index]

    def run_id(self, index: int, replicate: int = 0) -> str:
        return self.specs[index].run_id

    def identity(self, index: int, replicate: int = 0) -> dict[str, Any]:
        """The identity columns of a failure record."""
        s = self.specs[index]
        return {"run_id": s.run_id, "arm": s.arm, "replicate": s.replicate}


# --------------------------------------------------------------------------------------
# the manifest of a folder being written
# --------------------------------------------------------------------------------------


def mark_interrupted(folder: str | Path) -> bool:
    """A manifest left "running" (a sweep's, or a resumable scenario's) by a process that
    is gone (killed: SIGKILL, power loss) becomes "interrupted"; True when it was. A live
    writer (its pid alive on this host, or the folder lock held) is left alone."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if data.get("kind") not in ("sweep", "scenario") or data.get("status") != "running":
        return False
    pid, host = data.get("pid"), data.get("host")
    same_host = host == platform.node()
    if isinstance(pid, int) and same_host and pid != os.getpid() and _alive(pid):
        return False
    if SweepStore(folder).is_locked():
        return False
    write_json(path, {**data, "status": "interrupted"})
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
