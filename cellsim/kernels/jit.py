"""``njit`` for the kernels, with their on-disk cache in a folder of its own per source.

Compiled kernels are cached on disk (``@njit(cache=True)``). Numba invalidates a cached
function when *its own* source file changes, but not when a kernel it calls, in another
file, changes: an edit of events.py would leave day.py's cached ``one_day`` running the
old events code. So the cache lives in a folder named by a digest of every kernel source
file, ``$NUMBA_CACHE_DIR`` (default ``~/.cache/cellsim/numba``) ``/kernels-<digest>``:
any edit of any kernel starts from an empty cache. Every kernel module takes ``njit`` from
here (importing this module imports Numba; ``layout.py`` does not, so the input model
stays free of it).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba
from numba import njit


def source_digest() -> str:
    """A digest of the kernel sources (file names and contents), 16 hex digits."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> str:
    """Where the compiled kernels of this source are cached (see the module text)."""
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "cellsim",
        "numba",
    )
    return os.path.join(base, f"kernels-{source_digest()}")


numba.config.CACHE_DIR = cache_dir()

__all__ = ["cache_dir", "njit", "source_digest"]
