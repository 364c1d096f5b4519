"""``noise2same report``: can the denoised result be trusted?  Noise, residual and D(f) per input.

For each input in the order given: the noise level and its fit, whether the noise is
correlated, the fraction of the image where the residual looks like structure, D(f) with its
standard error, and warnings in words (engine/quality.py; docs/quality.md says what each means
and how it was validated).  ``-o REPORT.json`` keeps them as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import Noise2SameError
from ..text import number
from .common import DEVICE_HELP, check_writable


def add_parser(sub) -> None:
    from ..engine.predict_options import ENGINES

    r = sub.add_parser(
        "report",
        help="check a model's result on images: noise, residual, D(f)",
        description="Check how far a model's result on each input can be trusted, without a clean reference.",
    )
    r.add_argument("inputs", nargs="+", metavar="INPUT", help="TIFF or PNG files, folders or globs")
    r.add_argument("-m", "--model", required=True, help="model file (.n2s)")
    r.add_argument("-o", "--output", metavar="REPORT.json", help="also write the report as JSON")
    r.add_argument("--axes", help="axes of the inputs over STCZYX (default: read from the file)")
    r.add_argument("--device", default="auto", help=DEVICE_HELP)
    r.add_argument("--engine", choices=ENGINES, default="auto", help="torch, onnx or auto (as for predict)")
    r.set_defaults(func=run)


def run(args) -> int:
    from ..batch import model_axes, read_input
    from ..engine.predict_options import PredictOptions
    from ..engine.quality import report
    from ..io import find_inputs
    from .predict import load_for_engine

    if args.output:
        check_writable(Path(args.output), "the report", "report.json")
    model = load_for_engine(args.model, args.device, args.engine)
    options = PredictOptions(engine=args.engine)
    results = []
    for path in find_inputs(args.inputs):
        image = read_input(path, args.axes)
        try:
            found, _ = report(model, image.data, model_axes(model, image), options=options)
        except Noise2SameError as e:
            raise type(e)(f"{path}: {e.message}", path=path, fixes=e.fixes) from None
        entry = {"input": str(path), **found.to_dict()}
        results.append(entry)
        print(_summary(path, found))
    if args.output:
        from ..atomic import atomic_write

        text = json.dumps(results, indent=2).encode("utf-8")
        atomic_write(Path(args.output), lambda f: f.write(text))
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _summary(path, r) -> str:
    noise = r.noise[0]
    fit = (
        f", Poisson-Gaussian: variance = {number(noise.gain)} x intensity + {number(noise.floor)}^2"
        if noise.gain is not None
        else ""
    )
    lines = [
        f"{path}",
        f"  noise       std {number(r.noise_sigma)} (image units){fit}",
        f"  correlated  {'yes' if r.noise_correlated else 'no'}"
        + (
            f" (residual autocorrelation at lag 1: Y {noise.autocorrelation['Y'][0]:.2f}, "
            f"X {noise.autocorrelation['X'][0]:.2f})"
            if noise.autocorrelation
            else ""
        ),
        f"  residual    looks like structure in {r.residual_structure_fraction:.1%} of the image",
        f"  D(f)        {number(r.d_f)} ± {number(r.d_f_se)} ({r.d_f_pixels} pixels; 0 = blind spot)",
    ]
    lines += [f"  warning: {w}" for w in r.warnings]
    return "\n".join(lines)
