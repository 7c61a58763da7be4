"""Checks of the simulator against published biology (`cellsim validate-biology`)."""

from cellsim.validation.suite import (
    ChecksFailed,
    ValidationConfigError,
    load_config,
    run_validation,
)

__all__ = ["ChecksFailed", "ValidationConfigError", "load_config", "run_validation"]
