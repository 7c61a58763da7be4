"""TOML configuration files -> validated pydantic models, every error as one line.

Scenario and sweep files are read the same way: parse the TOML, default ``name`` to the
file's stem, validate; whatever goes wrong becomes the caller's error class with a message
that starts with the path and names the field and value.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

UNKNOWN_KEY_HINT = "allowed keys are listed in cellsim.engine.params"


def quote_key(key: str) -> str:
    """A key as it reads in a one-line message: bare when plain, else quoted with escapes
    (a key with a newline, a quote or a line separator must not break the line)."""
    if key and key.isprintable() and not any(c in key for c in '."\\'):
        return key
    if key.isprintable() and '"' not in key and "\\" not in key:
        return f'"{key}"'
    return json.dumps(key)


def format_validation_error(
    exc: ValidationError, prefix: str = "", unknown_hint: str = UNKNOWN_KEY_HINT
) -> str:
    """The first error of a pydantic ValidationError as one line: field, value, rule.

    Location parts that contain dots (dotted parameter names used as keys) are quoted:
    ``parameters."tissue.lifespan_days".num``.
    """
    err = exc.errors()[0]
    loc = ".".join(quote_key(x) if isinstance(x, str) else str(x) for x in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"{prefix}{loc}: unknown key ({unknown_hint})"
    if err["type"] == "missing":
        return f"{prefix}{loc}: required field is missing"
    value = err.get("input")
    if isinstance(value, dict | list):
        return f"{prefix}{loc}: {msg}" if loc else f"{prefix}{msg}"
    where = f"{loc} = {value!r}" if loc else f"value {value!r}"
    return f"{prefix}{where}: {msg}"


def read_toml(path: Path, error: type[ValueError]) -> dict[str, Any]:
    """The parsed contents of a TOML file; ``error("<path>: ...")`` when it cannot be read
    or is not valid TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read: {exc}") from None


def load_toml_model[M: BaseModel](
    path: Path,
    model: type[M],
    error: type[ValueError],
    unknown_hint: str = UNKNOWN_KEY_HINT,
    data: dict[str, Any] | None = None,
) -> M:
    """Read a TOML file as a ``model`` (its ``name`` defaults to the file's stem), or raise
    ``error`` with one line: the path, then the first invalid field and value. ``data``:
    the file's tables already read (and completed) by the caller."""
    data = read_toml(path, error) if data is None else data
    data.setdefault("name", path.stem)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{path}: {format_validation_error(exc, unknown_hint=unknown_hint)}") from None
