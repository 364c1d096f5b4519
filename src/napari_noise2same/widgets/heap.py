"""Keeping Python's full garbage collections from freezing napari while the plugin loads torch.

A full collection (of the oldest generation) walks every object the collector tracks, in one
call that holds the GIL: in napari it takes about 0.2 s, and with PyTorch and torch._dynamo
loaded (half a million objects) about 0.4 s, during which the window cannot redraw.  Loading
torch adds a quarter of a million long-lived objects, which sets off several of them.

So the warm-up loads torch with the collector paused (:func:`pause`), then moves everything
that exists into Python's permanent generation (:func:`freeze`, ``gc.freeze``): modules,
classes and functions never become garbage, and later full collections walk only what was made
since (a few ms).  The viewer's layers existed then too, and a removed napari layer is freed
only by the collector (its events hold it in reference cycles), so the first layer removed
gives everything back to the collector (:class:`Watch`), as does closing the widget: from then
on garbage is collected as napari alone would collect it.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_paused = 0  # warm-ups loading now (two widgets may open together)


def pause() -> None:
    """No collections until :func:`freeze` (a warm-up is loading torch)."""
    global _paused
    with _lock:
        _paused += 1
        gc.disable()


def freeze() -> None:
    """End a :func:`pause`: what exists now is left out of later collections."""
    global _paused
    with _lock:
        _paused = max(_paused - 1, 0)
        gc.freeze()
        if _paused == 0:
            gc.enable()


def release() -> None:
    """Give the frozen objects back to the collector (they are collected when next unreachable)."""
    with _lock:
        if gc.get_freeze_count():
            gc.unfreeze()


class Watch:
    """Releases the frozen heap when a layer is removed from ``viewer`` or at :meth:`close`."""

    def __init__(self, viewer):
        self.viewer = viewer
        viewer.layers.events.removed.connect(self._removed)

    def _removed(self, *_) -> None:
        release()

    def close(self) -> None:
        self.viewer.layers.events.removed.disconnect(self._removed)
        release()
