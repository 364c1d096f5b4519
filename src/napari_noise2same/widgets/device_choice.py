"""The device picker of both widgets: "auto" until PyTorch has loaded, then every device present.

The choices are a callable, not a list: napari calls ``reset_choices`` on a dock widget whenever
a layer is added, and magicgui would put a list given at construction back (the picker would
return to "finding the devices" and lose a chosen GPU after the first result).
"""

from __future__ import annotations

from magicgui.widgets import ComboBox

from ..engine.config import AUTO

FINDING = [("auto (finding the devices…)", AUTO)]


class DeviceChoice(ComboBox):
    def __init__(self, tooltip: str = ""):
        self._devices: list[tuple[str, str]] = list(FINDING)
        super().__init__(label="device", choices=lambda _widget: self._devices, value=AUTO, tooltip=tooltip)

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        """(device, name) pairs, best first: the choices, the best selected (unless one was picked)."""
        keep = self.value if self.value != AUTO else None
        self._devices = [(name, dev) for dev, name in devices]
        self.reset_choices()
        values = [dev for dev, _ in devices]
        self.value = keep if keep in values else values[0]
