"""Parameter sweeps: the file format, the store, kill/resume, worker independence, failures,
an external Dask scheduler, and the sweep report."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cellsim.run.dask as dask_mod
from cellsim.config.sweep import load_sweep
from cellsim.run.dask import THREAD_ENV
from cellsim.run.store import SweepStore
from cellsim.run.sweep import mark_interrupted, run_sweep

from .conftest import kill_after_first_part

CELLSIM = [sys.executable, "-m", "cellsim.cli"]

# 8 points x 3 replicates = 24 runs of ~0.1 s each.
SWEEP = """
name = "tiny"
seed = 11
replicates = 3
trajectory_interval_days = 60.0

[base.run]
horizon_days = 1500.0
record_interval_days = 10.0
stop_at = "all_events"

[[base.tissues]]
name = "t"
n_cells = 1500
lifespan_days = 8.0

[base.tissues.telomere]
loss_mean_bp = 200.0

[parameters]
"t.lifespan_days" = [6.0, 10.0]
"t.telomere.loss_mean_bp" = { start = 150, stop = 300, num = 4, scale = "log" }
"""
N_RUNS = 24


def _write(folder: Path, text: str = SWEEP, name: str = "tiny.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _runs(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").drop(columns=["wall_seconds"])


def _assert_same_results(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(_runs(a), _runs(b))
    pd.testing.assert_frame_equal(
        pd.read_parquet(a / "trajectories.parquet"), pd.read_parquet(b / "trajectories.parquet")
    )


# --------------------------------------------------------------------------------------
# the file format (fast)
# --------------------------------------------------------------------------------------


def test_grid_order_ranges_and_sample(tmp_path):
    text = SWEEP + (
        '\n[sample]\nmethod = "lhs"\nn = 5\n[sample.bounds]\n'
        '"t.clearance.rate_per_day" = { low = 1e-3, high = 1e-1, scale = "log" }\n'
        '"t.n_cells" = { low = 500, high = 900, integer = true }\n'
    )
    plan = load_sweep(_write(tmp_path, text))
    assert plan.grid_parameters == ["t.lifespan_days", "t.telomere.loss_mean_bp"]
    assert plan.sample_parameters == ["t.clearance.rate_per_day", "t.n_cells"]
    assert plan.n_points == 2 * 4 * 5 and plan.n_runs == 3 * 40
    pts = plan.points
    # grid outer (last grid parameter fastest), sample inner
    loss = np.geomspace(150, 300, 4)
    assert pts["t.lifespan_days"].tolist() == [6.0] * 20 + [10.0] * 20
    assert np.allclose(pts["t.telomere.loss_mean_bp"][:20], np.repeat(loss, 5))
    # the same 5 sample points under every grid point, inside the bounds
    sample = pts[["t.clearance.rate_per_day", "t.n_cells"]]
    assert (sample.iloc[:5].to_numpy() == sample.iloc[35:].to_numpy()).all()
    assert sample["t.clearance.rate_per_day"].between(1e-3, 1e-1).all()
    assert sample["t.n_cells"].between(500, 900).all()
    assert pts["t.n_cells"].dtype.kind == "i"
    # Latin hypercube: one point per fifth of each (log-)range
    u = np.log10(sample["t.clearance.rate_per_day"].iloc[:5].to_numpy()) + 3
    assert sorted(np.floor(u / 2 * 5).astype(int)) == [0, 1, 2, 3, 4]
    # deterministic: the same seed gives the same points and run seeds
    again = load_sweep(tmp_path / "tiny.toml")
    pd.testing.assert_frame_equal(pts, again.points)
    assert plan.fingerprint == again.fingerprint
    spec = plan.spec(7, 2)
    assert spec.run_id == "p00007/r002"
    assert spec.params.tissues[0].lifespan_days == 6.0
    assert spec.params.tissues[0].n_cells == int(pts.loc[7, "t.n_cells"])
    assert spec.seed_sequence().entropy == 11
    # sobol needs a power of 2; a valid one gives n points per grid point
    sobol = text.replace('method = "lhs"\nn = 5', 'method = "sobol"\nn = 4')
    assert load_sweep(_write(tmp_path, sobol, "s.toml")).n_points == 2 * 4 * 4


def test_base_from_a_scenario_file_and_arm(tmp_path):
    (tmp_path / "sc").mkdir()
    (tmp_path / "sc" / "base.toml").write_text(
        'name = "b"\n[[base.tissues]]\nname = "skin"\nn_cells = 700\n'
        '[[arms]]\nname = "slow"\nset = { "skin.lifespan_days" = 300.0 }\n'
    )
    text = (
        'scenario = "sc/base.toml"\narm = "slow"\nreplicates = 2\n'
        '[parameters]\n"skin.telomere.loss_mean_bp" = [80.0, 120.0]\n'
    )
    plan = load_sweep(_write(tmp_path, text, "s.toml"))
    assert plan.base.tissues[0].n_cells == 700
    assert plan.base.tissues[0].lifespan_days == 300.0
    assert plan.n_runs == 4 and plan.sweep.name == "s"
    no_arm = load_sweep(_write(tmp_path, text.replace('arm = "slow"\n', ""), "s2.toml"))
    assert no_arm.base.tissues[0].lifespan_days == 140.0  # the scenario's base


BAD = [
    (("seed = 11", "seed = 11\nfrobnicate = 1"), ["frobnicate", "unknown key"]),
    (("seed = 11", "seed = -1"), ["seed = -1", "greater than or equal to 0"]),
    (
        ('"t.lifespan_days" = [6.0, 10.0]', '"t.lifespan_dayz" = [6.0, 10.0]'),
        ["t.lifespan_dayz", "unknown parameter"],
    ),
    (
        ('"t.lifespan_days" = [6.0, 10.0]', '"t.lifespan_days" = [6.0, -10.0]'),
        ["p00004", "lifespan_days = -10.0", "greater than or equal to 0.0001"],
    ),
    (("num = 4,", "num = 0,"), ['"t.telomere.loss_mean_bp".num = 0', "greater than or equal"]),
    (("start = 150", "start = -150"), ["start = -150", "log"]),
    (
        ('"t.lifespan_days" = [6.0, 10.0]', '"t.lifespan_days" = 6.0'),
        ["t.lifespan_days", "6.0", "list of values"],
    ),
    (
        ('"t.lifespan_days" = [6.0, 10.0]', '"t.lifespan_days" = { values = [6.0], step = 2 }'),
        ["step", "unknown key"],
    ),
    (
        ('"t.lifespan_days" = [6.0, 10.0]', '"t.lifespan_days" = [6.0, 6.0]'),
        ["t.lifespan_days", "repeat"],
    ),
    (
        (
            "[parameters]",
            '[sample]\nmethod = "sobol"\nn = 10\n[sample.bounds]\n'
            '"t.n_cells" = { low = 500, high = 900 }\n[parameters]',
        ),
        ["sample", "n = 10", "power of 2"],
    ),
    (
        (
            "[parameters]",
            "[sample]\nn = 4\n[sample.bounds]\n"
            '"t.n_cells" = { low = 900, high = 500 }\n[parameters]',
        ),
        ["low = 900", "high = 500"],
    ),
    (("seed = 11", 'seed = 11\nscenario = "nope.toml"'), ["scenario", "both"]),
    (("seed = 11", 'seed = 11\narm = "x"'), ["arm = 'x'", "scenario"]),
    (("replicates = 3", "replicates = 0"), ["replicates = 0", "greater than or equal to 1"]),
    (("seed = 11", "seed = 11\n[broken"), ["not valid TOML"]),
]


@pytest.mark.parametrize(("edit", "must_name"), BAD)
def test_bad_sweep_file_one_line_exit_2_nothing_written(cli, tmp_path, edit, must_name):
    old, new = edit
    assert old in SWEEP
    path = _write(tmp_path, SWEEP.replace(old, new, 1), "bad.toml")
    out = tmp_path / "out"
    for command in (["sweep", str(path), "--dry-run"], ["sweep", str(path), "--out", str(out)]):
        res = cli(*command)
        assert res.returncode == 2, (res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1, res.stderr
        assert "Traceback" not in res.stderr
        for word in must_name:
            assert word in lines[0], (word, lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_bad_sweep_options_and_missing_files(cli, tmp_path):
    path = _write(tmp_path)
    out = str(tmp_path / "out")
    for args, word in (
        (["sweep", str(tmp_path / "nope.toml"), "--out", out], "not found"),
        (["sweep", str(path), "--out", out, "--workers", "0"], "--workers"),
        (["sweep", str(path), "--out", out, "--workers", "2", "--scheduler", "x"], "--scheduler"),
        (
            [
                "sweep",
                _write(
                    tmp_path,
                    'scenario = "gone.toml"\n'
                    + SWEEP.split("[base.run]")[0]
                    + '[parameters]\n"lifespan_days" = [5.0]\n',
                    "s.toml",
                ).as_posix(),
                "--out",
                out,
            ],
            "gone.toml",
        ),
        (["sweep", str(path), "--out", str(path)], "--out"),  # a file, not an output folder
    ):
        res = cli(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and word in res.stderr, res.stderr
    assert not (tmp_path / "out").exists()


def test_dry_run_lists_points(cli, tmp_path):
    res = cli("sweep", str(_write(tmp_path)), "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "8 points x 3 replicates = 24 runs" in res.stdout and "p00007" in res.stdout


# --------------------------------------------------------------------------------------
# the store (fast): a kill at any step never duplicates or loses stored runs
# --------------------------------------------------------------------------------------


def _fake(run: int, point: int) -> tuple[dict, pd.DataFrame]:
    row = {"run_id": f"p{point:05d}/r{run:03d}", "point": point, "replicate": run, "x": 1.0}
    traj = pd.DataFrame({"run_id": row["run_id"], "day": [0.0, 30.0], "v": [run, point]})
    return row, traj


def test_store_parts_resume_and_compaction_crash_windows(tmp_path):
    store = SweepStore(tmp_path)
    rows = [_fake(r, p) for p in (1, 0) for r in (1, 0)]
    store.append([rows[0][0], rows[1][0]], [rows[0][1], rows[1][1]], [])
    fail = {"run_id": "p00000/r000", "point": 0, "replicate": 0, "error": "boom"}
    store.append([rows[2][0]], [rows[2][1]], [fail])
    # a writer killed while building a part leaves only a temporary folder: never read
    tmp_part = store.parts_dir / ".batch-000003.abc.tmp"
    tmp_part.mkdir()
    (tmp_part / "runs.parquet").write_bytes(b"PAR1 half a file")
    assert store.completed_ids() == {"p00001/r001", "p00001/r000", "p00000/r001"}
    runs, traj, failures = store.read()
    assert runs["run_id"].tolist() == ["p00000/r001", "p00001/r000", "p00001/r001"]
    assert traj["run_id"].tolist() == [r for r in runs["run_id"] for _ in range(2)]
    assert failures["run_id"].tolist() == ["p00000/r000"]
    store.remove_temporaries()
    assert not tmp_part.exists()
    # the retried run succeeds: it leaves the failures table
    store.append([rows[3][0]], [rows[3][1]], [])
    runs, traj, failures = store.read()
    assert len(runs) == 4 and failures.empty and len(traj) == 8
    # compaction killed after writing the top-level trajectories (not runs): nothing doubles
    from cellsim.io import write_parquet

    write_parquet(tmp_path / "trajectories.parquet", traj)
    again = store.read()
    pd.testing.assert_frame_equal(again[0], runs)
    pd.testing.assert_frame_equal(again[1], traj)
    # ... or after writing runs too, before removing the parts: still no duplicates
    write_parquet(tmp_path / "runs.parquet", runs)
    again = store.read()
    pd.testing.assert_frame_equal(again[0], runs)
    pd.testing.assert_frame_equal(again[1], traj)
    store.compact()
    assert store.parts() == [] and not store.parts_dir.exists()
    final = store.read()
    pd.testing.assert_frame_equal(final[0], runs)
    pd.testing.assert_frame_equal(final[1], traj)


def test_trajectory_subsampling_keeps_one_record_per_interval_and_the_last():
    days = [0.0, 10.0, 20.0, 30.0, 60.0, 61.0, 95.0]
    traj = pd.DataFrame({"tissue": "t", "day": days + days, "v": range(14)})
    traj.loc[7:, "tissue"] = "s"
    out = dask_mod.subsample_trajectories(traj, 30.0)
    assert out[out.tissue == "t"]["day"].tolist() == [0.0, 30.0, 60.0, 95.0]
    assert out[out.tissue == "s"]["day"].tolist() == [0.0, 30.0, 60.0, 95.0]
    assert dask_mod.subsample_trajectories(traj, None).equals(traj)


def test_task_sizer_starts_with_single_runs_then_fills_tasks_to_the_target_time():
    sizer = dask_mod.TaskSizer(target_task_seconds=2.0, balance=4, max_runs=50)
    assert sizer.size(remaining=1000, threads=2) == 1  # nothing measured yet
    sizer.observe(n_runs=1, seconds=0.05)
    sizer.observe(n_runs=3, seconds=0.15)
    assert sizer.seconds_per_run == pytest.approx(0.05)
    assert sizer.size(remaining=10_000, threads=2) == 40  # 2 s / 0.05 s
    assert sizer.size(remaining=160, threads=2) == 20  # a 1/(4 x 2) share of what is left
    assert sizer.size(remaining=5, threads=2) == 1  # the tail goes one run per task
    sizer.observe(n_runs=4, seconds=0.0)
    assert sizer.size(remaining=10**6, threads=2) == 50  # 80 by time, capped at max_runs
    sizer.observe(n_runs=0, seconds=9.0)  # an empty task changes nothing
    assert sizer.seconds_per_run == pytest.approx(0.025)


def test_a_failing_run_in_a_batch_is_an_error_record_and_its_neighbours_run(tmp_path, monkeypatch):
    plan = load_sweep(_write(tmp_path, SWEEP.replace("1500.0", "30.0")))
    specs = [plan.spec(point, 0) for point in (4, 5, 6)]
    real = dask_mod.run_one

    def flaky(spec):
        if spec.extra["point"] == 5:
            raise RuntimeError("injected")
        return real(spec)

    monkeypatch.setattr(dask_mod, "run_one", flaky)
    out = dask_mod.execute_batch(specs, 60.0, True)
    assert [o["ok"] for o in out["outcomes"]] == [True, False, True]
    assert out["outcomes"][1]["error"] == "RuntimeError: injected"
    assert [o["run_id"] for o in out["outcomes"]] == [s.run_id for s in specs]
    # each run of the batch is the run it would be alone (its seed is in its spec)
    alone = dask_mod.execute_run(specs[2], 60.0, True)
    row, alone_row = (pd.Series(o["row"]).drop("wall_seconds") for o in (out["outcomes"][2], alone))
    pd.testing.assert_series_equal(row, alone_row)
    pd.testing.assert_frame_equal(out["outcomes"][2]["trajectories"], alone["trajectories"])
    assert out["seconds"] > 0


# --------------------------------------------------------------------------------------
# running sweeps (slow): identical results for any workers, kill/resume, failures, cluster
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The tiny sweep, uninterrupted, on one local worker process."""
    folder = tmp_path_factory.mktemp("ref")
    plan = load_sweep(_write(folder))
    out = folder / "out"
    run_sweep(plan, out, workers=1, progress=False, report=False)
    return out


@pytest.fixture(scope="module")
def two_workers():
    """A client of cellsim's own LocalCluster of two worker processes."""
    with dask_mod.dask_client(workers=2) as (client, _):
        yield client


@pytest.mark.slow
def test_two_workers_give_the_one_worker_results_and_report(cli, reference, two_workers, tmp_path):
    runs = pd.read_parquet(reference / "runs.parquet")
    assert len(runs) == N_RUNS and runs["exhaustion_day"].notna().all()
    assert runs["run_id"].tolist() == sorted(runs["run_id"])  # sorted by run id
    assert pd.read_parquet(reference / "failures.parquet").empty
    out = tmp_path / "w2"
    plan = load_sweep(_write(tmp_path))
    run_sweep(plan, out, client=two_workers, progress=False, report=False)
    _assert_same_results(reference, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["status"] == "complete"
    assert len(manifest["workers"]) == 2
    for w in manifest["workers"]:  # Numba and BLAS pinned to one thread in every worker
        assert w["env"] == THREAD_ENV and w["numba_num_threads"] == 1
    # summary per point, figures and report by `cellsim report`
    assert not (out / "report.md").exists()
    res = cli("report", str(out))
    assert res.returncode == 0, res.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 8 and (summary["n_runs"] == 3).all()
    # every run went on to exhaustion (all_events, no transformation), and says so
    assert (summary["stopped_at_exhaustion"] == 3).all()
    assert "runs stopped at: exhaustion (no CYCLING or STEM cell left) 24/24" in res.stdout
    assert {
        "exhaustion_median_years",
        "exhaustion_ci_low_years",
        "exhaustion_ci_high_years",
        "exhaustion_censored_fraction",
    } <= set(summary.columns)
    slow = summary[summary["t.lifespan_days"] == 10.0]["exhaustion_median_years"].to_numpy()
    fast = summary[summary["t.lifespan_days"] == 6.0]["exhaustion_median_years"].to_numpy()
    assert (slow > fast).all()  # slower turnover, later exhaustion
    assert (out / "figures" / "heatmap_exhaustion.png").stat().st_size > 10_000
    assert (out / "figures" / "lines_exhaustion_t_lifespan_days.png").is_file()
    assert "p00007" in (out / "report.md").read_text()
    # rerunning a complete sweep runs nothing and changes nothing
    res = cli("sweep", str(tmp_path / "tiny.toml"), "--out", str(out), "--workers", "2")
    assert res.returncode == 0 and "24 already done" in res.stdout and "0 to run" in res.stdout
    _assert_same_results(reference, out)
    # a different sweep may not write into this folder
    other = _write(tmp_path, SWEEP.replace("seed = 11", "seed = 12"), "other.toml")
    res = cli("sweep", str(other), "--out", str(out))
    assert res.returncode == 2 and "different sweep" in res.stderr
    _assert_same_results(reference, out)


@pytest.mark.slow
def test_sweep_killed_part_way_then_rerun_gives_the_same_table(reference, two_workers, tmp_path):
    path = _write(tmp_path)
    out = tmp_path / "out"
    args = [*CELLSIM, "sweep", str(path), "--out", str(out), "--workers", "2", "--flush-runs", "2"]
    pid = kill_after_first_part(args, out)
    store = SweepStore(out)
    done = store.completed_ids()
    assert 0 < len(done) < N_RUNS, len(done)
    assert not (out / "runs.parquet").exists()  # killed before compaction
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running" and manifest["pid"] == pid
    assert mark_interrupted(out)  # as `cellsim report` or a rerun finds it
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    # the same sweep again (here in-process, on two workers): only the missing runs run
    result = run_sweep(load_sweep(path), out, client=two_workers, progress=False, report=False)
    assert result["skipped"] == len(done) and result["ran"] == N_RUNS - len(done)
    _assert_same_results(reference, out)
    assert not (out / "parts").exists()


@pytest.mark.slow
def test_failing_point_is_recorded_the_sweep_goes_on_and_a_rerun_retries_it(
    reference, tmp_path, monkeypatch
):
    """Run the sweep on an in-process cluster (threads, one worker) whose ``run_one`` raises
    for point 5: a test-only fault injected by monkeypatching the module global that the
    worker calls (valid parameters never make the model raise, so a real failing point
    would need a model bug)."""
    from distributed import Client, LocalCluster

    real = dask_mod.run_one

    def flaky(spec):
        if spec.extra["point"] == 5:
            raise RuntimeError(f"injected failure in {spec.run_id}")
        return real(spec)

    plan = load_sweep(_write(tmp_path))
    out = tmp_path / "out"
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        monkeypatch.setattr(dask_mod, "run_one", flaky)
        result = run_sweep(plan, out, client=client, progress=False, flush_runs=5)
        failures = pd.read_parquet(out / "failures.parquet")
        assert failures["run_id"].tolist() == [f"p00005/r00{r}" for r in range(3)]
        assert failures["error"].str.startswith("RuntimeError: injected failure").all()
        assert "flaky" in failures["traceback"].iloc[0]
        assert (failures["t.lifespan_days"] == 10.0).all()
        runs = pd.read_parquet(out / "runs.parquet")
        assert len(runs) == N_RUNS - 3 and 5 not in set(runs["point"])
        summary = result["summary"].set_index("point_id")
        assert summary.loc["p00005", "n_runs"] == 0 and summary.loc["p00005", "n_failed"] == 3
        assert json.loads((out / "manifest.json").read_text())["status"] == "incomplete"
        assert "p00005/r000" in (out / "report.md").read_text()
        # the same command again, without the fault: only the failed runs run
        monkeypatch.setattr(dask_mod, "run_one", real)
        result = run_sweep(plan, out, client=client, progress=False, report=False)
    assert result["ran"] == 3 and result["skipped"] == N_RUNS - 3
    assert pd.read_parquet(out / "failures.parquet").empty
    _assert_same_results(reference, out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sweep_on_an_external_scheduler_and_worker(cli, reference, tmp_path):
    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, **THREAD_ENV}
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        )
        procs.append(
            subprocess.Popen(
                [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=tmp_path,
            )
        )
        deadline = time.monotonic() + 60
        while True:  # the scheduler is up when its port accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "dask scheduler did not start"
                assert procs[0].poll() is None, "dask scheduler exited"
                time.sleep(0.1)
        out = tmp_path / "out"
        res = cli(
            "sweep", str(_write(tmp_path)), "--out", str(out), "--scheduler", address, "--no-report"
        )
        assert res.returncode == 0, res.stderr
        assert f"scheduler {address}" in res.stdout
        _assert_same_results(reference, out)
        workers = json.loads((out / "manifest.json").read_text())["workers"]
        assert workers and all(w["numba_num_threads"] == 1 for w in workers)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)


def test_unreachable_scheduler_is_a_one_line_error(cli, tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.monotonic()
    res = cli("sweep", str(_write(tmp_path)), "--out", str(tmp_path / "o"), "--scheduler", address)
    assert res.returncode == 2 and "cannot connect" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert time.monotonic() - t0 < 60
