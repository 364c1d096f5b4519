"""Denoising a whole layer in a background thread, with progress and stop."""

from __future__ import annotations

import threading

from superqt.utils import create_worker  # not napari's: it keeps every worker (and its data) for the life of the window
from qtpy.QtCore import QObject, Signal

from .layers import layer_array


class _Progress(QObject):
    changed = Signal(int, int)


def denoise_layer_worker(model, layer, axes: str, on_progress, tile_size=None, overlap=None, tta=False, device=None):
    """A not-yet-started worker returning the denoised layer data (float32, same shape).

    ``worker.quit()`` stops it after the tile in progress (the worker then errors with
    InterruptedError).
    """
    stop = threading.Event()
    progress = _Progress()
    progress.changed.connect(on_progress)

    def job():
        return model.predict(
            layer_array(layer), axes, tile_size=tile_size, overlap=overlap, tta=tta, device=device,
            on_progress=progress.changed.emit, should_stop=stop.is_set,
        )

    worker = create_worker(job, _start_thread=False, _ignore_errors=True)
    worker._n2s_progress = progress  # keep the QObject alive as long as the worker
    original_quit = worker.quit

    def quit():
        stop.set()
        original_quit()

    worker.quit = quit
    return worker
