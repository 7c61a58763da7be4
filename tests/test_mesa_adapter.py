"""The Mesa private attributes cellsim relies on (cellsim/engine/mesa_adapter.py).

If a Mesa release renames or changes them, these tests fail first, naming the attribute,
instead of fast-forwarding silently going wrong.
"""

from __future__ import annotations

import mesa
import pytest

from cellsim.engine.mesa_adapter import (
    COLLECTOR_PRIVATE_ATTRIBUTES,
    MESA_PRIVATE_ATTRIBUTES,
    next_event_time,
    step_schedule_paused,
)


class Counting(mesa.Model):
    def __init__(self) -> None:
        super().__init__(rng=1)
        self.stepped = 0
        self.fired: list[float] = []

    def step(self) -> None:
        self.stepped += 1

    def event(self) -> None:
        self.fired.append(self.time)


@pytest.mark.parametrize("name", MESA_PRIVATE_ATTRIBUTES)
def test_mesa_still_has_the_private_attribute(name: str) -> None:
    model = Counting()
    assert hasattr(model, name), (
        f"mesa {mesa.__version__} has no Model.{name}: update cellsim/engine/mesa_adapter.py"
    )


@pytest.mark.parametrize("name", COLLECTOR_PRIVATE_ATTRIBUTES)
def test_mesa_datacollector_still_has_the_private_attribute(name: str) -> None:
    collector = mesa.DataCollector(model_reporters={"t": "time"}, agent_reporters={"x": "x"})
    assert hasattr(collector, name), (
        f"mesa {mesa.__version__} has no DataCollector.{name}: update"
        " cellsim/engine/mesa_adapter.py"
    )


def test_next_event_time_sees_a_scheduled_event_and_none_after_it() -> None:
    model = Counting()
    model.schedule_event(model.event, at=3.5)
    assert next_event_time(model) == 1.0  # the next step() is an event too
    with step_schedule_paused(model):
        assert next_event_time(model) == 3.5
    model.run_for(4)
    assert model.fired == [3.5]
    with step_schedule_paused(model):
        assert next_event_time(model) is None


def test_a_paused_step_schedule_moves_the_clock_without_stepping() -> None:
    model = Counting()
    model.schedule_event(model.event, at=2.5)
    with step_schedule_paused(model):
        model.run_for(3)
    assert model.stepped == 0, "Mesa called step() while its step schedule was paused"
    assert model.time == 3
    assert model.fired == [2.5], "scheduled events must still fire while steps are paused"
    model.run_for(2)  # resumed: steps again
    assert model.stepped == 2
