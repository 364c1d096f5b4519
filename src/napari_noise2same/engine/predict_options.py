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
    output would then depend on the CPU it ran on.  ``estimate``: "n2s" (the network's output,
    Noise2Same's estimate), "posterior" (each pixel's prediction from its context combined with
    its own value through the noise model, engine/posterior.py: PyTorch, whole images, about 9x
    the time) or "auto" (what the model file records, chosen when it was trained:
    :func:`resolve_estimate`).  ``noise_model``: a calibration (engine/noise_calibration.py) for
    the posterior; None: the one the model records, else fitted on each image.
    """

    tile_size: int | tuple[int, ...] | None = None
    overlap: int | tuple[int, ...] | None = None
    tta: bool = False
    device: str | None = None
    engine: str = "auto"
    precision: str = "float32"
    estimate: str = "auto"
    noise_model: object | None = None

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.precision == "bfloat16" and self.engine == "onnx":
            raise ConfigError("bfloat16 runs in PyTorch, not ONNX Runtime: use --engine torch (or auto) with it")
        if self.estimate not in ESTIMATES:
            raise ConfigError(f"estimate must be one of {', '.join(ESTIMATES)}, not {self.estimate!r}")
        if self.estimate == "posterior" and self.engine == "onnx":
            raise ConfigError("the posterior estimate runs in PyTorch: use --engine torch (or auto) with it")
        if self.estimate == "posterior" and self.tta:
            raise ConfigError("test-time augmentation goes with the Noise2Same estimate: drop --tta, or use n2s")


ENGINES = ("auto", "torch", "onnx")
ESTIMATES = ("auto", "n2s", "posterior")
#: why the posterior is refused on pieces of an image (zarr chunks, a cluster)
WHOLE_IMAGES_ONLY = (
    "the posterior estimate needs whole images, not chunks: write TIFFs (not zarr or a cluster), "
    "or use the Noise2Same estimate (n2s)"
)
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


def recorded_estimate(summary: dict | None) -> str:
    """The estimate a model file records (chosen when it was trained), "n2s" where none."""
    chosen = ((summary or {}).get("estimate") or {}).get("estimate")
    return chosen if chosen in ("n2s", "posterior") else "n2s"


def resolve_estimate(options: PredictOptions, model) -> str:
    """ "n2s" or "posterior" for ``options.estimate``: "auto" takes the model's recorded choice
    (engine/estimate.py measured it on the training images), and the Noise2Same estimate with
    test-time augmentation, with ONNX Runtime and for models without a spread head (older or
    ONNX-only ones)."""
    if options.estimate != "auto":
        return options.estimate
    if options.tta or options.engine == "onnx" or getattr(model, "spread", None) is None:
        return "n2s"
    return recorded_estimate(getattr(model, "summary", None))
