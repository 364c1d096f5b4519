"""Live loss curves (pyqtgraph): total, reconstruction and invariance, smoothed, plus validation."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

CURVES = {  # key: (label, colour)
    "loss": ("total", "#f0f0f0"),
    "reconstruction": ("reconstruction", "#4fc3f7"),
    "invariance": ("invariance", "#ffb74d"),
}


class LossPlot(pg.PlotWidget):
    def __init__(self, parent=None, smoothing: float = 0.9):
        super().__init__(parent=parent, background=None)
        self.smoothing = smoothing
        self.setMinimumHeight(160)
        self.setLabel("bottom", "step")
        self.setLabel("left", "loss")
        self.setLogMode(y=True)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self._curves = {k: self.plot([], [], pen=pg.mkPen(c, width=1.5), name=n) for k, (n, c) in CURVES.items()}
        self._val = self.plot([], [], pen=None, symbol="o", symbolSize=6, symbolBrush="#81c784", name="validation")

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


def _ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Bias-corrected exponential moving average, as TensorBoard's smoothing."""
    out = np.empty_like(values)
    acc, weight = 0.0, 0.0
    for i, v in enumerate(values):
        acc = alpha * acc + (1 - alpha) * v
        weight = alpha * weight + (1 - alpha)
        out[i] = acc / weight
    return out
