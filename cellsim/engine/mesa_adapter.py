"""The one place that touches Mesa's private attributes.

``AgingModel.run`` fast-forwards quiet stretches: it needs to know when the next scheduled
event is due and to move Mesa's clock over many steps without Mesa calling ``step()`` for
each. Mesa 3.5 exposes neither, so this adapter reads ``Model._event_list`` (the pending
events, a priority queue) and pauses ``Model._default_schedule`` (the recurring event that
calls ``step()``). Checkpoints save and restore a ``DataCollector``'s records, which live
in its private ``_collection_steps`` and ``_agent_records``. tests/test_mesa_adapter.py
fails loudly, naming the attribute, if a Mesa release changes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import mesa

MESA_PRIVATE_ATTRIBUTES = ("_event_list", "_default_schedule")
"""What this adapter reads on a ``mesa.Model`` (checked by tests/test_mesa_adapter.py)."""
COLLECTOR_PRIVATE_ATTRIBUTES = ("_collection_steps", "_agent_records")
"""What checkpoints read and write on a ``mesa.DataCollector`` (same test)."""


def next_event_time(model: mesa.Model) -> float | None:
    """Mesa time of the next pending scheduled event (None when nothing is scheduled).

    Call it within ``step_schedule_paused``: otherwise the next ``step()`` is itself the
    next event."""
    events = model._event_list
    if events.is_empty():
        return None
    return float(events.peek_ahead(1)[0].time)


@contextlib.contextmanager
def step_schedule_paused(model: mesa.Model) -> Iterator[None]:
    """Within the block, advancing Mesa's clock (``model.run_for``) fires scheduled events
    but does not call ``model.step()``: the caller has run those steps itself."""
    schedule = model._default_schedule
    schedule.pause()
    try:
        yield
    finally:
        schedule.resume()


def collector_state(collector: mesa.DataCollector) -> dict[str, Any]:
    """A DataCollector's records as JSON-able data (for checkpoints)."""
    return {
        "model_vars": collector.model_vars,
        "collection_steps": collector._collection_steps,
        "agent_records": [[time, rows] for time, rows in collector._agent_records.items()],
    }


def restore_collector(collector: mesa.DataCollector, state: dict[str, Any]) -> None:
    """Put the records of ``collector_state`` back into a DataCollector of the same
    reporters."""
    collector.model_vars = {k: list(v) for k, v in state["model_vars"].items()}
    collector._collection_steps = list(state["collection_steps"])
    collector._agent_records = {
        float(time): [tuple(row) for row in rows] for time, rows in state["agent_records"]
    }
