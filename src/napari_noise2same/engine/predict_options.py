"""How to predict: tiles, overlap, test-time augmentation and device (no torch needed)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from .geometry import HALO

#: tiles when an image is too large to predict whole (engine/tiling.py)
DEFAULT_TILE = {2: (512, 512), 3: (64, 256, 256)}
#: default overlap: half of it (the halo, 24 px) is the context at a switch, at least the receptive radius
OVERLAP = 2 * HALO


@dataclass(frozen=True)
class PredictOptions:
    """Settings of one prediction, the same for the command line, napari and Python.

    ``tile_size`` None: the whole sample when its activations fit in about 1.5 GB, else tiles
    (engine/tiling.py: 512 px in 2D, 64 x 256 x 256 in 3D); an int is the YX side (3D: Z too).
    ``overlap`` None: ``OVERLAP``.  ``tta``: average the 8 rotations and flips of the YX
    plane.  ``device`` None: where the model is ("cpu", "cuda", "cuda:1", "mps", "auto").
    ``engine``: "torch", "onnx" (ONNX Runtime on the CPU) or "auto" (ONNX Runtime where it is
    installed, the model carries its ONNX network, the device is the CPU and the case is one
    where it was measured faster: see :func:`choose_engine`).  ``precision``: "float32", or
    "bfloat16" (PyTorch's autocast; on a CPU that multiplies bfloat16 natively, AVX-512 BF16 or
    AMX, 2.2-2.6x faster than float32, within 0.004 dB: docs/performance.md; with "auto" as
    engine it then runs in PyTorch, as ONNX Runtime has no such kernels).  Not the default: the
    output would then depend on the CPU it ran on.
    """

    tile_size: int | tuple[int, ...] | None = None
    overlap: int | tuple[int, ...] | None = None
    tta: bool = False
    device: str | None = None
    engine: str = "auto"
    precision: str = "float32"

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.precision == "bfloat16" and self.engine == "onnx":
            raise ConfigError("bfloat16 runs in PyTorch, not ONNX Runtime: use --engine torch (or auto) with it")


ENGINES = ("auto", "torch", "onnx")
PRECISIONS = ("float32", "bfloat16")


def choose_engine(options: PredictOptions, has_onnx: bool, on_cpu: bool, dims: int) -> str:
    """ "torch" or "onnx" for ``options.engine`` (docs/performance.md has the measurements)."""
    if options.engine != "auto":
        return options.engine
    if options.precision == "bfloat16":
        return "torch"
    from .onnx_runner import available

    return "onnx" if has_onnx and on_cpu and dims in ONNX_FASTER_DIMS and available() else "torch"


#: where ONNX Runtime predicted faster than torch on the CPU (benchmarks/prediction_throughput.py)
ONNX_FASTER_DIMS = (2,)
