"""The Quality button of both widgets: how far a result can be trusted, without a clean image.

It runs the engine's report (engine/quality.py) and uncertainty map (engine/uncertainty.py) in
a worker thread, then adds ``<layer>_uncertainty`` (in the image's units) and
``<layer>_residual_structure`` (1 where the residual is not noise) to the viewer, and shows the
report in words with a small plot of the residual's autocorrelation (near 0 beyond lag 0 for
the independent noise Noise2Same assumes).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from magicgui.widgets import Container, Label, PushButton
from napari.utils.notifications import show_warning
from qtpy.QtWidgets import QSizePolicy
from superqt.utils import create_worker

from ..text import number
from .errors import report
from .layers import result_kwargs, set_or_add


class AutocorrelationPlot(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent=parent, background=None)
        self.setMinimumHeight(110)
        self.setMaximumHeight(140)
        self.setLabel("bottom", "lag (pixels)")
        self.setLabel("left", "autocorrelation")
        self.setTitle(
            "residual autocorrelation: <span style='color:#4fc3f7'>&#9472; Y</span> "
            "<span style='color:#ffb74d'>&#9472; X</span>",
            size="8pt",
        )
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setYRange(-0.3, 1.0)
        self._y = self.plot([], [], pen=pg.mkPen("#4fc3f7", width=1.5), symbol="o", symbolSize=5)
        self._x = self.plot([], [], pen=pg.mkPen("#ffb74d", width=1.5), symbol="o", symbolSize=5)

    def show_acf(self, acf: dict) -> None:
        for curve, axis in ((self._y, "Y"), (self._x, "X")):
            values = acf.get(axis, [])
            curve.setData(list(range(len(values) + 1)), [1.0, *values])


class QualityPanel(Container):
    """A button, the report and the plot; ``source()`` gives (model, noisy layer, denoised layer,
    axes) or None with a reason (shown as a warning)."""

    def __init__(self, viewer, source, options=None):
        super().__init__(labels=False)
        self.viewer, self._source, self._options = viewer, source, options
        self.button = PushButton(
            text="Quality",
            tooltip="noise, residual check, D(f) and an uncertainty map for the denoised layer (docs/quality.md)",
        )
        self.text = Label(value="")
        self.text.native.setWordWrap(True)
        self.text.native.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.plot = AutocorrelationPlot()
        self.plot.setVisible(False)
        self.extend([self.button, self.text])
        self.native.layout().addWidget(self.plot)
        self.button.changed.connect(self.run)
        self._worker = None

    def run(self) -> None:
        found = self._source()
        if isinstance(found, str):
            show_warning(found)
            return
        model, noisy, denoised, axes = found
        options = self._options() if self._options else None
        self.button.enabled = False
        self.text.value = f"Checking {denoised.name}…"
        self._worker = create_worker(
            _quality_job,
            model,
            np.asarray(noisy.data),
            np.asarray(denoised.data),
            axes,
            options,
            _start_thread=False,
            _ignore_errors=True,
        )
        self._worker.returned.connect(lambda result: self._show(noisy, result))
        self._worker.errored.connect(self._failed)
        self._worker.start()

    def _failed(self, error) -> None:
        self.button.enabled = True
        self.text.value = ""
        report(error, "The quality check")

    def _show(self, noisy, result) -> None:
        found, structure, uncertainty = result
        self.button.enabled = True
        u = result_kwargs(noisy, f"{noisy.name}_uncertainty")
        u.pop("contrast_limits", None)
        u["colormap"] = "magma"
        set_or_add(self.viewer, uncertainty, u)
        s = result_kwargs(noisy, f"{noisy.name}_residual_structure")
        s.update(contrast_limits=(0, 1), colormap="red", blending="additive", opacity=0.5)
        set_or_add(self.viewer, structure, s)
        self.text.value = summary(found)
        self.text.tooltip = "\n".join(found.warnings)
        label = self.text.native  # the whole report, however many lines it wraps to (the dock scrolls)
        label.setMinimumHeight(label.heightForWidth(max(label.width(), 200)))
        acf = found.noise[0].autocorrelation if found.noise else {}
        self.plot.show_acf(acf)
        self.plot.setVisible(bool(acf))


def _quality_job(model, noisy, denoised, axes, options):
    """Runs in the worker thread."""
    from ..engine.quality import report as quality_report
    from ..engine.uncertainty import uncertainty

    found, structure = quality_report(model, noisy, axes, denoised=denoised, options=options)
    return found, structure, uncertainty(model, noisy, axes, options=options, denoised=denoised)


def summary(found) -> str:
    lines = [f"noise std {number(found.noise_sigma)}"]
    for c, noise in enumerate(found.noise):
        lines.append(f"{f'channel {c}: ' if len(found.noise) > 1 else ''}{fit_words(noise)}")
    lines += [
        (
            f"noise correlated: {'yes' if found.noise_correlated else 'no'} · residual like structure in "
            f"{found.residual_structure_fraction:.1%} of the image"
        ),
        f"D(f) {number(found.d_f)} ± {number(found.d_f_se)}",
    ]
    lines += [f"⚠ {w[0].upper()}{w[1:]}." for w in found.warnings]
    return "\n".join(lines)


def fit_words(noise) -> str:
    """The Poisson-Gaussian fit of one channel and its verdict (engine/noise_calibration.py)."""
    from ..engine.noise_calibration import from_fit

    if noise.gain is None:
        return "Poisson-Gaussian: no fit (one noise level for all intensities)"
    m = from_fit(noise)
    worst = f"worst bin {noise.fit_worst:.0%}, limit {noise.fit_tolerance:.0%}"
    model = f"gain {number(m.gain)}, offset {number(m.offset)}, read noise {number(m.read_noise)}"
    return f"Poisson-Gaussian: {model} ({worst}): {noise.fit_verdict} fit"
