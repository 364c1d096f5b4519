"""The training widget's settings: one widget per TrainConfig field, and the mapping both ways."""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, Label, SpinBox

from ..engine.config import (
    AUTO,
    CHANNEL_MODES,
    CPU_BATCH,
    METHODS,
    RANGES,
    REPLACEMENTS,
    TINY_LEARNING_RATE,
    TINY_MASK_PERCENT,
    TrainConfig,
)
from ..engine.geometry import PRESETS
from ..engine.schedule import SCHEDULES
from .device_choice import DeviceChoice

DEFAULTS = TrainConfig()
#: (shown, setting) of the structured-mask choices (engine/struct_mask.py); a model's own shape is added
STRUCT_MASK_CHOICES = [
    ("auto: from the noise", AUTO),
    ("off", "off"),
    ("1×3: along X", "1x3"),
    ("1×5: along X", "1x5"),
    ("3×1: along Y", "3x1"),
    ("5×1: along Y", "5x1"),
    ("3×3", "3x3"),
    ("5×5", "5x5"),
]
CHANNEL_WORDS = {"joint": "joint: one network for all", "independent": "independent: one network each"}


def _auto_box(what: str, tooltip: str) -> CheckBox:
    """The "auto" box beside a field: on until a value is typed in the field."""
    return CheckBox(label="", text=f"auto: {what}", value=True, tooltip=tooltip)


class TrainSettings:
    """Mixed into the training widget: builds its settings widgets as attributes."""

    def _build_settings(self) -> None:
        self.dims = ComboBox(
            label="model",
            choices=[("2D", 2), ("3D", 3)],
            value=DEFAULTS.dims,
            tooltip="3D models learn from Z neighbours too; 2D models treat Z planes as samples",
        )
        self.mask_percent = FloatSpinBox(
            label="mask %",
            value=TINY_MASK_PERCENT,
            min=0.01,
            max=RANGES["mask_percent"].high,
            step=0.1,
            tooltip="percent of pixels in the masked set J each step (paper: 0.5); a value typed here turns auto off",
        )
        self.mask_auto = _auto_box(
            "for the network and budget",
            "2 for the tiny network (the CPU's) in runs of up to 3 minutes, else the paper's 0.5",
        )
        self.lambda_inv = FloatSpinBox(
            label="lambda_inv",
            value=2.0 if DEFAULTS.lambda_inv == AUTO else DEFAULTS.lambda_inv,
            min=RANGES["lambda_inv"].low,
            max=RANGES["lambda_inv"].high,
            step=0.1,
            tooltip="weight of the invariance term (paper: 2); used when auto is off",
        )
        self.lambda_auto = CheckBox(
            label="",
            text="auto: 2 × estimated noise std",
            value=DEFAULTS.lambda_inv == AUTO,
            tooltip="the paper's bound with the noise level estimated from the image (at most 2; "
            "2 where the noise looks correlated)",
        )
        self.patch_size = SpinBox(
            label="patch size",
            value=DEFAULTS.patch_size,
            min=RANGES["patch_size"].low,
            max=RANGES["patch_size"].high,
            step=8,
        )
        self.batch_size = SpinBox(
            label="batch size",
            value=CPU_BATCH[DEFAULTS.dims],
            min=RANGES["batch_size"].low,
            max=RANGES["batch_size"].high,
            tooltip="patches per step; a value typed here turns auto off",
        )
        self.batch_auto = _auto_box(
            "for the device and its memory",
            "the paper's 64 (4 in 3D) on a GPU, 16 (2) on the CPU, less if memory is short",
        )
        self.max_minutes = FloatSpinBox(
            label="minutes", value=2.0, min=0.05, max=24 * 60, step=0.5, tooltip="training time budget in minutes"
        )
        self.max_steps = SpinBox(
            label="max steps",
            value=0,
            min=0,
            max=10_000_000,
            step=100,
            tooltip="stop after this many steps (0: no step limit, only the time budget)",
        )
        self.preset = ComboBox(
            label="network",
            choices=[AUTO, *PRESETS],
            value=AUTO,
            tooltip="auto: chosen for the device and the time budget; tiny: fastest; "
            "paper: the official 5.6 M-parameter U-Net",
        )
        self.stop_when_done = CheckBox(
            text="stop when done",
            value=True,
            tooltip="end before the time budget once the validation loss stops improving",
        )
        self.auto_choice = Label(value="")
        # the devices are known once torch has loaded (widgets/warmup.py): until then, "auto"
        self.device = DeviceChoice(tooltip="where to train: the best device is chosen when PyTorch has loaded")
        self.show_advanced = CheckBox(text="advanced settings", value=False)
        self.learning_rate = FloatSpinBox(
            label="learning rate",
            value=TINY_LEARNING_RATE,
            min=1e-6,
            max=RANGES["learning_rate"].high,
            step=1e-4,
            tooltip="Adam's learning rate at the start of the schedule; a value typed here turns auto off",
        )
        self.lr_auto = _auto_box(
            "for the network and budget", "2e-3 for the tiny network in runs of up to 3 minutes, else 1e-3"
        )
        self.lr_schedule = ComboBox(
            label="schedule",
            choices=list(SCHEDULES),
            value=DEFAULTS.lr_schedule,
            tooltip="learning rate over the run (docs/training.md)",
        )
        self.replacement = ComboBox(label="replacement", choices=list(REPLACEMENTS), value=DEFAULTS.replacement)
        self.struct_mask = ComboBox(
            label="structured mask",
            choices=STRUCT_MASK_CHOICES,
            value=DEFAULTS.struct_mask,
            tooltip="mask each pixel of J with its neighbours, against noise correlated between pixels "
            "(a detector's filter, a blur, stripes); auto: from the noise's autocorrelation, off for "
            "independent noise; needs the gaussian replacement",
        )
        self.method = ComboBox(label="method", choices=list(METHODS), value=DEFAULTS.method)
        self.seed = SpinBox(label="seed", tooltip="-1: a random seed each time", value=-1, min=-1, max=2**31 - 1)
        # (Qt spin boxes hold 32-bit integers: seeds above 2**31 - 1 only from Python or the command line)
        self.val_fraction = FloatSpinBox(
            label="validation fraction",
            value=DEFAULTS.val_fraction,
            min=RANGES["val_fraction"].low,
            max=RANGES["val_fraction"].high - 0.05,
            step=0.05,
        )
        self.channel_mode = ComboBox(
            label="channels",
            choices=[(CHANNEL_WORDS[m], m) for m in CHANNEL_MODES],
            value=DEFAULTS.channel_mode,
            tooltip="images with several channels: one network sees them all (joint), or one network per "
            "channel, each trained on its channel alone (independent: for unrelated stains)",
        )
        self.augment = CheckBox(
            text="rotate and flip patches",
            value=DEFAULTS.augment,
            tooltip="random 90-degree rotations and flips; turn off for data with a preferred direction",
        )
        # filled after construction: magicgui aligns the label column only then
        self.advanced = Container(labels=True, visible=False)
        self.advanced.extend(
            [
                self.channel_mode,
                self.augment,
                self.learning_rate,
                self.lr_auto,
                self.lr_schedule,
                self.replacement,
                self.struct_mask,
                self.method,
                self.seed,
                self.val_fraction,
            ]
        )

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        """(device, name) pairs, best first: the choices, the best selected (unless one was picked)."""
        self.device.set_devices(devices)

    def _auto_fields(self) -> tuple:
        """(TrainConfig field, its widget, its auto box) for each value auto fills unless one is typed."""
        return (
            ("batch_size", self.batch_size, self.batch_auto),
            ("mask_percent", self.mask_percent, self.mask_auto),
            ("learning_rate", self.learning_rate, self.lr_auto),
        )

    def _connect_auto_fields(self, on_change) -> None:
        """A value typed in a field turns its auto box off; ``on_change`` hears every box."""
        for _, field, auto in self._auto_fields():
            field.changed.connect(lambda *_, auto=auto: self._typed(auto))
            auto.changed.connect(on_change)

    def _config(self) -> TrainConfig:
        chosen = {name: None if auto.value else field.value for name, field, auto in self._auto_fields()}
        return TrainConfig(
            dims=self.dims.value,
            preset=self.preset.value,
            patch_size=self.patch_size.value,
            lambda_inv=AUTO if self.lambda_auto.value else self.lambda_inv.value,
            replacement=self.replacement.value,
            struct_mask=self.struct_mask.value,
            method=self.method.value,
            lr_schedule=self.lr_schedule.value,
            val_fraction=self.val_fraction.value,
            stop_when_done=self.stop_when_done.value,
            channel_mode=self.channel_mode.value,
            augment=self.augment.value,
            seed=None if self.seed.value < 0 else self.seed.value,
            **chosen,
        )

    def _show_choice(self, config, patch: tuple, record: dict | None, prefix: str) -> None:
        """What training uses (``config`` as auto resolved it): in words, and in the fields left to auto."""
        self.auto_choice.value = (
            f"{prefix if record else ''}'{config.preset}' network, batch {config.batch_size} of "
            f"{'×'.join(map(str, patch))} patches, mask {config.mask_percent:g} %, rate {config.learning_rate:g}"
        )
        self.auto_choice.tooltip = "\n".join(record["reasons"]) if record else ""
        self._showing_auto = True
        try:
            for name, field, auto in self._auto_fields():
                if auto.value:
                    field.value = getattr(config, name)
        finally:
            self._showing_auto = False

    def _typed(self, auto) -> None:
        """A value typed (or set by a script) in a field wins over auto's: its auto box goes off."""
        if not self._showing_auto:
            auto.value = False

    def _show_config(self, t: TrainConfig) -> None:
        """Set the form to a model's settings (when continuing from saved weights)."""
        self.dims.value, self.preset.value = t.dims, t.preset
        self.mask_percent.value, self.replacement.value, self.method.value = t.mask_percent, t.replacement, t.method
        if t.struct_mask not in [value for _, value in STRUCT_MASK_CHOICES]:
            self.struct_mask.set_choice(t.struct_mask.replace("x", "×"), t.struct_mask)
        self.struct_mask.value = t.struct_mask
        self.mask_auto.value = self.lr_auto.value = False  # the model's own values
        self.learning_rate.value, self.lr_schedule.value = t.learning_rate, t.lr_schedule
        self.channel_mode.value, self.augment.value = t.channel_mode, t.augment
        self.lambda_auto.value = t.lambda_inv == "auto"
        if t.lambda_inv != "auto":
            self.lambda_inv.value = float(t.lambda_inv)
