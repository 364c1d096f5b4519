"""Models trained in this napari session, so the prediction widget can use them without a file.

One entry per trained layer: training the same layer again replaces its entry, so a long
session holds a bounded number of models.
"""

from __future__ import annotations

from psygnal import Signal


class SessionModels:
    changed = Signal()

    def __init__(self):
        self._models: dict[str, tuple[str, object]] = {}  # source layer -> (display name, model)

    def add(self, source: str, model) -> str:
        """Offer ``model`` (trained on layer ``source``) under a name that says how far it trained."""
        name = f"{source} ({model.summary.get('steps', '?')} steps)"
        self._models.pop(source, None)
        self._models[source] = (name, model)
        self.changed.emit()
        return name

    def names(self) -> list[str]:
        return [name for name, _ in self._models.values()]

    def get(self, name: str):
        return next((model for n, model in self._models.values() if n == name), None)


SESSION = SessionModels()
