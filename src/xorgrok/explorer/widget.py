"""The explorer's widget: ipywidgets sliders wired to ``xorgrok.explorer.params`` and
``xorgrok.explorer.views``, re-simulating only when a parameter other than the shown
step changes.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np

from ..simulate import Trajectory
from .params import (
    DEFAULT_FLOP_RATE,
    MAX_SECONDS,
    RANGES,
    ExplorerParams,
    explorer_flops,
    run_explorer_setup,
    to_setup,
)
from .views import _nearest_recorded, draw_views, new_figure, views_png

__all__ = [
    "Explorer",
    "build_explorer",
    "measure_updates",
]


class _Cancelled(Exception):
    """The explorer's simulation was cancelled."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_P_OPTIONS = (100, 300, 1_000, 3_000, 10_000, 40_000, 100_000, 300_000, 1_000_000)
_STEP_OPTIONS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


class Explorer:
    """The ipywidgets explorer: sliders for :class:`ExplorerParams`, a 'shown step'
    slider and an image.

    Changing a parameter re-simulates (:func:`run_explorer_setup`) and redraws, unless
    one of the last ``cache_size`` parameter sets comes back (then its cached trajectory
    is reused); changing only the shown step redraws from the current trajectory.
    ``timings`` holds the last update's ``simulate_s`` (0 when nothing was simulated),
    ``draw_s`` and ``total_s`` in seconds; ``simulations`` counts the simulations run so
    far.
    """

    def __init__(
        self,
        params: ExplorerParams | None = None,
        traj: Trajectory | None = None,
        dpi: float = 80,
        cache_size: int = 4,
        max_seconds: float = MAX_SECONDS,
        background: bool = False,
    ) -> None:
        self.params = params if params is not None else ExplorerParams()
        _check_arguments(self.params, traj, cache_size, max_seconds)
        self.max_seconds = float(max_seconds)
        self.background = bool(background)
        self.flop_rate = DEFAULT_FLOP_RATE
        self._cancel: threading.Event | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.dpi = dpi
        self.cache_size = cache_size
        self.figure = new_figure(dpi=dpi)
        self.timings: dict[str, float] = {}
        self.simulations = 0
        self._cache: OrderedDict[ExplorerParams, Trajectory] = OrderedDict()
        self._traj_params: ExplorerParams | None = None
        self.traj: Trajectory | None = None
        if traj is not None:
            self.traj, self._traj_params = traj, self.params
            self._cache[self.params] = traj
        self.controls: dict[str, Any] = _controls(self.params)
        self._build_ui()
        self._busy = False
        if self.traj is not None:
            self._reset_step_slider(None, last=True)
        self.update()

    def _build_ui(self) -> None:
        """The step slider, labels, image and stop button, laid out with the controls
        (``self.ui``); the callbacks wired."""
        import ipywidgets as w

        self.step_slider = w.SelectionSlider(
            options=[0],
            value=0,
            description="shown step t",
            continuous_update=False,
            style=_STYLE,
            layout=w.Layout(width="680px"),
        )
        self.mu_label = w.HTML()
        self.status = w.HTML()
        self.image = w.Image(
            format="png", layout=w.Layout(width="100%", max_width="1100px")
        )
        for c in self.controls.values():
            c.observe(self._on_param, names="value")
        self.step_slider.observe(self._on_step, names="value")
        names = list(self.controls)
        left = w.VBox([self.controls[k] for k in names[:4]])
        right = w.VBox([self.controls[k] for k in names[4:]])
        row = w.HBox([left, right])
        self.cancel_button = w.Button(
            description="stop", disabled=True, tooltip="stop the running simulation"
        )
        self.cancel_button.on_click(lambda _: self.cancel())
        status_row = self.status
        if self.background:
            status_row = w.HBox([self.cancel_button, self.status])
        self.ui = w.VBox([row, self.mu_label, self.step_slider, status_row, self.image])
        self._boxes = (left, right, row, self.ui)
        if self.background:
            self._boxes += (status_row,)

    # -- callbacks
    def read_params(self) -> ExplorerParams:
        """The parameters the sliders show now (alpha and n_test kept from the
        initial params)."""
        values = {k: c.value for k, c in self.controls.items()}
        return self.params.replace(**values)

    def _on_param(self, change: dict) -> None:
        if not self._busy:
            self.update()

    def _on_step(self, change: dict) -> None:
        if not self._busy:
            self.update(step=int(change["new"]))

    def predict_seconds(self, params: ExplorerParams) -> float:
        """Predicted training time of ``params``: :func:`explorer_flops` over the speed
        measured by the last simulation (``DEFAULT_FLOP_RATE`` before the first)."""
        return explorer_flops(params) / self.flop_rate

    def cancel(self) -> None:
        """Ask the running simulation to stop (it stops when its next seed finishes)."""
        if self._cancel is not None:
            self._cancel.set()

    def update(self, step: int | None = None) -> None:
        """Re-simulate if a parameter changed, then redraw at ``step`` (default: the
        shown step).

        Never raises: invalid parameters, a setting predicted to take longer than
        ``max_seconds``, a failed or cancelled simulation each leave the last picture
        and put the controls back to its parameters, with a one-line status saying why.
        """
        start = time.perf_counter()
        try:
            params = self.read_params()
        except ValueError as exc:
            self._refuse(f"<b>invalid parameters</b>: {_first_line(exc)}")
            return
        if self._traj_params != params and params not in self._cache:
            predicted = self.predict_seconds(params)
            if predicted > self.max_seconds:
                self._refuse(
                    f"<b>not run</b>: predicted {predicted:.0f} s, more than the limit "
                    f"of {self.max_seconds:g} s; use fewer steps, seeds, neurons or "
                    "training points"
                )
                return
            self.status.value = f"simulating ... (about {predicted:.1f} s)"
            if self.background:
                self._start_background(params, step, start)
                return
            done = self._simulate(params, threading.Event())
            if done is not None:
                self._show(params, *done, step, start)
            return
        self._show(params, self._cache.get(params, self.traj), 0.0, step, start)

    def _simulate(
        self, params: ExplorerParams, cancel: threading.Event
    ) -> tuple[Trajectory, float] | None:
        """Train ``params`` (cancellable between seeds): the trajectory and the seconds
        it took, or None after a failure or a cancellation."""
        self._cancel = cancel
        if self.cancel_button is not None:
            self.cancel_button.disabled = False

        def check(done: int) -> None:
            if cancel.is_set():
                raise _Cancelled()

        t0 = time.perf_counter()
        try:
            traj = run_explorer_setup(params, progress=check)
        except (_Cancelled, KeyboardInterrupt):
            self._refuse("<b>cancelled</b>: the picture is still the last run's")
            return None
        except Exception as exc:  # shown in the status line, never raised from a slider
            why = f"{type(exc).__name__}: {_first_line(exc)}"
            self._refuse(f"<b>simulation failed</b>: {why}")
            return None
        finally:
            if self.cancel_button is not None:
                self.cancel_button.disabled = True
        sim_s = time.perf_counter() - t0
        self.flop_rate = explorer_flops(params) / max(sim_s, 1e-6)
        self.simulations += 1
        self._cache[params] = traj
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return traj, sim_s

    def _start_background(
        self, params: ExplorerParams, step: int | None, start: float
    ) -> None:
        """Simulate in a thread (the kernel stays free to receive the stop button's
        click); a newer request cancels an older one."""
        self.cancel()
        cancel = threading.Event()

        def work() -> None:
            done = self._simulate(params, cancel)
            if done is not None and not cancel.is_set():
                with self._lock:
                    self._show(params, *done, step, start)

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def _show(
        self,
        params: ExplorerParams,
        traj: Trajectory,
        sim_s: float,
        step: int | None,
        start: float,
    ) -> None:
        """Make ``traj`` (of ``params``) the shown run and draw it at ``step``."""
        self.params = params
        self.mu_label.value = (
            f"||mu|| = {params.mu_norm:.4g}, omega_init = {params.omega_init:.3g}, "
            f"alpha = {params.alpha:.0e}"
        )
        if self._traj_params != params:
            if params in self._cache:
                self._cache.move_to_end(params)
            first = self.traj is None
            self.traj, self._traj_params = traj, params
            self._reset_step_slider(step, last=first and step is None)
        if step is None:
            step = int(self.step_slider.value)
        t0 = time.perf_counter()
        shown = draw_views(self.figure, self.traj, min(int(step), int(self.traj.t[-1])))
        self.image.value = views_png(self.figure)
        draw_s = time.perf_counter() - t0
        self.timings = {
            "simulate_s": sim_s,
            "draw_s": draw_s,
            "total_s": time.perf_counter() - start,
        }
        self.status.value = (
            f"t = {shown}: simulation {sim_s:.2f} s"
            f"{' (cached)' if sim_s == 0 else ''}, drawing {draw_s:.2f} s"
        )

    def _refuse(self, message: str) -> None:
        """Show ``message`` and put the controls back to the shown run's parameters."""
        self.status.value = message
        shown = self._traj_params
        if shown is None:
            return
        self._busy = True
        try:
            for name, control in self.controls.items():
                control.value = getattr(shown, name)
        finally:
            self._busy = False
        self.params = shown

    def _reset_step_slider(self, step: int | None, last: bool) -> None:
        """New options for the step slider after a simulation: keep the shown step
        (or show the last one)."""
        options = [int(t) for t in self.traj.t]
        old = int(self.step_slider.value) if step is None else int(step)
        self._busy = True
        try:
            self.step_slider.options = options
            self.step_slider.value = (
                options[-1] if last else options[_nearest_recorded(self.traj, old)]
            )
        finally:
            self._busy = False

    def close(self) -> None:
        """Close every widget of the explorer (they disappear from the front end and
        the saved widget state)."""
        widgets = (
            *self.controls.values(),
            self.step_slider,
            self.mu_label,
            self.status,
            self.image,
            self.cancel_button,
            *self._boxes,
        )
        for widget in widgets:
            for part in ("layout", "style"):
                sub = getattr(widget, part, None)
                if sub is not None:
                    sub.close()
            widget.close()

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.ui._repr_mimebundle_(**kwargs)


def _with(options: Sequence[int], value: int) -> list[int]:
    return sorted(set(int(o) for o in options) | {int(value)})


def build_explorer(
    params: ExplorerParams | None = None,
    traj: Trajectory | None = None,
    dpi: float = 80,
    cache_size: int = 4,
    max_seconds: float = MAX_SECONDS,
    background: bool = False,
) -> Explorer:
    """Build the ipywidgets explorer (needs ``ipywidgets``). Display it with
    ``explorer.ui`` as a cell's value.

    Args:
        params: the initial parameters (default: ``ExplorerParams()``).
        traj: optionally, a trajectory already simulated from ``params`` (saves the
            first simulation).
        dpi: resolution of the image.
        cache_size: how many recent trajectories to keep (returning to one of them needs
            no simulation).
        max_seconds: settings predicted to train longer than this are refused
            (:meth:`Explorer.predict_seconds`).
        background: train in a thread, with a "stop" button that cancels (the kernel
            stays responsive); by default a slider waits for its simulation, which the
            kernel's interrupt cancels.

    Raises:
        ImportError: ipywidgets is not installed. ValueError: bad ``params`` or a
            ``traj`` of other params.
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the live explorer needs ipywidgets: pip install ipywidgets"
        ) from exc
    return Explorer(params, traj, dpi, cache_size, max_seconds, background)


def measure_updates(
    params: ExplorerParams | None = None, repeats: int = 5
) -> dict[str, float]:
    """The benchmark's timing hook: median seconds of the live explorer's two updates.

    Builds an explorer at ``params`` (default: ``ExplorerParams()``), then ``repeats``
    times changes the shown step (a redraw) and the flip rate eta (a new simulation and
    a redraw, never cached), exactly as a slider would. Returns ``step_s`` and
    ``param_s`` (medians of ``timings["total_s"]``) and ``param_simulate_s`` (the
    training part of ``param_s``).
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    params = params if params is not None else ExplorerParams()
    explorer = build_explorer(
        params, traj=run_explorer_setup(params), cache_size=1, max_seconds=math.inf
    )
    steps = list(explorer.step_slider.options)
    step_s, param_s, sim_s = [], [], []
    for k in range(repeats):
        now = steps.index(explorer.step_slider.value)
        shift = 1 + k % (len(steps) - 1)  # never the step shown now
        explorer.step_slider.value = steps[(now + shift) % len(steps)]
        step_s.append(explorer.timings["total_s"])
        # a flip rate never used before in this loop: always a new simulation
        explorer.controls["eta"].value = round(0.06 + 0.01 * (k % 39), 2)
        param_s.append(explorer.timings["total_s"])
        sim_s.append(explorer.timings["simulate_s"])
    explorer.close()
    return {
        "step_s": float(np.median(step_s)),
        "param_s": float(np.median(param_s)),
        "param_simulate_s": float(np.median(sim_s)),
    }


_STYLE = {"description_width": "initial"}


def _check_arguments(
    params: Any, traj: Trajectory | None, cache_size: Any, max_seconds: Any
) -> None:
    """The ValueError of :class:`Explorer` on a bad argument."""
    number = isinstance(max_seconds, (int, float))
    if isinstance(max_seconds, bool) or not number or not max_seconds > 0:
        raise ValueError(
            f"max_seconds must be a number > 0 (inf: no limit), got {max_seconds!r}"
        )
    if not isinstance(params, ExplorerParams):
        raise ValueError(
            f"params must be an ExplorerParams, got {type(params).__name__}"
        )
    if traj is not None and (
        traj.setup != to_setup(params)
        or len(traj.seeds) != params.seeds
        or int(traj.t[-1]) != params.steps
        or traj.proj is None
    ):
        raise ValueError(
            "traj must come from run_explorer_setup(params) "
            "(its setup, seeds or steps differ)"
        )
    if (
        isinstance(cache_size, bool)
        or not isinstance(cache_size, int)
        or cache_size < 1
    ):
        raise ValueError(f"cache_size must be an integer >= 1, got {cache_size!r}")


def _controls(p: ExplorerParams) -> dict[str, Any]:
    """One slider per field of :class:`ExplorerParams` shown, set to ``p``."""
    import ipywidgets as w

    R = RANGES
    controls = {
        "p": w.SelectionSlider(
            options=_with(_P_OPTIONS, p.p), value=p.p, description="p (dimension)"
        ),
        "n": w.IntSlider(
            value=p.n,
            min=R["n"][0],
            max=R["n"][1],
            step=10,
            description="n (train points)",
        ),
        "mu_factor": w.FloatSlider(
            value=p.mu_factor,
            min=R["mu_factor"][0],
            max=R["mu_factor"][1],
            step=0.1,
            description="||mu|| / sqrt(p/n)",
        ),
        "eta": w.FloatSlider(
            value=p.eta,
            min=R["eta"][0],
            max=R["eta"][1],
            step=0.01,
            description="eta (flip rate)",
        ),
        "m": w.IntSlider(
            value=p.m, min=R["m"][0], max=R["m"][1], step=10, description="m (neurons)"
        ),
        "init_ratio": w.FloatLogSlider(
            value=p.init_ratio,
            base=10,
            min=math.log10(R["init_ratio"][0]),
            max=math.log10(R["init_ratio"][1]),
            step=0.25,
            description="omega_init / alpha",
        ),
        "steps": w.SelectionSlider(
            options=_with(_STEP_OPTIONS, p.steps), value=p.steps, description="steps"
        ),
        "seeds": w.IntSlider(
            value=p.seeds, min=R["seeds"][0], max=R["seeds"][1], description="seeds"
        ),
    }
    for c in controls.values():
        c.continuous_update = False
        c.style = _STYLE
        c.layout = w.Layout(width="340px")
    return controls
