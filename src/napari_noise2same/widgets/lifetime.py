"""Noticing that a widget is gone.  napari does not delete a closed dock widget: it takes the
widget (or the wrapper around it) out of the window.  So the widget's whole parent chain is
watched, and once it has been in a window it is gone when it no longer is; deletion (napari
quitting) counts too."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QDockWidget, QMainWindow


class _Watcher(QObject):
    def __init__(self, widget, on_gone: Callable[[], None]):
        super().__init__(widget)
        self._widget, self._on_gone = widget, on_gone  # the widget is our parent: no cycle
        self._docked = False
        self._watched: list = []
        self._watch_chain()

    def _watch_chain(self, install: bool = True) -> None:
        for ref in self._watched:  # weak: the watcher must not keep napari's window alive
            w = ref()
            try:
                if w is not None:
                    w.removeEventFilter(self)
            except RuntimeError:  # already deleted
                pass
        self._watched = []
        w = self._widget
        while install and w is not None:
            w.installEventFilter(self)
            self._watched.append(weakref.ref(w))
            w = w.parentWidget()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.ParentChange:
            self._watch_chain()
            if isinstance(self._widget.window(), (QMainWindow, QDockWidget)):
                self._docked = True
            elif self._docked:
                self._watch_chain(install=False)
                self._on_gone()
        return False


def on_closed(widget, callback: Callable[[], None]) -> None:
    """Call ``callback`` once, when ``widget`` leaves napari's window or is destroyed."""
    called = []

    def once(*_):
        if not called:
            called.append(True)
            callback()

    widget.destroyed.connect(once)
    widget._n2s_close_watcher = _Watcher(widget, once)
