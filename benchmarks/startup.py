"""How long `cellsim run` takes to start simulating, with a cold and a warm Numba cache.

    .venv/bin/python benchmarks/startup.py                # 1 cold + 5 warm starts
    .venv/bin/python benchmarks/startup.py --warm 10 --json out.json

``measure()`` is also what benchmarks/bench.py runs for its start-up figures.

Each start is a fresh Python process running exactly what the `cellsim` console script
runs (``cellsim.cli.main``) on a tiny scenario (1000 cells, 1 replicate, 30 days) with the
default options (2 forked workers). The time to first step is measured from just before
the process is launched to the moment the model finishes its first simulated step (the
first call of ``AgingModel._after_steps``, which follows the kernels' first advance), read
from a probe that the child installs on that method; it includes interpreter start,
every import, reading and validating the scenario, forking the workers, building the
model (founding the cells) and loading or compiling the kernels. The end-to-end wall time
(tables, four figures and report.md included) is given beside it.

Cold start: ``NUMBA_CACHE_DIR`` points to an empty folder, so every kernel compiles, as
on the first run after a fresh install. Warm starts reuse that folder, as every later
`cellsim run` does (Numba's on-disk cache, ``cache=True`` on every kernel).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TINY_SCENARIO = """\
name = "bench-startup"
description = "Tiny scenario for timing the start-up of cellsim run"
seed = 1
replicates = 1

[base.run]
horizon_days = 30.0
stop_at = "horizon"

[[base.tissues]]
name = "tissue"
n_cells = 1000
lifespan_days = 140.0

[[arms]]
name = "only"
"""

# The child: the console script's own entry point, with a probe on the model's first step.
# Importing cellsim.engine.model here adds nothing: `cellsim run` imports it before any step.
CHILD = """\
import os, sys, time
from cellsim.cli import main
import cellsim.engine.model as _m

_orig = _m.AgingModel._after_steps
_mark = os.environ["CELLSIM_STARTUP_MARK"]

def _probe(self, *args):
    _orig(self, *args)
    try:
        fd = os.open(_mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return
    os.write(fd, repr(time.time()).encode())
    os.close(fd)

_m.AgingModel._after_steps = _probe
sys.argv = ["cellsim", *sys.argv[1:]]
main()
"""


class StartupError(RuntimeError):
    """`cellsim run` exited with an error (the message ends with its stderr)."""


def one_start(scenario: Path, out: Path, cache_dir: Path, mark: Path) -> dict[str, float]:
    """Launch one `cellsim run`; return seconds to the first step and to the end."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir), "CELLSIM_STARTUP_MARK": str(mark)}
    cmd = [sys.executable, "-c", CHILD, "run", str(scenario), "--out", str(out)]
    t0 = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    t_end = time.time()
    if proc.returncode != 0:
        raise StartupError(f"cellsim run failed:\n{proc.stderr[-3000:]}")
    if not mark.exists():
        raise StartupError("cellsim run finished without simulating a step")
    return {"first_step_s": float(mark.read_text()) - t0, "end_to_end_s": t_end - t0}


def measure(warm: int = 5, log: Callable[[str], None] | None = print) -> dict[str, Any]:
    """One cold start (empty Numba cache) and ``warm`` warm starts (the same cache), each a
    fresh `cellsim run` of the tiny scenario; ``log`` gets a line per start. Returns the
    summary: first-step and end-to-end seconds (cold; warm median and max), the 1-minute
    load average at the end and every start. Raises StartupError if a run fails."""
    with tempfile.TemporaryDirectory(prefix="cellsim-startup-") as tmp_name:
        tmp = Path(tmp_name)
        scenario = tmp / "tiny.toml"
        scenario.write_text(TINY_SCENARIO)
        cache = tmp / "numba-cache"
        cache.mkdir()
        starts = []
        for i in range(1 + warm):
            r: dict[str, Any] = one_start(scenario, tmp / f"out{i}", cache, tmp / f"mark{i}")
            r["kind"] = "cold" if i == 0 else "warm"
            starts.append(r)
            if log is not None:
                log(
                    f"{r['kind']:>4} start {i}: first step {r['first_step_s']:.2f} s, "
                    f"end to end {r['end_to_end_s']:.2f} s"
                )
    warm_first = [r["first_step_s"] for r in starts[1:]]
    warm_end = [r["end_to_end_s"] for r in starts[1:]]
    return {
        "cold_first_step_s": starts[0]["first_step_s"],
        "warm_first_step_median_s": statistics.median(warm_first) if warm_first else None,
        "warm_first_step_max_s": max(warm_first) if warm_first else None,
        "cold_end_to_end_s": starts[0]["end_to_end_s"],
        "warm_end_to_end_median_s": statistics.median(warm_end) if warm_end else None,
        "warm_end_to_end_max_s": max(warm_end) if warm_end else None,
        "loadavg_1min": os.getloadavg()[0],
        "starts": starts,
    }


def main() -> None:
    """Measure one cold start and ``--warm`` warm starts; print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=5, help="warm starts after the cold one")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    try:
        summary = measure(args.warm, log=lambda line: print(line, flush=True))
    except StartupError as e:
        raise SystemExit(f"startup.py: {e}") from None
    if args.warm:
        s = summary
        print(
            f"cold {s['cold_first_step_s']:.2f} s; warm median {s['warm_first_step_median_s']:.2f}"
            f" s, max {s['warm_first_step_max_s']:.2f} s (load {s['loadavg_1min']:.1f})"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
