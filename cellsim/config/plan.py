"""What to run: a run's identity, parameters and seed (``RunSpec``), and stable seed keys.

A plan is made of RunSpecs; executing one (``cellsim.run.single.run_one``) is the job of
the execution layer. Importing this module imports neither Numba nor Mesa.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cellsim.engine.params import ModelParams


def stable_key(text: str) -> int:
    """A 64-bit integer from a name, the same on every machine and Python run (64 bits:
    two of a million names collide with probability ~3e-8).

    Args:
        text: the name (an arm, a stream).

    Returns:
        The key, an integer below 2**64.

    Example:
        >>> from cellsim.config.plan import stable_key
        >>> stable_key("control") == stable_key("control") != stable_key("senolytics")
        True
    """
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


@dataclass(frozen=True)
class RunSpec:
    """One run: an arm's parameters, its replicate number and the seed it derives from.

    The run's Generator comes from ``SeedSequence(entropy, spawn_key=(key(arm),
    replicate))``: it depends on the run's identity only, never on worker count or order.
    """

    arm: str
    """The arm's name (a sweep point's id, ``p00012``, in a sweep)."""
    replicate: int
    """The replicate's number within the arm, from 0."""
    params: ModelParams
    """The run's resolved model parameters."""
    entropy: int
    """The root seed of the file (its ``seed``), the entropy of the run's SeedSequence."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Columns copied into the run's ``runs`` row (a sweep point's number and values)."""
    stream: str | None = None
    """The name whose key seeds the run instead of ``arm``: runs that share it (and the
    replicate number) share their random numbers (common random numbers)."""

    @property
    def run_id(self) -> str:
        """A readable unique id: ``arm/r003``."""
        return f"{self.arm}/r{self.replicate:03d}"

    @property
    def spawn_key(self) -> tuple[int, int]:
        """The SeedSequence spawn key: (key of the stream name, else of the arm name,
        replicate)."""
        return (stable_key(self.stream or self.arm), self.replicate)

    def seed_sequence(self) -> np.random.SeedSequence:
        """The run's own SeedSequence."""
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)
