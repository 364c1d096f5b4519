"""Live loss curves (pyqtgraph): total, reconstruction and invariance, smoothed, plus validation."""

from __future__ import annotations

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
        # the legend is the title, so it never hides the curves
        legend = [f"<span style='color:{c}'>&#9472; {n}</span>" for n, c in CURVES.values()]
        legend.append(f"<span style='color:{VALIDATION}'>&#9679; validation</span>")
        self.setTitle("&nbsp;&nbsp;".join(legend), size="8pt")
        self._curves = {k: self.plot([], [], pen=pg.mkPen(c, width=1.5)) for k, (_, c) in CURVES.items()}
        self._val = self.plot([], [], pen=None, symbol="o", symbolSize=6, symbolBrush=VALIDATION)

    def set_history(self, history: list[dict]) -> None:
        """Redraw from the trainer's per-step records (cheap: a few thousand points)."""
        if not history:
            for c in (*self._curves.values(), self._val):
                c.setData([], [])
            return
        steps = np.array([h["step"] for h in history], float)
        for key, curve in self._curves.items():
            values = np.array([h[key] for h in history], float)
            curve.setData(steps, np.clip(_ema(values, self.smoothing), 1e-6, None))
        val = [(h["step"], h["val_loss"]) for h in history if h.get("val_loss") is not None]
        if val:
            x, y = zip(*val)
            self._val.setData(np.array(x, float), np.clip(np.array(y, float), 1e-6, None))


class _LogAxis(pg.AxisItem):
    """A log axis that labels only 1, 2 and 5 times a power of ten (the rest overlap in a short plot)."""

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        if not self.logMode:
            return strings
        keep = {0.0, round(np.log10(2), 3), round(np.log10(5), 3)}
        return [s if round(v - np.floor(v), 3) in keep else "" for v, s in zip(values, strings)]


def _ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Bias-corrected exponential moving average, as TensorBoard's smoothing."""
    out = np.empty_like(values)
    acc, weight = 0.0, 0.0
    for i, v in enumerate(values):
        acc = alpha * acc + (1 - alpha) * v
        weight = alpha * weight + (1 - alpha)
        out[i] = acc / weight
    return out
