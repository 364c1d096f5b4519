"""The training widget, end to end, on a chosen device (a CUDA GPU in benchmarks/gpu_check.sh).

Opens napari (run under a display: ``xvfb-run -a``), adds the FMD noisy frame (or the
built-in noisy cell), picks ``--device`` in the training widget, trains for ``--seconds``
with the widget's defaults (preset auto), and waits for the denoised layer.  Prints what auto
chose, steps and steps/s, PSNR against the clean frame where there is one, and saves a
screenshot of the window to ``--screenshot``.  Exit status 1 when no denoised layer came.

    xvfb-run -a python benchmarks/widget_on_device.py --device cuda --seconds 30
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import napari
import numpy as np
from qtpy.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import fmd_pair, psnr


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--screenshot", default="widget_on_device.png")
    args = p.parse_args()

    pair = fmd_pair()
    if pair is None:
        from napari_noise2same.examples import noisy_cell

        noisy, clean = noisy_cell()
        peak = 1.0
    else:
        (noisy, clean), peak = pair, 255.0
    viewer = napari.Viewer(show=True)
    viewer.add_image(noisy, name="noisy")
    _, widget = viewer.window.add_plugin_dock_widget("napari-noise2same", "Train Noise2Same")
    devices = list(widget.device.choices)
    match = [d for d in devices if d == args.device or d.split(":")[0] == args.device]
    if not match:
        print(f"device {args.device} is not offered by the widget (offered: {devices})")
        return 1
    widget.device.value = match[0]
    widget.max_minutes.value = args.seconds / 60
    print(f"before Train: {widget.auto_choice.value}")
    t0 = time.perf_counter()
    widget.train_button.clicked.emit()
    app = QApplication.instance()
    while time.perf_counter() - t0 < args.seconds + 300:
        app.processEvents()
        if not widget.busy and "noisy_denoised" in viewer.layers:
            break
        time.sleep(0.01)
    done = "noisy_denoised" in viewer.layers
    trainer = widget.trainer
    print(f"after Train: {widget.auto_choice.value}")
    if trainer is not None:
        print(
            f"trained on {trainer.device}: {trainer.step} steps in {trainer.seconds:.1f} s "
            f"({trainer.step / max(trainer.seconds, 1e-9):.1f} steps/s), preset {trainer.config.preset}, "
            f"batch {trainer.batch_size}"
        )
    if done:
        out = viewer.layers["noisy_denoised"].data
        print(f"PSNR {psnr(clean, np.asarray(out), peak):.2f} dB (noisy {psnr(clean, noisy, peak):.2f})")
    print(f"status: {widget.status.value!r}")
    Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
    napari.utils.io.imsave(args.screenshot, viewer.screenshot(canvas_only=False))
    viewer.close()
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
