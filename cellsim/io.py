"""Atomic writes: a reader sees the old file or folder or the new one, never half of one."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from cellsim import __version__

MANIFEST = "manifest.json"
"""Every cellsim output folder holds this file; only such folders are ever replaced."""


class OutputError(ValueError):
    """An output location that cannot be used (one-line message)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically (sorted keys, indented)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_parquet(path: str | Path, df: pd.DataFrame) -> None:
    """Write a DataFrame to Parquet atomically (pyarrow, zstd)."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, engine="pyarrow", compression="zstd", index=False)


def write_csv(path: str | Path, df: pd.DataFrame) -> None:
    """Write a DataFrame to CSV atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def check_output_dir(path: str | Path) -> Path:
    """Refuse an output folder that exists and is not a cellsim output (nothing is written)."""
    path = Path(path)
    if path.exists() and not (path / MANIFEST).is_file():
        if path.is_dir() and not any(path.iterdir()):
            return path
        raise OutputError(
            f"--out: {str(path)!r} exists and is not a cellsim output folder; choose a new folder"
        )
    return path


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder in a temporary sibling; on success swap it in for ``path``.

    An existing ``path`` (a previous cellsim output) is replaced only once the new one is
    complete; on an error the temporary folder is removed and ``path`` is untouched.
    """
    path = check_output_dir(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


CHECKPOINT_FORMAT = "cellsim-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be resumed (one-line message)."""


def write_checkpoint(path: str | os.PathLike[str], obj: Any) -> Path:
    """Pickle ``obj`` to ``path`` atomically, with the format and cellsim version."""
    path = Path(path)
    data = {"format": CHECKPOINT_FORMAT, "cellsim_version": __version__, "object": obj}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def read_checkpoint(path: str | os.PathLike[str]) -> Any:
    """The object saved by ``write_checkpoint`` (the same cellsim version only).

    A checkpoint is a pickle, which can run code when loaded: load only files you wrote.
    """
    where = f"checkpoint = {str(path)!r}"
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"{where}: no such file") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        raise CheckpointError(f"{where}: not a readable cellsim checkpoint ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{where}: not a cellsim checkpoint ({CHECKPOINT_FORMAT})")
    if data.get("cellsim_version") != __version__:
        raise CheckpointError(
            f"{where}: written by cellsim {data.get('cellsim_version')}, this is {__version__};"
            " resume it with that version"
        )
    return data["object"]
