"""Running the network's ONNX graph with ONNX Runtime on the CPU: no torch needed.

A model file may carry its network as ONNX (``network.onnx``, written by
:func:`.onnx_export.export_onnx`).  ONNX is a graph of standard operators and weights, not
code; before a graph is run it is checked to use only the standard operator set (no custom
operators, which would load native libraries) and to have the one input and output the
predictor feeds and reads.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import Fix, ModelFileError, Noise2SameError

ONNX_HINT = "pip install 'napari-noise2same[onnx]'"
#: ONNX operator set of the exported graphs: supported by ONNX Runtime >= 1.16 and bioimage.io's consumers
OPSET = 18
#: the operator domains of the standard ONNX operator set
STANDARD_DOMAINS = ("", "ai.onnx")


def available() -> bool:
    """Whether ONNX Runtime (and the onnx package that checks graphs) can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def exporter_available() -> bool:
    """Whether the network can be exported to ONNX here (the onnx and onnxscript packages)."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        return False
    return True


def require() -> None:
    """Raise, naming the install command, where ONNX Runtime is missing."""
    if not available():
        raise Noise2SameError(
            f"the ONNX engine needs ONNX Runtime: {ONNX_HINT}, or use {{}}", fixes=(Fix("engine", "torch"),)
        )


def check_graph(blob: bytes, dims: int, channels: int, source: str = "the model file") -> None:
    """Refuse a graph that is not the network as exported: custom operators, or other inputs."""
    import onnx

    try:
        graph = onnx.load_from_string(blob)
        onnx.checker.check_model(graph)
    except (onnx.checker.ValidationError, ValueError, RuntimeError) as e:  # onnx's own errors
        raise ModelFileError(
            f"{source} holds a damaged ONNX network ({type(e).__name__}); save the model again"
        ) from None
    domains = {node.domain for node in graph.graph.node} | {f.domain for f in graph.functions}
    custom = sorted(d for d in domains if d not in STANDARD_DOMAINS)
    if custom or any(op.domain not in STANDARD_DOMAINS for op in graph.opset_import):
        raise ModelFileError(f"{source} holds an ONNX network with custom operators ({', '.join(custom)}); refused")
    inputs, outputs = graph.graph.input, graph.graph.output
    rank = 2 + dims
    shapes = [len(v.type.tensor_type.shape.dim) for v in (*inputs, *outputs)]
    if len(inputs) != 1 or len(outputs) != 1 or shapes != [rank, rank]:
        raise ModelFileError(f"{source} holds an ONNX network that is not a {dims}D Noise2Same network; refused")
    channel = inputs[0].type.tensor_type.shape.dim[1]
    if channel.HasField("dim_value") and channel.dim_value != channels:
        raise ModelFileError(f"{source} holds an ONNX network for {channel.dim_value} channel(s), not {channels}")


class OnnxRunner:
    """``runner(tile, tta)`` with ONNX Runtime: (C, *spatial) float32 normalised -> the same."""

    engine = "onnx"

    def __init__(self, blob: bytes, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        threads = threads or _threads()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def _net(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: np.ascontiguousarray(x, dtype=np.float32)})[0]

    def __call__(self, tile: np.ndarray, tta: bool = False) -> np.ndarray:
        x = tile[None]
        if not tta:
            return self._net(x)[0]
        acc = np.zeros_like(x)
        square = x.shape[-1] == x.shape[-2]
        for k in range(4) if square else (0, 2):
            for flip in (False, True):
                t = np.rot90(x, k, axes=(-2, -1))
                t = t[..., ::-1] if flip else t
                y = self._net(t)
                y = y[..., ::-1] if flip else y
                acc += np.rot90(y, -k, axes=(-2, -1))
        return (acc / (8 if square else 4))[0]


def _threads() -> int | None:
    """OMP_NUM_THREADS where the user set it (as torch honours it), else ONNX Runtime's choice."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None
