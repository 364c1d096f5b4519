"""Models trained in this napari session, so the prediction widget can use them without a file."""

from __future__ import annotations

from psygnal import Signal


class SessionModels:
    changed = Signal()

    def __init__(self):
        self._models: dict = {}

    def add(self, name: str, model) -> str:
        self._models[name] = model
        self.changed.emit()
        return name

    def names(self) -> list[str]:
        return list(self._models)

    def get(self, name: str):
        return self._models.get(name)


SESSION = SessionModels()
