"""Atomic writes: a reader sees the old file or folder or the new one, never half of one."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
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


CHECKPOINT_MAGIC = b"CELLSIM-CKPT\n"
"""The first bytes of every checkpoint file."""
CHECKPOINT_VERSION = 2
"""The checkpoint format this cellsim writes and reads (1 was a pickle, never read now)."""
_HEADER = struct.Struct(">IQ32s")  # version, payload length, SHA-256 of version+length+payload


class CheckpointError(ValueError):
    """A checkpoint file that cannot be resumed (one-line message)."""


def _digest(version: int, length: int, payload: bytes) -> bytes:
    return hashlib.sha256(struct.pack(">IQ", version, length) + payload).digest()


def write_checkpoint(
    path: str | os.PathLike[str], meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Path:
    """Write a checkpoint atomically: ``meta`` (JSON-able) and ``arrays`` (numeric numpy
    arrays) as an uncompressed ``.npz`` payload (the JSON as the uint8 array ``meta.json``)
    behind a header of magic, format version, payload length and SHA-256 (docs/ARCHITECTURE.md
    "Checkpoints"). Nothing in it is a pickle."""
    path = Path(path)
    text = json.dumps({"cellsim_version": __version__, **meta})  # key order kept: records
    buffer = io.BytesIO()
    entries = {"meta.json": np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays}
    np.savez(buffer, allow_pickle=False, **entries)
    payload = buffer.getvalue()
    digest = _digest(CHECKPOINT_VERSION, len(payload), payload)
    header = CHECKPOINT_MAGIC + _HEADER.pack(CHECKPOINT_VERSION, len(payload), digest)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(header + payload)
            f.flush()
            os.fsync(f.fileno())
    return path


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The ``(meta, arrays)`` saved by ``write_checkpoint``, after checking the magic, the
    format version, the length and the SHA-256 of the whole payload, before parsing any of
    it; arrays are read with ``allow_pickle=False``, so loading never runs code. Any
    problem is a one-line ``CheckpointError``."""
    where = f"checkpoint = {str(path)!r}"
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{where}: no such file") from None
    except OSError as exc:
        raise CheckpointError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    if not data.startswith(CHECKPOINT_MAGIC):
        raise CheckpointError(f"{where}: not a cellsim checkpoint (no {CHECKPOINT_MAGIC!r} header)")
    head = len(CHECKPOINT_MAGIC)
    if len(data) < head + _HEADER.size:
        raise CheckpointError(f"{where}: truncated ({len(data)} bytes, header incomplete)")
    version, length, digest = _HEADER.unpack_from(data, head)
    if version != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{where}: checkpoint format version {version}, this cellsim reads version"
            f" {CHECKPOINT_VERSION} only"
        )
    payload = data[head + _HEADER.size :]
    if len(payload) != length:
        raise CheckpointError(
            f"{where}: truncated or extended"
            f" (payload of {len(payload)} bytes, header says {length})"
        )
    if _digest(version, length, payload) != digest:
        raise CheckpointError(f"{where}: corrupted (SHA-256 of the contents does not match)")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(arrays.pop("meta.json").tobytes().decode("utf-8"))
    except Exception as exc:  # a file with a valid checksum that this code did not write
        raise CheckpointError(f"{where}: unreadable contents ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{where}: unreadable contents (metadata is not an object)")
    if meta.get("cellsim_version") != __version__:
        raise CheckpointError(
            f"{where}: written by cellsim {meta.get('cellsim_version')}, this is {__version__};"
            " resume it with that version"
        )
    return meta, arrays
