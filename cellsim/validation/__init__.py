"""Checks of the simulator against published biology (`cellsim validate-biology`).

Modules: ``config`` (settings), ``published`` (the published values and their sources),
``tasks`` (runs on the local executor), ``culture``/``culture_checks``, ``turnover`` and
``blood`` (one group of checks each), ``report`` (report.md) and ``suite`` (the command).
"""

from cellsim.validation.config import ValidationConfigError, load_config
from cellsim.validation.suite import ChecksFailed, run_validation

__all__ = ["ChecksFailed", "ValidationConfigError", "load_config", "run_validation"]
