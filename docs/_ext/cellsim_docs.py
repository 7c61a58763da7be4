"""Sphinx helpers of the cellsim docs.

- ``cellsim-schema``: a table of the result schema's columns, generated from
  ``cellsim.engine.schema`` at build time (so the page cannot fall behind the code):

  .. code-block:: rst

     .. cellsim-schema:: trajectories

  Tables: ``trajectory_identity``, ``trajectories``, ``clones``, ``run_identity``, ``runs``,
  ``run_trailer``, ``events``, ``stop_reasons``.

- Fields of the pydantic parameter models: their docstrings are kept as written (napoleon
  would read "Telomere at birth: 9.5 kb" as a type and a description), and each field's
  default and allowed range, read from the model, are appended, so that the reference
  shows them beside the unit and the source.

- The validation report (docs/validation/report.md, written by ``cellsim validate-biology``)
  marks its sections with HTML anchors after each heading (``<a id="pd-per-kb"></a>``), for
  GitHub; at build time they become MyST targets before the heading, so that the report's
  own links (``#pd-per-kb``) resolve on the site too. The file itself is not changed.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

ANCHOR_AFTER_HEADING = re.compile(r"^(#{1,6} .+)\n<a id=\"([A-Za-z0-9_-]+)\"></a>\n", re.M)


def schema_tables() -> dict[str, tuple[str, dict[str, str]]]:
    """Each table's caption and its columns (name -> meaning and unit), from the schema."""
    from cellsim.engine import schema

    return {
        "trajectory_identity": (
            "Identity columns of a trajectories row (added by the run)",
            schema.TRAJECTORY_IDENTITY,
        ),
        "trajectories": (
            "The recorded columns of a trajectories row (Tissue.record)",
            schema.TRAJECTORY_COLUMNS,
        ),
        "clones": (
            "Extra columns of a stem compartment with a division clock",
            schema.CLONE_COLUMNS,
        ),
        "run_identity": ("Identity and seed columns of a runs row", schema.RUN_IDENTITY),
        "runs": ("The primary tissue's columns of a runs row", schema.RUN_COLUMNS),
        "run_trailer": ("The last columns of a runs row", schema.RUN_TRAILER),
        "events": ("The failures a run records", schema.EVENT_DESCRIPTIONS),
        "stop_reasons": ("The values of stop_reason", schema.STOP_REASONS),
    }


class SchemaTable(Directive):
    """``.. cellsim-schema:: NAME``: one schema table as a two-column list-table."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        tables = schema_tables()
        name = self.arguments[0]
        if name not in tables:
            raise self.error(f"cellsim-schema: {name!r}; one of {', '.join(tables)}")
        caption, columns = tables[name]
        lines = [
            f".. list-table:: {caption}",
            "   :header-rows: 1",
            "   :widths: 30 70",
            "",
            "   * - column",
            "     - meaning and unit",
        ]
        for column, meaning in columns.items():
            text = " ".join(meaning.split())
            lines += [f"   * - ``{column}``", f"     - {text}"]
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(lines, source="cellsim.engine.schema"), 0, node)
        return node.children


_ATTRIBUTE_DOCS: dict[str, list[str]] = {}


def _field_info(name: str) -> Any:
    """The pydantic FieldInfo of a dotted ``module.Class.field`` name, else None."""
    import importlib

    owner_path, _, field = name.rpartition(".")
    module_name, _, class_name = owner_path.rpartition(".")
    try:
        owner = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        return None
    fields = getattr(owner, "model_fields", None)
    return fields.get(field) if isinstance(fields, dict) else None


def _constraints(info: Any) -> str:
    """The field's bounds as text: ``> 0``, ``<= 1000000.0``, at least N items."""
    words = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    parts = []
    for item in info.metadata:
        for attr, word in words.items():
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{word} {value:g}" if isinstance(value, float) else f"{word} {value}")
        if getattr(item, "min_length", None) is not None:
            parts.append(f"at least {item.min_length} item(s)")
    return ", ".join(parts)


def keep_attribute_docs(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Before napoleon: remember an attribute's docstring as written."""
    if what == "attribute":
        _ATTRIBUTE_DOCS[name] = list(lines)


def restore_attribute_docs(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """After napoleon: put the attribute's docstring back; append a pydantic field's
    default and allowed range."""
    if what != "attribute":
        return
    if name in _ATTRIBUTE_DOCS:
        lines[:] = _ATTRIBUTE_DOCS.pop(name)
    info = _field_info(name)
    if info is None:
        return
    from pydantic_core import PydanticUndefined

    if info.default is not PydanticUndefined:
        default = f"``{info.default!r}``"
    elif info.default_factory is not None:
        default = "built by default (see the type)"
    else:
        default = "none: required"
    bounds = _constraints(info)
    extra = f"*Default:* {default}" + (f"; *allowed:* {bounds}" if bounds else "")
    lines.extend(["", extra])


def skip_textless_members(
    app: Any, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    """Leave out class members that would be reference entries without text: an
    ``__init__`` without a docstring (a dataclass's generated one: the class and its fields
    say it all) and Mesa's ``observables`` (its signal table, set on every Model subclass)."""
    if what == "class" and name == "__init__" and not getattr(obj, "__doc__", None):
        return True
    if what == "class" and name == "observables":
        return True
    return None


def anchors_to_targets(app: Any, docname: str, source: list[str]) -> None:
    """``## Heading\\n<a id="x"></a>`` -> ``(x)=\\n## Heading`` in the validation report."""
    if docname == "validation/report":
        source[0] = ANCHOR_AFTER_HEADING.sub(r"(\2)=\n\1\n", source[0])


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("cellsim-schema", SchemaTable)
    app.connect("source-read", anchors_to_targets)
    app.connect("autodoc-skip-member", skip_textless_members)
    app.setup_extension("sphinx.ext.napoleon")
    app.connect("autodoc-process-docstring", keep_attribute_docs, priority=100)
    app.connect("autodoc-process-docstring", restore_attribute_docs, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
