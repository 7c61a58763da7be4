"""Fuzzing the input files (issue 13 item 5).

The valid scenario and sweep files (scenarios/, tests/fixtures/) are parsed, mutated (keys
dropped, duplicated, renamed, retyped; extreme, non-finite and unicode values; lists and
tables reshaped; raw text cut or spliced) and written back, then checked through the
in-process CLI (``cellsim validate``, ``sweep --dry-run``, ``sensitivity --dry-run``,
``calibrate --dry-run``) in an empty working
folder. Whatever the mutation, the command either accepts the file (exit 0) or refuses it
with exit 2 and one line on stderr, never a traceback, and the folder holds nothing but the
input file afterwards.

The default profile takes ~20 s; ``CELLSIM_FUZZ_EXAMPLES=2000`` runs a longer search.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(
    [
        *ROOT.glob("scenarios/*.toml"),
        *ROOT.glob("tests/fixtures/**/*.toml"),
        ROOT / "scenarios/validation/blood.toml",
    ]
)
SWEEPS = sorted(ROOT.glob("scenarios/sweeps/*.toml"))
EXAMPLES = int(os.environ.get("CELLSIM_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _parsed(path: Path) -> dict[str, Any]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    scenario = data.get("scenario")
    if isinstance(scenario, str) and not Path(scenario).is_absolute():
        data["scenario"] = str((path.parent / scenario).resolve())  # still found from tmp
    return data


STUDIES = [p for p in sorted(ROOT.glob("scenarios/uq/*.toml")) if "outputs" in _parsed(p)]
CALIBRATIONS = [p for p in sorted(ROOT.glob("scenarios/uq/*.toml")) if "data" in _parsed(p)]


def _calibration(path: Path) -> dict[str, Any]:
    """A calibration file with its data path made absolute (the fuzzing runs elsewhere)."""
    data = _parsed(path)
    data["data"]["file"] = str((path.parent / data["data"]["file"]).resolve())
    return data


SOURCES = {
    "scenario": [_parsed(p) for p in SCENARIOS],
    "sweep": [_parsed(p) for p in SWEEPS],
    "sensitivity": [_parsed(p) for p in STUDIES],
    "calibration": [_calibration(p) for p in CALIBRATIONS],
}


# ---------------------------------------------------------------- writing TOML back


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        items = [f"{json.dumps(str(k))} = {_value(x)}" for k, x in v.items() if x is not None]
        return "{ " + ", ".join(items) + " }"
    raise TypeError(type(v))


def to_toml(data: dict[str, Any]) -> str:
    """Every top-level key as ``"key" = <inline value>`` (inline tables and arrays)."""
    return "".join(
        f"{json.dumps(str(k))} = {_value(v)}\n" for k, v in data.items() if v is not None
    )


# ---------------------------------------------------------------- mutations


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _parent(data: Any, path: tuple) -> Any:
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


SPECIAL = [
    True,
    False,
    0,
    -1,
    1,
    2**62,
    -(2**62),
    0.0,
    -0.0,
    1e-300,
    1e300,
    -1e300,
    math.inf,
    -math.inf,
    math.nan,
    "",
    "x",
    "$\\frac{$",
    "../x",
    ".hidden",
    "a b",
    "名前",
    "e\u0301",
    "\u202e",
    "a\nb",
    "\x00",
    [],
    {},
    [1, 2],
    ["a"],
    {"a": 1},
    [[]],
    [{}],
    "tissues.-1.lifespan_days",
    "tissues.99.n_cells",
    "interventions.0.start_age_days",
]
scalars = st.one_of(
    st.sampled_from(SPECIAL),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
)
OPS = ["drop", "retype", "extreme", "duplicate", "rename", "wrap", "unwrap", "swap"]


def _mutate_once(draw, data: dict[str, Any]) -> None:
    """One mutation of ``data`` in place, at a random key or list item."""
    paths = _paths(data)
    if not paths:
        return
    path = draw(st.sampled_from(paths))
    parent, key = _parent(data, path), path[-1]
    op = draw(st.sampled_from(OPS))
    old = parent[key]
    if op == "drop":
        del parent[key]
    elif op == "retype":
        parent[key] = draw(scalars)
    elif op == "extreme" and isinstance(old, int | float) and not isinstance(old, bool):
        parent[key] = draw(
            st.sampled_from([-old, old * 1e300, old + 2**63, 0, math.inf, math.nan, old / 3])
        )
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(key, json.loads(json.dumps(old)))
    elif op == "duplicate":
        parent[f"{key}{draw(st.sampled_from(['', '_2', '.x', ' ']))}x"] = old
    elif op == "rename" and isinstance(parent, dict):
        del parent[key]
        parent[draw(st.text(min_size=1, max_size=10))] = old
    elif op == "wrap":
        parent[key] = [old] if draw(st.booleans()) else {"value": old}
    elif op == "unwrap" and isinstance(old, list | dict) and old:
        parent[key] = old[0] if isinstance(old, list) else next(iter(old.values()))
    elif op == "swap":
        other = draw(st.sampled_from(paths))
        with contextlib.suppress(KeyError, IndexError, TypeError):
            parent[key] = json.loads(json.dumps(_parent(data, other)[other[-1]]))


@st.composite
def mutated(draw, kind: str) -> str:
    """A source file of ``kind`` with 1-4 mutations, as TOML text (maybe cut or spliced)."""
    data = json.loads(json.dumps(draw(st.sampled_from(SOURCES[kind]))))  # deep copy
    for _ in range(draw(st.integers(1, 4))):
        _mutate_once(draw, data)
    text = to_toml(data)
    cut = draw(st.sampled_from(["none", "none", "none", "truncate", "splice"]))
    if cut == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif cut == "splice":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=8)) + text[at:]
    return text


# ---------------------------------------------------------------- the property


def _check(command: list[str], text: str) -> None:
    old_cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            Path("input.toml").write_text(text, encoding="utf-8")
            out, err = io.StringIO(), io.StringIO()
            code = 0
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main([*command, "input.toml"])
                except SystemExit as exc:
                    code = int(exc.code or 0)
            stderr = err.getvalue()
            assert code in (0, 2), (code, stderr, text)
            assert "Traceback" not in stderr, (stderr, text)
            if code == 2:
                lines = stderr.strip().splitlines()
                assert len(lines) == 1, (stderr, text)
                assert lines[0].startswith("cellsim: error: input.toml"), (lines[0], text)
            else:
                assert "ok:" in out.getvalue(), (out.getvalue(), text)
            assert sorted(os.listdir(".")) == ["input.toml"], (os.listdir("."), text)
        finally:
            os.chdir(old_cwd)


@pytest.mark.parametrize("path", SCENARIOS + SWEEPS + STUDIES + CALIBRATIONS, ids=lambda p: p.name)
def test_the_source_files_are_valid(path):
    command = ["sweep", "--dry-run"] if path in SWEEPS else ["validate"]
    if path in STUDIES:
        command = ["sensitivity", "--dry-run"]
    if path in CALIBRATIONS:
        _check(["calibrate", "--dry-run"], to_toml(_calibration(path)))
        return
    _check(command, to_toml(_parsed(path)))


@FUZZ
@given(text=mutated("scenario"))
def test_fuzzed_scenarios_are_accepted_or_refused_in_one_line(text):
    _check(["validate"], text)


@FUZZ
@given(text=mutated("sweep"))
def test_fuzzed_sweeps_are_accepted_or_refused_in_one_line(text):
    _check(["sweep", "--dry-run"], text)


@FUZZ
@given(text=mutated("sensitivity"))
def test_fuzzed_sensitivity_studies_are_accepted_or_refused_in_one_line(text):
    _check(["sensitivity", "--dry-run"], text)


@FUZZ
@given(text=mutated("calibration"))
def test_fuzzed_calibrations_are_accepted_or_refused_in_one_line(text):
    _check(["calibrate", "--dry-run"], text)
