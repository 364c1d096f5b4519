"""``noise2same report``: can the denoised result be trusted?  Noise, residual and D(f) per input.

For each input in the order given: the noise level and, per channel, its Poisson-Gaussian fit
with a verdict on how well it explains the noise measured by intensity, whether the noise is
correlated, the fraction of the image where the residual looks like structure, D(f) with its
standard error, and warnings in words (engine/quality.py; docs/quality.md says what each means
and how it was validated).  ``-o REPORT.json`` keeps them as JSON.  ``--noise-model FILE``
shows a given camera calibration beside the fit and how well it explains each image's noise;
``--save-noise-model FILE`` writes the fitted model in the same format
(engine/noise_calibration.py), to edit or reuse.
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
    r.add_argument(
        "--noise-model",
        metavar="FILE",
        help="a noise-model file (JSON, docs/quality.md): shown beside the fit, with how well it explains the noise",
    )
    r.add_argument(
        "--save-noise-model",
        metavar="FILE",
        help="write the fitted noise model (JSON; over all inputs where several) to edit or reuse",
    )
    r.set_defaults(func=run)


def run(args) -> int:
    from ..batch import model_axes, read_input
    from ..engine.noise_calibration import load_noise_model
    from ..engine.predict_options import PredictOptions
    from ..engine.quality import report
    from ..io import find_inputs
    from .predict import load_for_engine

    if args.output:
        check_writable(Path(args.output), "the report", "report.json")
    if args.save_noise_model:
        check_writable(Path(args.save_noise_model), "the noise model", "noise_model.json")
    given = load_noise_model(args.noise_model) if args.noise_model else None
    model = load_for_engine(args.model, args.device, args.engine)
    if given is not None:
        given.check_channels(model.channels)
    options = PredictOptions(engine=args.engine)
    results, fits = [], []
    for path in find_inputs(args.inputs):
        image = read_input(path, args.axes)
        try:
            found, _ = report(model, image.data, model_axes(model, image), options=options)
            if given is not None:
                given.check_channels(len(found.noise))
        except Noise2SameError as e:
            raise type(e)(f"{path}: {e.message}", path=path, fixes=e.fixes) from None
        entry = {"input": str(path), **found.to_dict(), **_noise_models(found, given)}
        results.append(entry)
        fits.append(found.noise)
        print(_summary(path, found, given))
    if args.save_noise_model and fits:
        _save_fit(Path(args.save_noise_model), fits, [r["input"] for r in results])
    if args.output:
        from ..atomic import atomic_write

        text = json.dumps(results, indent=2).encode("utf-8")
        atomic_write(Path(args.output), lambda f: f.write(text))
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _noise_models(found, given) -> dict:
    """The report's JSON on the noise models: the fit as a model, and the given one explained."""
    from ..engine.noise_calibration import explain, from_fit

    out: dict = {"noise_model_fit": [from_fit(c).to_dict() for c in found.noise]}
    if given is not None:
        channels = [given.channels[min(c, len(given.channels) - 1)] for c in range(len(found.noise))]
        explained = [{**m.to_dict(), **explain(m, c.bins)} for m, c in zip(channels, found.noise, strict=True)]
        out["noise_model_given"] = {"source": given.source, "channels": explained}
    return out


def _save_fit(path: Path, fits: list, inputs: list[str]) -> None:
    """The fitted model of every channel (over all inputs: the median fit, the bins pooled)."""
    from ..engine.noise_calibration import model_from_fit, write_noise_model
    from ..engine.quality import combine_noise

    channels = min(len(f) for f in fits)
    noise = [combine_noise([f[c] for f in fits]) if len(fits) > 1 else fits[0][c] for c in range(channels)]
    verdicts = ", ".join(f"channel {c} {n.fit_verdict}" for c, n in enumerate(noise))
    shown = ", ".join(inputs[:5]) + (f" and {len(inputs) - 5} more" if len(inputs) > 5 else "")
    notes = f"fitted by noise2same report on {shown} ({verdicts})"
    write_noise_model(path, model_from_fit(noise, notes=notes, units="image units"))
    print(f"wrote {path}", file=sys.stderr)


def _model_words(m) -> str:
    return f"variance = {number(m.gain)} x (intensity - {number(m.offset)}) + {number(m.read_noise)}^2"


def _fit_line(noise) -> str:
    from ..engine.noise_calibration import from_fit

    if noise.gain is None and noise.fit_r2 is None:
        return "no fit (too few 16 x 16 blocks to bin by intensity); the one level stands"
    if noise.gain is None:
        return f"no fit (R² {noise.fit_r2:.2f}: the noise does not grow in line with intensity); the one level stands"
    return (
        f"{_model_words(from_fit(noise))} (R² {noise.fit_r2:.3f}, worst bin {noise.fit_worst:.0%}, "
        f"limit {noise.fit_tolerance:.0%}): {noise.fit_verdict}"
    )


def _given_lines(given, noise, c: int, channels: int) -> list[str]:
    from ..engine.noise_calibration import explain

    m = given.channels[min(c, len(given.channels) - 1)]
    e = explain(m, noise.bins)
    name = given.source.removeprefix("calibration: ")
    head = f"  calibration {f'channel {c}: ' if channels > 1 else ''}{name}: {_model_words(m)}"
    if e["worst"] is None:
        return [f"{head}: no intensity bins measured to compare with"]
    ratios = " · ".join(f"{number(i)}: {_ratio(r)}" for i, r in zip(e["intensity"], e["ratio"], strict=True))
    return [
        f"{head}: worst bin {e['worst']:.0%}, limit {e['tolerance']:.0%}: {e['verdict']}",
        f"              measured / model variance by intensity {ratios}",
    ]


def _ratio(r: float | None) -> str:
    return "no noise in the model" if r is None else "> 100" if r > 100 else f"{r:.2f}"


def _summary(path, r, given=None) -> str:
    noise = r.noise[0]
    channels = len(r.noise)
    lines = [f"{path}", f"  noise       std {number(r.noise_sigma)} (image units)"]
    for c, n in enumerate(r.noise):
        lines.append(f"  fit         {f'channel {c}: ' if channels > 1 else ''}{_fit_line(n)}")
        if given is not None:
            lines += _given_lines(given, n, c, channels)
    lines += [
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
