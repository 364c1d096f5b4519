"""How responsive napari stays while the plugin trains and denoises.

The main thread runs Qt's own event loop, as in napari; a 10 ms QTimer runs on it from the moment
the Train click has been handled
until the denoised layer is in the viewer; the longest gap between its ticks is the longest
time the GUI could not react.  The click's own handling time is printed separately.  Run under a
display (xvfb-run -a python benchmarks/gui_responsiveness.py).
"""

from __future__ import annotations

import sys
import time

import napari
import numpy as np
from qtpy.QtCore import QEventLoop, QTimer
from qtpy.QtWidgets import QApplication

from napari_noise2same.examples import noisy_cell


def main(seconds: float = 20.0, preset: str | None = None) -> None:
    viewer = napari.Viewer(show=True)
    noisy, _ = noisy_cell()
    viewer.add_image(noisy, name="noisy cell")
    _, widget = viewer.window.add_plugin_dock_widget("napari-noise2same", "Train Noise2Same")
    if preset:
        widget.preset.value = preset
    widget.max_minutes.value = seconds / 60
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    while widget._warmup.is_alive():  # the widget imports torch's optimiser stack in the background
        QApplication.processEvents()
        time.sleep(0.01)
    t_click = time.perf_counter()
    widget.train_button.clicked.emit()  # prepares the preview layer: a click's own latency
    click_ms = (time.perf_counter() - t_click) * 1000
    # the real Qt event loop (idle when nothing happens), left when the denoised layer is in
    loop = QEventLoop()
    done = QTimer()
    done.setInterval(50)
    done.timeout.connect(lambda: loop.quit() if not widget.busy and time.perf_counter() - t0 > 1 else None)
    timer.start()
    done.start()
    t0 = time.perf_counter()
    loop.exec()
    timer.stop()
    print(f"Train click handled in {click_ms:.0f} ms")
    gaps = np.diff(ticks) * 1000
    worst = np.argsort(gaps)[-5:]
    print("worst gaps (ms, at s after Train):", [(round(gaps[i]), round(ticks[i] - t0, 2)) for i in worst])
    if "--debug" in sys.argv:
        print("t0", t0)
    steps = widget.trainer.step
    print(
        f"preset {widget.preset.value}: {steps} steps in {seconds:.0f} s of training plus the final denoising; "
        f"{len(ticks)} timer ticks"
    )
    print(
        f"main-thread gap between 10 ms ticks: median {np.median(gaps):.1f} ms, 99th percentile "
        f"{np.percentile(gaps, 99):.1f} ms, longest {gaps.max():.1f} ms"
    )
    viewer.close()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0, sys.argv[2] if len(sys.argv) > 2 else None)
