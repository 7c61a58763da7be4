"""Atomic writes: a reader sees the old file or folder or the new one, never half of one."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
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


class WriteError(RuntimeError):
    """Writing an output failed (a full disk, a read-only file system): one-line message,
    exit code 1. The output it was replacing, if any, is untouched."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(
            f"writing {str(path)!r} failed: {reason}; nothing was replaced (a previous result "
            "there is kept)"
        )


def _write_error(path: Path, exc: OSError | WriteError) -> WriteError:
    """The error for ``path`` (an inner file's WriteError is reported for the folder)."""
    if isinstance(exc, WriteError):
        return WriteError(path, exc.reason)
    reason = (exc.strerror or str(exc) or type(exc).__name__).splitlines()[0]
    return WriteError(path, reason + (f" (errno {exc.errno})" if exc.errno else ""))


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
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


LEFTOVER_NAMES = (".lock",)
"""Files a cellsim writer may leave in an output folder without a manifest (a sweep's lock)."""

MB = 1 << 20


def _is_leftover(p: Path) -> bool:
    return p.name in LEFTOVER_NAMES or (p.name.startswith(".") and p.name.endswith(".tmp"))


def _manifest_kind(path: Path) -> str | None:
    try:
        return str(json.loads((path / MANIFEST).read_text()).get("kind", "unknown"))
    except (OSError, ValueError, AttributeError):
        return None


def preflight_output(path: str | Path, kind: str, need_bytes: int = 0) -> Path:
    """Check an output location before any work; raise OutputError (one line) if unusable.

    The folder must be creatable and writable (so must its parent, where ``atomic_dir``
    builds the new folder), must be empty, absent or hold a previous output of the same
    ``kind`` (its manifest.json), and the disk must have about ``need_bytes`` free.
    Nothing is written.
    """
    if str(path) == "":
        raise OutputError("--out = '': give a folder name")
    path = Path(path)
    where = f"--out = {str(path)!r}"
    if path.name in ("", ".", ".."):
        raise OutputError(f"{where}: name a folder to create, not '.', '..' or '/'")
    probe = _writable_base(path, where)
    if path.exists():
        _check_contents(path, kind, where)
    if need_bytes > 0:
        free = shutil.disk_usage(probe).free
        if free < need_bytes:
            raise OutputError(
                f"{where}: about {need_bytes / MB:.0f} MB needed, {free / MB:.0f} MB free on "
                f"{str(probe)!r}; free space or choose another disk"
            )
    return path


def _writable_base(path: Path, where: str) -> Path:
    """The existing folder the output is made in (checked writable, as is ``path``)."""
    probe = path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if path.exists() and not path.is_dir():
        raise OutputError(f"{where}: exists and is a file, not a folder; choose a new folder")
    if not probe.is_dir():
        raise OutputError(f"{where}: {str(probe)!r} is a file, so no folder can be made under it")
    for folder in (probe, path) if path.exists() else (probe,):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"{where}: folder {str(folder)!r} is not writable")
    return probe


def _check_contents(path: Path, kind: str, where: str) -> None:
    """An existing folder: empty (but for leftovers) or a previous output of ``kind``."""
    found = _manifest_kind(path) if (path / MANIFEST).is_file() else None
    if found is None:
        if any(not _is_leftover(p) for p in path.iterdir()):
            raise OutputError(
                f"{where}: exists and is not a cellsim output folder; choose a new folder"
            )
    elif found != kind:
        raise OutputError(
            f"{where}: holds a cellsim {found} output, not a {kind} output; choose a new folder"
        )


SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def default_out_dir(name: str, what: str = "scenario") -> Path:
    """``runs/<name>``: refused unless ``name`` is one plain folder name (so the folder is a
    child of runs/, never runs/ itself or outside it)."""
    if not SAFE_NAME.match(name) or ".." in name:
        raise OutputError(
            f"{what} name = {name!r}: cannot name a folder under runs/; use letters, digits, "
            "'_', '-' and '.' (not first, no '..'), or give --out"
        )
    return Path("runs") / name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    except (OverflowError, ValueError):
        return False
    return True


def is_temporary(path: str | Path) -> bool:
    """True for a folder ``atomic_dir`` builds or moves aside (``.NAME.<pid>.<random>.tmp``,
    ``.NAME.old``): never a result, even when it holds result files."""
    name = Path(path).name
    return name.startswith(".") and (name.endswith(".tmp") or name.endswith(".old"))


def recover_output(path: str | Path) -> list[Path]:
    """Clean up after an ``atomic_dir(path)`` that was killed; return what was removed.

    Temporary siblings ``.NAME.<pid>.<random>.tmp`` whose process is gone are deleted (a
    live writer's are kept); a previous result moved aside to ``.NAME.old`` is put back
    when ``path`` is missing (killed between the two renames), else deleted.
    """
    path = Path(path)
    parent, prefix = path.parent, f".{path.name}."
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for p in parent.iterdir():
        if not (p.name.startswith(prefix) and p.name.endswith(".tmp")):
            continue
        pid = p.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and _pid_alive(int(pid)):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    old = parent / f".{path.name}.old"
    if old.is_dir():
        if not path.exists() and (old / MANIFEST).is_file():
            os.replace(old, path)
        else:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder in a temporary sibling; on success swap it in for ``path``.

    An existing ``path`` (a previous cellsim output) is replaced only once the new one is
    complete; on an error the temporary folder is removed and ``path`` is untouched.
    """
    path = check_output_dir(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        recover_output(path)
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
        )
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except OSError:
                os.replace(old, path)  # put the previous result back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    except (OSError, WriteError) as exc:
        raise _write_error(path, exc) from exc
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
