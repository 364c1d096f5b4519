"""Live loss curves (pyqtgraph): total, reconstruction and invariance, smoothed, plus validation."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg

CURVES = {  # key: (label, colour)
    "loss": ("total", "#f0f0f0"),
    "reconstruction": ("reconstruction", "#4fc3f7"),
    "invariance": ("invariance", "#ffb74d"),
}
VALIDATION = "#81c784"


class LossPlot(pg.PlotWidget):
    def __init__(self, parent=None, smoothing: float = 0.9):
        super().__init__(parent=parent, background=None, axisItems={"left": _LogAxis("left")})
        self.smoothing = smoothing
        self.setMinimumHeight(160)
        self.setLabel("bottom", "step")
        self.setLabel("left", "loss")
        self.setLogMode(y=True)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.set_validation_label("validation")
        self._curves = {k: self.plot([], [], pen=pg.mkPen(c, width=1.5)) for k, (_, c) in CURVES.items()}
        self._val = self.plot([], [], pen=None, symbol="o", symbolSize=6, symbolBrush=VALIDATION)
        for curve in self._curves.values():  # long runs: draw what the pixels can show
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self._reset()

    def set_validation_label(self, text: str) -> None:
        """Name the validation points (which images they are measured on) in the legend."""
        # the legend is the title, so it never hides the curves
        legend = [f"<span style='color:{c}'>&#9472; {n}</span>" for n, c in CURVES.values()]
        legend.append(f"<span style='color:{VALIDATION}'>&#9679; {html.escape(text)}</span>")
        self.setTitle("&nbsp;&nbsp;".join(legend), size="8pt")
        self.validation_label = text

    def set_history(self, history: list[dict]) -> None:
        """Show the trainer's per-step records; only records not seen before are smoothed.

        ``history`` may be the trainer's live list, growing in another thread: it is read
        up to its length at the time of the call.
        """
        n = len(history)
        if n < self._seen or (n and self._seen and history[0] is not self._first):
            self._reset()  # a new model
        if n == 0:
            self._reset()
            return
        self._first = history[0]
        for record in history[self._seen : n]:
            self._steps.append(record["step"])
            for key in CURVES:
                acc, weight = self._ema_state[key]
                acc = self.smoothing * acc + (1 - self.smoothing) * record[key]
                weight = self.smoothing * weight + (1 - self.smoothing)
                self._ema_state[key] = (acc, weight)
                self._smoothed[key].append(acc / weight)  # bias-corrected, as TensorBoard's smoothing
            if record.get("val_loss") is not None:
                self._val_points.append((record["step"], record["val_loss"]))
        self._seen = n
        steps = np.asarray(self._steps, float)
        for key, curve in self._curves.items():
            curve.setData(steps, np.clip(np.asarray(self._smoothed[key], float), 1e-6, None))
        if self._val_points:
            x, y = np.asarray(self._val_points, float).T
            self._val.setData(x, np.clip(y, 1e-6, None))

    def _reset(self) -> None:
        self._seen, self._first = 0, None
        self._steps: list[float] = []
        self._smoothed: dict[str, list[float]] = {k: [] for k in CURVES}
        self._ema_state = dict.fromkeys(CURVES, (0.0, 0.0))
        self._val_points: list[tuple[float, float]] = []
        for c in (*self._curves.values(), self._val):
            c.setData([], [])


class _LogAxis(pg.AxisItem):
    """A log axis that labels only 1, 2 and 5 times a power of ten (the rest overlap in a short plot)."""

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        if not self.logMode:
            return strings
        keep = {0.0, round(np.log10(2), 3), round(np.log10(5), 3)}
        return [s if round(v - np.floor(v), 3) in keep else "" for v, s in zip(values, strings, strict=False)]
