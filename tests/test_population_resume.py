"""A population's `cellsim run` is resumable like a sweep and runs on Dask (issue 16): a run
stopped after some runs and rerun with the same --out runs only the missing ones and ends
with the tables of an uninterrupted run; --scheduler gives the local pool's tables; bad
input is one line, exit 2, nothing written."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

import cellsim.run.generations as generations
import cellsim.run.workflow as wf
from cellsim.config.scenario import load_scenario
from cellsim.run.store import SweepStore

PLAIN = """
name = "people"
seed = 11
replicates = 3

[base.run]
horizon_days = 1461.0
record_interval_days = 182.625

[[base.tissues]]
name = "t"
n_cells = 100
lifespan_days = 60.0

[base.tissues.telomere]
initial_mean_bp = 6000.0
initial_sd_bp = 300.0
senescence_threshold_bp = 2000.0
"""
ARMS = """
[[arms]]
name = "control"

[[arms]]
name = "faster"
set = { "t.telomere.loss_mean_bp" = 150.0 }
"""
POPULATION = (
    PLAIN
    + """
[population.parameters]
"t.telomere.initial_mean_bp" = { distribution = "normal", mean = 5000, sd = 500 }

[population.report]
column = "telomere_mean_bp"
ages_years = [0, 2, 4]
below = 4000
event_ages_years = [2, 4]
"""
    + ARMS
)
FAMILY = (
    PLAIN.replace('name = "people"', 'name = "family"')
    + """
[generations]
count = 2
conception_age_years = 2.0
tissue = "t"
inherit = "t.telomere.initial_mean_bp"
"""
    + ARMS
)
N_RUNS = 6
QUIET = Console(file=io.StringIO())


def _file(folder: Path, text: str, name: str = "s.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _run(path: Path, out: Path, **kw):
    kw.setdefault("workers", 1)
    return wf.run_scenario(load_scenario(path), out, console=QUIET, progress=False, **kw)


def _tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = pd.read_parquet(folder / "runs.parquet").drop(columns=["wall_seconds"])
    traj = pd.read_parquet(folder / "trajectories.parquet")
    return runs.sort_values("run_id").reset_index(drop=True), traj


def _assert_same(a: Path, b: Path) -> None:
    ra, ta = _tables(a)
    rb, tb = _tables(b)
    pd.testing.assert_frame_equal(ra, rb)
    pd.testing.assert_frame_equal(ta, tb)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, Path]:
    """Uninterrupted runs of both scenarios (stored path), and the population's in memory."""
    root = tmp_path_factory.mktemp("reference")
    outs = {}
    for name, text in (("population", POPULATION), ("family", FAMILY)):
        outs[name] = root / name
        result = _run(_file(root, text, f"{name}.toml"), outs[name])
        assert result["ran"] == N_RUNS * (2 if name == "family" else 1)
    mp = pytest.MonkeyPatch()
    mp.setattr(wf, "is_resumable", lambda scenario: False)
    for name in ("population", "family"):  # run_many / run_chain, written at the end
        outs[f"{name}_memory"] = root / f"{name}_memory"
        _run(root / f"{name}.toml", outs[f"{name}_memory"])
    mp.undo()
    return outs


def _stop_after(monkeypatch, k: int) -> None:
    """The local pool yields ``k`` finished runs, then the process 'dies' (an exception);
    in a scenario's runs and in a chain's generations alike."""
    for module in (wf, generations):
        real = module.run_many

        def dying(specs, workers=1, real=real):
            for i, outcome in enumerate(real(specs, workers=workers)):
                if i == k:
                    raise KeyboardInterrupt
                yield outcome

        monkeypatch.setattr(module, "run_many", dying)


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_the_stored_path_writes_the_tables_of_the_in_memory_path(reference):
    for name in ("population", "family"):
        _assert_same(reference[name], reference[f"{name}_memory"])
        manifest = _manifest(reference[name])
        assert manifest["status"] == "complete" and manifest["fingerprint"]
        assert not (reference[name] / "parts").exists()
        assert "status" not in _manifest(reference[f"{name}_memory"])
    assert pd.read_parquet(reference["family"] / "runs.parquet")["generation"].max() == 2


def test_interrupted_population_resumes_to_the_uninterrupted_tables(
    reference, tmp_path, monkeypatch
):
    path = _file(tmp_path, POPULATION)
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        _stop_after(m, 4)
        with pytest.raises(KeyboardInterrupt):
            _run(path, out, flush_runs=3)
    assert _manifest(out)["status"] == "interrupted"
    assert len(SweepStore(out).completed_ids()) == 4
    assert not (out / "runs.parquet").exists()
    # a SIGKILL leaves "running" with a dead pid: the rerun finds it interrupted
    _write_status(out, "running", pid=99_999_999)
    result = _run(path, out)
    assert (result["ran"], result["skipped"]) == (N_RUNS - 4, 4)
    _assert_same(reference["population"], out)
    assert _manifest(out)["status"] == "complete" and not (out / "parts").exists()
    # a finished folder is not recomputed: the same command runs nothing
    result = _run(path, out)
    assert (result["ran"], result["skipped"]) == (0, N_RUNS)
    _assert_same(reference["population"], out)


def _write_status(out: Path, status: str, **extra) -> None:
    (out / "manifest.json").write_text(json.dumps({**_manifest(out), "status": status, **extra}))


def test_interrupted_generations_resume_without_running_a_run_twice(
    reference, tmp_path, monkeypatch
):
    path = _file(tmp_path, FAMILY)
    out = tmp_path / "out"
    ran: list[str] = []
    real = generations.run_many  # a chain runs its generations through it

    def counting(specs, workers=1):
        ran.extend(s.run_id for s in specs)
        return real(specs, workers=workers)

    with monkeypatch.context() as m:
        m.setattr(generations, "run_many", counting)
        _stop_after(m, 2)  # in the first generation
        with pytest.raises(KeyboardInterrupt):
            _run(path, out, flush_runs=1)
    stored = SweepStore(out).completed_ids()
    assert len(stored) == 2
    ran.clear()
    monkeypatch.setattr(generations, "run_many", counting)
    result = _run(path, out)
    assert result["skipped"] == 2 and result["ran"] == 2 * N_RUNS - 2
    assert not set(ran) & stored and len(ran) == len(set(ran)) == 2 * N_RUNS - 2
    _assert_same(reference["family"], out)


@pytest.fixture
def scheduler():
    """The address of an in-process Dask cluster (one worker thread: cheap)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=":0",
    ) as cluster:
        yield cluster.scheduler_address


def test_scheduler_gives_the_local_pools_tables(reference, cli, tmp_path, scheduler):
    path = _file(tmp_path, POPULATION)
    out = tmp_path / "dask"
    res = cli("run", str(path), "--out", str(out), "--scheduler", scheduler)
    assert res.returncode == 0, res.stderr
    assert f"running on scheduler {scheduler}" in res.stdout
    _assert_same(reference["population"], out)
    # a scenario without [population] also runs there, and is then resumable
    plain = _file(tmp_path, PLAIN + ARMS, "plain.toml")
    res = cli("run", str(plain), "--out", str(tmp_path / "plain"), "--scheduler", scheduler)
    assert res.returncode == 0, res.stderr
    assert _manifest(tmp_path / "plain")["status"] == "complete"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line(res, *words: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_bad_input_is_one_line_exit_2_and_nothing_written(reference, cli, tmp_path, monkeypatch):
    path = _file(tmp_path, POPULATION)
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{_free_port()}"
    _one_line(cli("run", str(path), "--out", str(out), "--scheduler", address), "cannot connect")
    assert not out.exists()
    _one_line(
        cli("run", str(path), "--out", str(out), "--workers", "2", "--scheduler", address),
        "--workers",
        "--scheduler",
    )
    family = _file(tmp_path, FAMILY, "family.toml")
    _one_line(
        cli("run", str(family), "--out", str(out), "--scheduler", address),
        "[generations]",
        "local pool",
    )
    assert not out.exists()
    # an unfinished folder of another scenario (another seed), or of this one with other
    # --replicates, is refused untouched
    with monkeypatch.context() as m:
        _stop_after(m, 2)
        with pytest.raises(KeyboardInterrupt):
            _run(path, out, flush_runs=1)
    before = _listing(out)
    other = _file(tmp_path, POPULATION.replace("seed = 11", "seed = 12"), "other.toml")
    _one_line(cli("run", str(other), "--out", str(out)), "different scenario", "'people'")
    _one_line(cli("run", str(path), "--out", str(out), "--replicates", "4"), "different scenario")
    # a scenario that runs in memory does not replace it either
    plain = _file(tmp_path, PLAIN + ARMS, "plain.toml")
    _one_line(cli("run", str(plain), "--out", str(out), "--workers", "1"), "unfinished run")
    assert _listing(out) == before
    # a finished output written in memory cannot be resumed into
    memory = tmp_path / "memory"
    res = cli("run", str(plain), "--out", str(memory), "--workers", "1")
    assert res.returncode == 0, res.stderr
    before = _listing(memory)
    _one_line(cli("run", str(path), "--out", str(memory)), "cannot be resumed")
    assert _listing(memory) == before


def test_failed_runs_on_dask_are_listed_and_a_rerun_retries_only_them(
    reference, tmp_path, scheduler, monkeypatch
):
    """A run that raises (a fault injected into the in-process worker's ``run_one``) is
    listed in the manifest, the others are written ("incomplete"); the same command
    again runs only the failed runs and ends with the uninterrupted tables."""
    import cellsim.run.dask as dask_mod

    path = _file(tmp_path, POPULATION)
    out = tmp_path / "out"
    real = dask_mod.run_one

    def flaky(spec):
        if spec.replicate == 1:
            raise RuntimeError(f"injected failure in {spec.run_id}")
        return real(spec)

    with monkeypatch.context() as m:
        m.setattr(dask_mod, "run_one", flaky)
        result = _run(path, out, scheduler=scheduler)
    assert [e["run_id"] for e in result["errors"]] == ["control/r001", "faster/r001"]
    manifest = _manifest(out)
    assert manifest["status"] == "incomplete" and len(manifest["failed_runs"]) == 2
    assert len(pd.read_parquet(out / "runs.parquet")) == N_RUNS - 2
    result = _run(path, out, scheduler=scheduler)
    assert (result["ran"], result["skipped"]) == (2, N_RUNS - 2)
    _assert_same(reference["population"], out)
    assert _manifest(out)["status"] == "complete"
