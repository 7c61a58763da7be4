"""The CLI's promise about output locations and leftovers (issue 13): an unusable output
location is exit 2 with one line before any run and nothing written; a killed run leaves
no worker processes and no temporaries that a later command would take for a result."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import cellsim.io as cio
from cellsim.io import OutputError, default_out_dir

from .test_cli import CELLSIM, SMALL
from .test_sweep import N_RUNS, SWEEP


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A scenario and a sweep file in an otherwise empty current folder; nothing may run."""

    def no_runs(*args, **kwargs):
        raise AssertionError("a run started")

    import cellsim.run.single
    import cellsim.run.sweep
    import cellsim.validation.tasks

    for module in (cellsim.run.single, cellsim.validation.tasks):
        monkeypatch.setattr(module, "map_unordered", no_runs)
    monkeypatch.setattr(cellsim.run.sweep, "client_for", no_runs)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(SMALL)
    (tmp_path / "w.toml").write_text(SWEEP)
    return tmp_path


COMMANDS = {
    "run": ["run", "s.toml", "--workers", "1"],
    "sweep": ["sweep", "w.toml", "--workers", "1"],
    "validate-biology": ["validate-biology", "--quick", "--workers", "1"],
}


def _refused(res: subprocess.CompletedProcess, *words: str) -> None:
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_empty_out_and_out_under_a_file_exit_2_nothing_written(cli, files, command):
    before = _listing(files)
    _refused(cli(*COMMANDS[command], "--out", ""), "--out = ''")
    _refused(cli(*COMMANDS[command], "--out", "s.toml/sub"), "'s.toml'", "is a file")
    _refused(cli(*COMMANDS[command], "--out", "s.toml"), "is a file")
    _refused(cli(*COMMANDS[command], "--out", "."), "not '.'")
    assert _listing(files) == before


@pytest.mark.parametrize("command", list(COMMANDS))
def test_read_only_folder_exit_2(cli, files, command, monkeypatch):
    ro = files / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make access() answer as for a user
        real = os.access
        monkeypatch.setattr(cio.os, "access", lambda p, m: Path(p).resolve() != ro and real(p, m))
    try:
        _refused(cli(*COMMANDS[command], "--out", "ro/out"), "'ro'", "not writable")
        assert not any(ro.iterdir())
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_existing_folder_must_hold_a_result_of_the_same_command(cli, files, command):
    other = files / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    _refused(cli(*COMMANDS[command], "--out", "other"), "not a cellsim output folder")
    for kind in ("scenario", "sweep", "validate-biology"):
        if kind == {"run": "scenario"}.get(command, command):
            continue
        folder = files / f"k-{kind}"
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"kind": kind}))
        _refused(cli(*COMMANDS[command], "--out", folder.name), f"cellsim {kind} output")
        assert _listing(folder) == ["manifest.json"]
    assert (other / "notes.txt").read_text() == "mine"


def test_default_output_folder_is_a_child_of_runs(cli, files):
    assert default_out_dir("small") == Path("runs/small")
    assert default_out_dir("a.b-c_1") == Path("runs/a.b-c_1")
    for bad in ("", ".", "..", "a/b", "../x", "a..b", ".hidden", "/abs", "a\\b", "x y"):
        with pytest.raises(OutputError, match="use letters, digits"):
            default_out_dir(bad)
    before = _listing(files)
    for name in ("../evil", "a/b", "", ".."):
        (files / "s.toml").write_text(SMALL.replace('name = "small"', f"name = {name!r}", 1))
        # refused by the input model (the name rule) before any output path is made
        _refused(cli("run", "s.toml"), f"name = {name!r}", "allowed")
        (files / "w.toml").write_text(SWEEP.replace('name = "tiny"', f"name = {name!r}", 1))
        res = cli("sweep", "w.toml")
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert _listing(files) == before


@pytest.mark.parametrize("command", list(COMMANDS))
def test_not_enough_disk_space_exit_2(cli, files, command, monkeypatch):
    usage = shutil.disk_usage(files)
    monkeypatch.setattr(cio.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    before = _listing(files)
    _refused(cli(*COMMANDS[command], "--out", "out"), "MB needed", "MB free")
    assert _listing(files) == before


# --------------------------------------------------------------------------------------
# nothing left behind by a killed command
# --------------------------------------------------------------------------------------

LONG = """
name = "long"
seed = 5
replicates = 4

[base.run]
horizon_days = 36500.0

[[base.tissues]]
name = "t"
n_cells = 5000
lifespan_days = 5.0

[base.tissues.telomere]
loss_mean_bp = 5.0

[[arms]]
name = "a"
"""


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return found


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        kids = _children(todo.pop())
        out |= kids
        todo.extend(kids)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie is dead, waiting for init to reap it


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_sigkilled_run_leaves_no_workers_and_no_output(tmp_path):
    (tmp_path / "long.toml").write_text(LONG)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*CELLSIM, "run", str(tmp_path / "long.toml"), "--out", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_children(proc.pid)) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "no workers started"
            time.sleep(0.05)
        time.sleep(0.5)  # the workers are running simulations
        workers = _descendants(proc.pid)
        assert len(workers) >= 2
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    deadline = time.monotonic() + 2.0
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in workers if _alive(p)], "workers outlived the killed command"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.toml"]


LONG_SWEEP = LONG.replace('[[arms]]\nname = "a"', '[parameters]\n"t.lifespan_days" = [5.0, 6.0]')


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_sigkilled_sweep_leaves_no_dask_workers_and_reads_interrupted(cli, tmp_path):
    (tmp_path / "long.toml").write_text(LONG_SWEEP.replace("n_cells = 5000", "n_cells = 50000"))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*CELLSIM, "sweep", str(tmp_path / "long.toml"), "--out", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "points.parquet").is_file() or len(_descendants(proc.pid)) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "the sweep did not start"
            time.sleep(0.1)
        time.sleep(1.0)  # the workers are running simulations
        workers = _descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    deadline = time.monotonic() + 2.0
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in workers if _alive(p)], "Dask workers outlived the killed sweep"
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    res = cli("report", str(out))  # the next command finds the writer gone
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted", res


DEAD_PID = 99_999_999  # above any pid_max


def test_leftovers_of_a_killed_atomic_write_are_removed_by_the_next_write(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"kind": "scenario"}')
    stale = tmp_path / f".out.{DEAD_PID}.abc123.tmp"
    stale.mkdir()
    (stale / "runs.parquet").write_text("half")
    live = tmp_path / f".out.{os.getpid()}.def456.tmp"  # a writer still at work
    live.mkdir()
    unrelated = tmp_path / f".other.{DEAD_PID}.x.tmp"
    unrelated.mkdir()
    with cio.atomic_dir(out) as tmp:
        assert not stale.exists() and live.is_dir() and unrelated.is_dir()
        assert tmp.name.startswith(f".out.{os.getpid()}.") and tmp.name.endswith(".tmp")
        (tmp / "manifest.json").write_text('{"kind": "scenario", "n": 2}')
    assert json.loads((out / "manifest.json").read_text())["n"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", live.name, unrelated.name])


def test_a_result_moved_aside_by_a_killed_swap_is_put_back(tmp_path):
    out = tmp_path / "out"
    old = tmp_path / ".out.old"
    old.mkdir()
    (old / "manifest.json").write_text('{"kind": "scenario"}')
    assert cio.recover_output(out) == []
    assert (out / "manifest.json").is_file() and not old.exists()
    old.mkdir()  # beside a result: a leftover
    assert cio.recover_output(out) == [old] and not old.exists()


def test_report_refuses_a_temporary_folder(cli, tmp_path):
    for name in (f".out.{DEAD_PID}.abc.tmp", ".out.old"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "runs.parquet").write_text("half")
        (folder / "manifest.json").write_text('{"kind": "scenario"}')
        _refused(cli("report", str(folder)), "temporary folder", "interrupted")
        assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "runs.parquet"]


def test_a_run_removes_the_temporary_folder_of_a_killed_run_and_caps_workers(cli, tmp_path):
    one_run = SMALL.replace("replicates = 3", "replicates = 1").split('[[arms]]\nname = "b"')[0]
    (tmp_path / "s.toml").write_text(one_run)
    stale = tmp_path / f".out.{DEAD_PID}.abc.tmp"
    stale.mkdir()
    res = cli("run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out"), "--workers", "50")
    assert res.returncode == 0, res.stderr
    assert "--workers = 50: using 1 (1 runs)" in res.stdout.splitlines()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.toml"]


def test_a_running_sweep_manifest_whose_process_is_gone_reads_interrupted(tmp_path):
    import platform

    from cellsim.run.store import SweepStore
    from cellsim.run.sweep import mark_interrupted

    manifest = tmp_path / "manifest.json"

    def write(status: str, pid: int) -> None:
        data = {"kind": "sweep", "status": status, "pid": pid, "host": platform.node()}
        manifest.write_text(json.dumps(data))

    def status() -> str:
        return json.loads(manifest.read_text())["status"]

    write("running", os.getppid())  # alive on this host: still running
    assert not mark_interrupted(tmp_path) and status() == "running"
    write("running", DEAD_PID)
    with SweepStore(tmp_path).lock():  # the folder lock is held: a sweep runs
        assert not mark_interrupted(tmp_path) and status() == "running"
    assert mark_interrupted(tmp_path) and status() == "interrupted"
    write("complete", DEAD_PID)
    assert not mark_interrupted(tmp_path) and status() == "complete"


def test_workers_are_capped_by_runs_and_cpus(monkeypatch):
    from cellsim.run.local import cap_workers

    said: list[str] = []
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert cap_workers(3, 10, said.append) == 3 and said == []
    assert cap_workers(64, 10, said.append) == 8
    assert cap_workers(64, 5, said.append) == 5
    assert cap_workers(4, 0, said.append) == 1
    assert said == [
        "--workers = 64: using 8 (4 x 2 CPUs)",
        "--workers = 64: using 5 (5 runs)",
        "--workers = 4: using 1 (0 runs)",
    ]


# --------------------------------------------------------------------------------------
# a write that fails after the work (a full disk, a read-only file system)
# --------------------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _fail_with(monkeypatch, where: str, errno_: int) -> None:
    """Make the OS refuse one kind of write, as a full disk (ENOSPC) or a read-only file
    system (EROFS) does: the call raises the OSError the system call would."""
    import errno

    import matplotlib.figure
    import pandas as pd

    def refuse(*args, **kwargs):
        raise OSError(errno_, os.strerror(errno_), "x")

    if where == "parquet":
        monkeypatch.setattr(pd.DataFrame, "to_parquet", refuse)
    elif where == "figure":
        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", refuse)
    elif where == "swap":  # the final rename of the new folder onto the old one
        real = os.replace

        def replace(src, dst, *a, **k):
            if Path(src).name.endswith(".tmp") and Path(dst).name == "out":
                raise OSError(errno_, os.strerror(errno_), str(dst))
            return real(src, dst, *a, **k)

        monkeypatch.setattr(cio.os, "replace", replace)
    assert errno_ in (errno.ENOSPC, errno.EROFS)


@pytest.mark.parametrize(
    ("where", "errno_name"), [("parquet", "ENOSPC"), ("figure", "ENOSPC"), ("swap", "EROFS")]
)
def test_a_run_whose_final_write_fails_exits_1_and_keeps_the_previous_result(
    cli, tmp_path, monkeypatch, where, errno_name
):
    import errno

    (tmp_path / "s.toml").write_text(SMALL)
    out = tmp_path / "out"
    args = ("run", str(tmp_path / "s.toml"), "--out", str(out), "--workers", "1")
    assert cli(*args).returncode == 0
    before = _snapshot(out)
    with monkeypatch.context() as m:
        _fail_with(m, where, getattr(errno, errno_name))
        res = cli(*args)
    assert res.returncode == 1, (res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("cellsim")]  # not the bar
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith(f"cellsim: error: writing {str(out)!r} failed")
    assert os.strerror(getattr(errno, errno_name)) in lines[0]
    assert "previous result there is kept" in lines[0]
    assert _snapshot(out) == before  # untouched, byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "s.toml"]  # no temporaries


def test_a_sweep_whose_disk_fills_exits_1_keeps_stored_runs_and_resumes(cli, tmp_path, monkeypatch):
    import errno

    import pandas as pd

    from cellsim.config.sweep import load_sweep
    from cellsim.run.store import SweepStore
    from cellsim.run.sweep import run_sweep

    (tmp_path / "w.toml").write_text(SWEEP)
    out = tmp_path / "out"
    real = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def fills_up(self, path, *a, **k):  # the disk fills after a few files
        calls["n"] += 1
        if calls["n"] > 5:  # points, then two parts of runs + trajectories
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(self, path, *a, **k)

    with monkeypatch.context() as m:
        m.setattr(pd.DataFrame, "to_parquet", fills_up)
        with pytest.raises(cio.WriteError, match="No space left on device") as info:
            run_sweep(load_sweep(tmp_path / "w.toml"), out, workers=1, flush_runs=4)
    assert len(str(info.value).splitlines()) == 1
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert not [p for p in out.rglob("*") if cio.is_temporary(p)]
    stored = len(SweepStore(out).completed_ids())
    assert 0 < stored < N_RUNS
    res = cli("sweep", str(tmp_path / "w.toml"), "--out", str(out), "--workers", "1")
    assert res.returncode == 0, res.stderr  # space again: the rerun resumes and completes
    assert f"{stored} already done (resuming)" in res.stdout
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_the_cli_reports_a_write_error_as_one_line_exit_1(cli, files, monkeypatch):
    import errno

    import cellsim.run.workflow

    def full(*args, **kwargs):
        raise cio.WriteError(files / "out", os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cellsim.run.workflow, "run_scenario", full)
    res = cli(*COMMANDS["run"], "--out", "out")
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("cellsim: error: writing") and "No space left" in res.stderr
