"""Errors of execution, importable without the engine (the CLI maps them to exit codes)."""

from __future__ import annotations


class RunsFailed(RuntimeError):
    """Every run of a scenario raised (exit code 1)."""
