"""The one place that touches Mesa's private attributes.

``AgingModel.run`` fast-forwards quiet stretches: it needs to know when the next scheduled
event is due and to move Mesa's clock over many steps without Mesa calling ``step()`` for
each. Mesa 3.5 exposes neither, so this adapter reads ``Model._event_list`` (the pending
events, a priority queue) and pauses ``Model._default_schedule`` (the recurring event that
calls ``step()``). tests/test_mesa_adapter.py fails loudly, naming the attribute, if a Mesa
release changes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import mesa

MESA_PRIVATE_ATTRIBUTES = ("_event_list", "_default_schedule")
"""What this adapter reads on a ``mesa.Model`` (checked by tests/test_mesa_adapter.py)."""


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
