"""What another environment's bioimage.io makes of a package: run there as a script.

    OTHER_PYTHON -I consumer_check.py PACKAGE.zip

It imports only bioimage.io (never napari-noise2same, which that environment need not have) and
prints one JSON line: the versions, whether the package loads and in which format it was read,
and, where bioimageio.core is installed, ``test_model`` for each weight format the package has
and the shape of one prediction of an image whose sides are not multiples of 4 (with the weight
format the consumer picks itself).  Where only bioimageio.spec is installed, the validation alone.
Used by ``benchmarks/bioimageio_consumers.py`` and the opt-in test ``tests/test_bioimageio_consumers.py``.
"""

from __future__ import annotations

import json
import sys

WEIGHT_FORMATS = ("pytorch_state_dict", "torchscript", "onnx")


def check(source: str) -> dict:
    import bioimageio.spec as spec

    out: dict = {"spec": spec.__version__, "python": sys.version.split()[0]}
    descr = spec.load_description(source)
    out["loaded_as"] = type(descr).__name__
    summary = getattr(descr, "validation_summary", None)
    out["status"] = getattr(summary, "status", None)
    if out["loaded_as"] != "ModelDescr":
        out["errors"] = summary.format()[-3000:] if summary is not None else str(descr)
        return out
    out["format_version_read"] = str(descr.format_version)
    try:
        import bioimageio.core as core
    except ImportError:
        return out
    out["core"] = core.__version__
    present = [w for w in WEIGHT_FORMATS if getattr(descr.weights, w, None) is not None]
    out["test_model"] = {}
    for weights in present:
        result = core.test_model(descr, weight_format=weights)
        out["test_model"][weights] = result.status
        if result.status != "passed":
            failed = [d for d in result.details if d.status != "passed"]
            out.setdefault("test_errors", {})[weights] = [f"{d.name}: {[e.msg for e in d.errors]}" for d in failed][:5]
    import io
    import zipfile

    import numpy as np

    with zipfile.ZipFile(source) as z:  # the package's own test input names the shape
        shape = np.load(io.BytesIO(z.read("test_input.npy"))).shape
    odd = shape[:2] + tuple(s - 3 for s in shape[2:])  # sides that are not multiples of 4
    image = np.random.default_rng(0).normal(100, 10, odd).astype(np.float32)
    predicted = core.predict(model=descr, inputs=image)
    out["predict_shape"] = {"input": list(odd), "output": list(predicted.members["output"].data.shape)}
    return out


def main() -> int:
    try:
        result = check(sys.argv[1])
    except Exception as e:  # noqa: BLE001  (what the consumer raises is the finding, reported as it is)
        result = {"error": f"{type(e).__name__}: {e}"[:3000]}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
