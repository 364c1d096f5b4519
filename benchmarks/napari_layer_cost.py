"""What napari itself costs on this display, without the plugin: the floor under any GUI stall.

Opens a napari window (run under a display: ``xvfb-run -a``), then times, each after the
window has settled, with the main thread's events processed:

- a repaint of the canvas after a small zoom step, with 1, 2 and 3 image layers;
- adding an image layer the size of the built-in example (660 x 550, float32), visible;
- the same layer added hidden, then shown (the two halves of that cost).

Prints the OpenGL renderer: under Xvfb it is Mesa's software renderer (llvmpipe), where every
draw is rasterised on the CPU, so these costs are far above those of a desktop with a GPU.
benchmarks/gui_responsiveness.py reports the plugin's stalls against the same floor.

    xvfb-run -a python benchmarks/napari_layer_cost.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    import napari
    from qtpy.QtWidgets import QApplication
    from vispy.gloo import gl

    from napari_noise2same.examples import noisy_cell

    app = QApplication.instance() or QApplication([])
    viewer = napari.Viewer(show=True)
    noisy, _ = noisy_cell()

    def settle() -> None:
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)

    def timed(action) -> float:
        start = time.perf_counter()
        action()
        app.processEvents()
        return 1000 * (time.perf_counter() - start)

    def zoom() -> None:
        viewer.camera.zoom *= 1.01

    settle()
    print(f"OpenGL renderer: {gl.glGetParameter(gl.GL_RENDERER)}, {gl.glGetParameter(gl.GL_VERSION)}")
    for count in (1, 2, 3):
        viewer.add_image(noisy.copy(), name=f"layer {count}")
        settle()
        times = []
        for _ in range(args.repeats):
            times.append(timed(zoom))
            settle()
        print(f"repaint after a zoom step, {count} layer(s): {', '.join(f'{t:.0f}' for t in times)} ms")
    visible, hidden, shown = [], [], []
    for i in range(args.repeats):
        visible.append(timed(lambda i=i: viewer.add_image(np.zeros_like(noisy), name=f"visible {i}")))
        settle()
        hidden.append(timed(lambda i=i: viewer.add_image(np.zeros_like(noisy), name=f"hidden {i}", visible=False)))
        settle()
        shown.append(timed(lambda i=i: setattr(viewer.layers[f"hidden {i}"], "visible", True)))
        settle()
    shape = "x".join(map(str, noisy.shape))
    print(f"adding a {shape} image layer, visible: {', '.join(f'{t:.0f}' for t in visible)} ms")
    print(
        f"adding it hidden: {', '.join(f'{t:.0f}' for t in hidden)} ms; then showing it: "
        f"{', '.join(f'{t:.0f}' for t in shown)} ms"
    )
    viewer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
