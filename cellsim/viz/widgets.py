"""The page's shared pieces: the runner that steps a model a frame at a time, its
Reset / play / Step controls, sliders that show their value and unit, the scenario and
arm picker and the running model's parameter list.

A frame is made where the model is advanced (under the runner's lock, in the play
thread or in a button's handler): the model moves ``days_per_frame`` days, then the
view's ``render(model)`` turns it into PNGs and text, which the components only show.
So the components never read a model that is being stepped, and a frame costs one
render however many steps it holds.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara

from cellsim.viz.catalog import ArmChoice, arms_of, parameter_lines, scenario_choices

PAGE_CSS = """
.cellsim-lattice { image-rendering: pixelated; width: 100%; max-width: 560px;
                   border: 1px solid #bbb; }
.cellsim-colourbar { image-rendering: pixelated; width: 100%; max-width: 560px; height: 12px; }
.cellsim-small { color: #555; font-size: 0.85em; }
.cellsim-params { font-size: 0.8em; color: #444; margin: 0; padding-left: 1.1em; }
.cellsim-figure { width: 100%; max-width: 860px; }
/* a wide table scrolls in its box instead of widening the page (which then slides
   under the sidebar) */
.cellsim-table-box { contain: inline-size; overflow-x: auto; font-size: 0.8em; }
.cellsim-block { display: block; }
.cellsim-tissue-lattice { image-rendering: pixelated; width: 100%; max-width: 300px; }
"""


class Runner:
    """A model, stepped a frame at a time under a lock, and its latest frame.

    Args:
        build: makes the model (called again by ``reset``).
        render: model -> frame (whatever the view's components show).
        days_per_frame: the model days a frame advances (the page's slider sets it).
    """

    def __init__(
        self, build: Callable[[], Any], render: Callable[[Any], Any], days_per_frame: float
    ) -> None:
        self.lock = threading.RLock()
        self.render = render
        self.build = build
        self.model = build()
        self.frame = render(self.model)
        self.days_per_frame = float(days_per_frame)
        self.frames = 0
        self.busy_seconds = 0.0
        """Wall time spent advancing and rendering (what the page's speed is made of)."""

    def reset(self, build: Callable[[], Any] | None = None) -> None:
        """A new model (from ``build``, or the last one's builder) and its first frame."""
        with self.lock:
            self.build = build or self.build
            self.model = self.build()
            self.frame = self.render(self.model)
            self.frames = 0
            self.busy_seconds = 0.0

    def advance(self) -> None:
        """One frame: ``days_per_frame`` days of the model, then its render."""
        with self.lock:
            t0 = time.perf_counter()
            self.model.advance(self.days_per_frame)
            self.frame = self.render(self.model)
            self.frames += 1
            self.busy_seconds += time.perf_counter() - t0

    def act(self, action: Callable[[Any], None]) -> None:
        """Apply ``action`` to the model (between frames), then render."""
        with self.lock:
            action(self.model)
            self.frame = self.render(self.model)

    def rerender(self) -> None:
        """Render the current model again (a display setting changed)."""
        with self.lock:
            self.frame = self.render(self.model)

    @property
    def running(self) -> bool:
        return bool(self.model.running)


def fmt_value(value: float, unit: str) -> str:
    """A control's value with its unit: ``140 d``, ``50%``, ``0.0003 /day``."""
    if unit == "%":
        return f"{100 * value:.0f}%"
    text = f"{value:.4g}"
    return f"{text} {unit}" if unit else text


def LabelSelect(
    title: str, labels: dict[str, str], keys: list[str], key: str, on_key: Callable[[str], None]
) -> None:
    """A select over ``keys`` shown by their ``labels``; ``on_key`` gets the chosen key."""
    by_label = {labels[k]: k for k in keys}
    solara.Select(
        title,
        values=list(by_label),
        value=labels[key],
        on_value=lambda label: on_key(by_label[label]),
    )


@solara.component
def ValueSlider(
    label: str,
    unit: str,
    value: float,
    on_value: Callable[[float], None],
    lo: float,
    hi: float,
    step: float,
    integer: bool = False,
):
    """A slider whose label shows its value and unit (``Cell lifespan: 140 d``)."""
    text = f"{label}: {fmt_value(value, unit)}"
    if integer:
        solara.SliderInt(
            text, value=int(value), min=int(lo), max=int(hi), step=int(step), on_value=on_value
        )
    else:
        solara.SliderFloat(text, value=float(value), min=lo, max=hi, step=step, on_value=on_value)


@solara.component
def RunControls(runner: Runner, tick: solara.Reactive[int], reset_to: str, on_reset=None):
    """Reset / play / Step, the play interval and the days per frame.

    ``reset_to`` says what Reset builds; ``on_reset`` (optional) builds it instead of the
    runner's last builder."""
    playing = solara.use_reactive(False)
    interval_ms = solara.use_reactive(20)
    days = solara.use_reactive(float(runner.days_per_frame))
    error = solara.use_reactive(None)
    runner.days_per_frame = days.value

    def loop():
        try:
            while playing.value and runner.running:
                t0 = time.monotonic()
                runner.advance()
                tick.value += 1
                time.sleep(max(0.0, interval_ms.value / 1000 - (time.monotonic() - t0)))
        except Exception as exc:
            error.value = f"error in step: {exc}"
            traceback.print_exc()
        finally:
            if not runner.running:
                playing.value = False

    solara.lab.use_task(loop, dependencies=[playing.value], prefer_threaded=True)

    def do_step():
        try:
            runner.advance()
        except Exception as exc:
            error.value = f"error in step: {exc}"
            traceback.print_exc()
        tick.value += 1

    def do_reset():
        playing.value = False
        error.value = None
        try:
            if on_reset is not None:
                on_reset()
            else:
                runner.reset()
        except Exception as exc:
            error.value = f"error in reset: {exc}"
            traceback.print_exc()
        tick.value += 1

    with solara.Card("Run", margin=0):
        with solara.Row(justify="space-between"):
            solara.Button(label="Reset", color="primary", on_click=do_reset)
            solara.Button(
                label="❚❚" if playing.value else "▶",
                color="primary",
                on_click=lambda: playing.set(not playing.value),
                disabled=not runner.running,
            )
            solara.Button(
                label="Step",
                color="primary",
                on_click=do_step,
                disabled=playing.value or not runner.running,
            )
        solara.Text(f"Reset rebuilds {reset_to}.", classes=["cellsim-small", "cellsim-reset"])
        dt = float(getattr(runner.model, "dt_days", 1.0))
        ValueSlider(
            "Days per frame (Step, play)",
            "d",
            days.value,
            days.set,
            dt,
            dt * math.ceil(365.0 / dt),
            dt,
        )
        ValueSlider("Pause between frames", "ms", interval_ms.value, interval_ms.set, 0, 500, 10)
        if not runner.running:
            solara.Text("The run has reached its horizon: Reset to start again.")
        if error.value:
            solara.Error(label=error.value)


@solara.component
def ScenarioPicker(
    scenario: solara.Reactive[str], arm: solara.Reactive[str | None], choice: ArmChoice | None
):
    """The scenario and arm the page shows; picking one builds its model."""
    choices = solara.use_memo(lambda: scenario_choices(scenario.value), [])
    arms = list(choice.arms) if choice is not None else arms_of(scenario.value)

    def pick_scenario(value: str) -> None:
        arm.set(None)
        scenario.set(value)

    stem = Path(scenario.value).stem
    shown = stem if stem in choices else scenario.value
    with solara.Card("Scenario", margin=0):
        solara.Select("Scenario", values=choices, value=shown, on_value=pick_scenario)
        solara.Select(
            "Arm",
            values=arms,
            value=choice.arm if choice is not None else None,
            on_value=arm.set,
        )
        if choice is not None:
            view = "body view (every tissue)" if choice.body else "one tissue on a lattice"
            solara.Text(f"{choice.description} [{view}]", classes=["cellsim-small"])


@solara.component
def ParameterList(params, extra: list[str] | None = None, title: str = "Running model"):
    """The running model's parameters in words (``catalog.parameter_lines``)."""
    lines = solara.use_memo(lambda: parameter_lines(params), [params])
    items = "".join(f"<li>{_escape(s)}</li>" for s in [*lines, *(extra or [])])
    with solara.Card(title, margin=0, classes=["cellsim-parameters"]):
        solara.HTML(tag="ul", unsafe_innerHTML=items, classes=["cellsim-params"])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
