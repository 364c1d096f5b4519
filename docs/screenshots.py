"""Take the README's screenshots from a real napari window (run under Xvfb: xvfb-run -a python docs/screenshots.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

from napari_noise2same.examples import noisy_cell

OUT = Path(__file__).parent / "images"


def wait(predicate, timeout=300):
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def main(seconds: float = 40):
    OUT.mkdir(exist_ok=True)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    noisy, _ = noisy_cell()
    viewer.add_image(noisy, name="noisy cell", colormap="gray")
    _, widget = viewer.window.add_plugin_dock_widget("napari-noise2same", "Train Noise2Same")
    QApplication.processEvents()
    viewer.reset_view()
    widget.max_minutes.value = seconds / 60
    widget.seed.value = 0
    widget.train_button.clicked.emit()
    wait(lambda: widget.trainer is not None and widget.trainer.step > 0 and "noisy cell_preview" in viewer.layers, 120)
    wait(lambda: widget.trainer.history[-1]["elapsed_s"] > seconds * 0.6, 120)
    viewer.screenshot(str(OUT / "training.png"), canvas_only=False)
    wait(lambda: not widget.busy)
    viewer.screenshot(str(OUT / "trained.png"), canvas_only=False)
    widget.compare_button.clicked.emit()
    QApplication.processEvents()
    viewer.screenshot(str(OUT / "side_by_side.png"), canvas_only=False)
    widget.compare_button.clicked.emit()  # back to one view
    widget.quality.button.clicked.emit()
    wait(lambda: "noisy cell_uncertainty" in viewer.layers and widget.quality.button.enabled)
    for name in ("noisy cell_denoised", "noisy cell_residual_structure"):
        viewer.layers[name].visible = False
    QApplication.processEvents()
    viewer.screenshot(str(OUT / "quality.png"), canvas_only=False)
    viewer.close()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 40)
