"""Denoising in a background thread, with progress and stop: a whole layer, or files into a folder."""

from __future__ import annotations

import threading

from qtpy.QtCore import QObject, Signal
from superqt.utils import create_worker  # not napari's: it keeps every worker (and its data) for the life of the window

from ..engine.predict_options import PredictOptions
from .layers import layer_array


class _Progress(QObject):
    changed = Signal(int, int)


def denoise_layer_worker(model, layer, axes: str, on_progress, options: PredictOptions | None = None):
    """A not-yet-started worker returning the denoised layer data (float32, same shape).

    ``worker.quit()`` stops it after the tile in progress (the worker then errors with
    InterruptedError).
    """
    stop = threading.Event()
    progress = _Progress()
    progress.changed.connect(on_progress)

    def job():
        return model.predict(
            layer_array(layer), axes, options, on_progress=progress.changed.emit, should_stop=stop.is_set
        )

    worker = create_worker(job, _start_thread=False, _ignore_errors=True)
    return _with_stop(worker, stop, progress)


def _with_stop(worker, stop: threading.Event, progress: _Progress):
    """``worker.quit()`` also sets ``stop``, which the predictor checks between tiles."""
    worker._n2s_progress = progress  # keep the QObject alive as long as the worker
    original_quit = worker.quit

    def quit_and_stop():
        stop.set()
        original_quit()

    worker.quit = quit_and_stop
    return worker


def denoise_files_worker(model, paths, outdir, on_progress, options: PredictOptions | None = None):
    """A not-yet-started generator worker denoising image files into ``outdir`` (TIFFs with the
    inputs' metadata), never loading them into the viewer.  It yields ``(index, path, target,
    error)`` per file (``error`` a message for a file that could not be denoised, which is
    skipped); ``on_progress(done, total)`` counts in thousandths of the whole job.
    ``worker.quit()`` stops within a tile; the file being written is then not left behind.
    """
    from ..batch import check_not_an_input, denoise_to_tiff, output_path, read_input
    from ..errors import Noise2SameError

    stop = threading.Event()
    progress = _Progress()
    progress.changed.connect(on_progress)
    inputs = {p.resolve() for p in paths}

    def job():
        for i, path in enumerate(paths):

            def tick(done, total, i=i):
                progress.changed.emit(int(1000 * (i + done / max(total, 1)) / len(paths)), 1000)

            try:
                target = output_path(path, outdir)
                check_not_an_input(target, inputs)
                denoise_to_tiff(model, read_input(path), target, options, on_progress=tick, should_stop=stop.is_set)
            except Noise2SameError as e:
                yield i, path, None, str(e)
                continue
            yield i, path, target, None

    worker = create_worker(job, _start_thread=False, _ignore_errors=True)
    return _with_stop(worker, stop, progress)
