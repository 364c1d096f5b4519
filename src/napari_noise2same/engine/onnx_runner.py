"""Running the network's ONNX graph with ONNX Runtime on the CPU: no torch needed.

A model file may carry its network as ONNX (``network.onnx``, written by
:func:`.onnx_export.export_onnx`, checked with the onnx package then).  ONNX is a graph of
standard operators and weights, not code; a graph is run only once ONNX Runtime has loaded it
(which refuses operators it does not implement: custom operators would load native libraries)
and it has the one input and output the predictor feeds and reads.  Prediction imports ONNX
Runtime, not onnx.
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
    """Whether ONNX Runtime is installed (found without importing it)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


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


def open_session(blob: bytes, dims: int, channels: int, source: str = "the model file", threads: int | None = None):
    """An ONNX Runtime session of ``blob``, refused (one line) where it is not the network as
    exported.  ONNX Runtime's own loading is the check: it parses and validates the graph and
    refuses any operator it does not implement (a custom operator would need a native library
    registered by hand, which this never does); then the one input and output of the
    predictor's rank and channels.  The onnx package is not needed (its import alone took 0.55 s)."""
    import onnxruntime as ort
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

    options = ort.SessionOptions()
    threads = threads or _threads()
    if threads:
        options.intra_op_num_threads = threads
    refusals = (
        ort_errors.Fail,
        ort_errors.InvalidArgument,
        ort_errors.InvalidGraph,
        ort_errors.InvalidProtobuf,
        ort_errors.NotImplemented,
        ort_errors.RuntimeException,
    )
    try:
        session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    except refusals as e:
        if "is not a registered function/op" in str(e):
            raise ModelFileError(
                f"{source} holds an ONNX network with custom operators (not in ONNX Runtime); refused"
            ) from None
        raise ModelFileError(
            f"{source} holds a damaged ONNX network ({type(e).__name__}); save the model again"
        ) from None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    rank = 2 + dims
    if len(inputs) != 1 or len(outputs) != 1 or [len(inputs[0].shape), len(outputs[0].shape)] != [rank, rank]:
        raise ModelFileError(f"{source} holds an ONNX network that is not a {dims}D Noise2Same network; refused")
    channel = inputs[0].shape[1]
    if isinstance(channel, int) and channel != channels:
        raise ModelFileError(f"{source} holds an ONNX network for {channel} channel(s), not {channels}")
    return session


def check_written_graph(blob: bytes) -> None:
    """The checks of the onnx package on a graph this package has just exported (at write time,
    where onnx is installed anyway): standard operators only."""
    import onnx

    graph = onnx.load_from_string(blob)
    onnx.checker.check_model(graph)
    domains = {node.domain for node in graph.graph.node} | {f.domain for f in graph.functions}
    domains |= {op.domain for op in graph.opset_import}
    custom = sorted(d for d in domains if d not in STANDARD_DOMAINS)
    if custom:
        raise RuntimeError(f"the exported ONNX network uses operators outside the standard set ({', '.join(custom)})")


class OnnxRunner:
    """``runner(tile, tta)`` with ONNX Runtime: (C, *spatial) float32 normalised -> the same."""

    engine = "onnx"

    def __init__(self, session):
        self.session = session  # from open_session, which checked it
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
