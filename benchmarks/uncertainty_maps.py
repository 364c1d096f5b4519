"""Which uncertainty map tells where the denoised image is wrong? Measured against ground truth.

For each (trained model, noisy image, clean image), candidates for "how wrong may each
denoised pixel be, in the image's units" are compared with the real error |denoised - clean|
over 8 x 8 windows (window means):

* ``tta``       - the spread (std) of the network's outputs over the 8 rotations and flips;
* ``renoise``   - re-noising: K fresh noise draws from the input's own noise model (noise
                  level as a function of intensity, engine/noise_model.py) are added to the
                  denoised image and denoised again; the RMS change is the map (the
                  denoiser's own error where the truth is near the denoised image);
* ``combined``  - sqrt(tta^2 + renoise^2);
* ``renoise+bias`` - sqrt(renoise^2 + bias^2), bias the local mean of the residual (noisy -
                  denoised) over 8 x 8 beyond what the noise alone gives (structure removed);
* ``noise``     - the noise std expected at the denoised intensity (brightness only: the
                  baseline that a useful map has to beat given intensity).

Figures per candidate: Spearman correlation with |error|; the partial Spearman correlation
given the denoised intensity (what the map says beyond brightness); calibration, the mean
map over the mean |error| (1 is calibrated).  Targets (issue 13): partial >= 0.4,
calibration within 1.5x.

    python benchmarks/uncertainty_maps.py --model fmd=/path/fmd.n2s --model set12=/path/s.n2s \\
        --json /tmp/uncertainty.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import machine_facts
from shared_data import WINDOW, dataset, partial_spearman, spearman, windows


def local_bias(residual: np.ndarray, sd: np.ndarray, size: int = WINDOW) -> np.ndarray:
    """|local mean of the residual| beyond what the noise alone gives over ``size`` x ``size``."""
    from scipy.ndimage import uniform_filter

    mean = uniform_filter(residual, size)
    return np.sqrt(np.maximum(mean**2 - sd**2 / size**2, 0.0))


def candidates(model, noisy: np.ndarray, draws: int, seed: int) -> tuple[np.ndarray, dict]:
    """The shipped maps (engine/uncertainty.py) and the two baselines, for one 2D image."""
    from napari_noise2same.engine.predict_options import PredictOptions
    from napari_noise2same.engine.uncertainty import noise_std_map, renoise_spread, tta_spread

    plain = PredictOptions(engine="torch")
    denoised = model.predict(noisy, "YX", plain).astype(np.float64)
    sd = noise_std_map(noisy, denoised, "YX")
    renoise = renoise_spread(model, noisy, "YX", denoised, plain, draws, seed).astype(np.float64)
    tta = tta_spread(model, noisy, "YX", plain).astype(np.float64)
    bias = local_bias(noisy - denoised, sd)
    maps = {
        "tta": tta,
        "renoise": renoise,
        "combined": np.hypot(tta, renoise),  # what engine.uncertainty.uncertainty returns
        "renoise+bias": np.hypot(renoise, bias),
        "noise": sd,
    }
    return denoised, maps


def evaluate(name: str, model_path: str, draws: int, seed: int, images: int | None = None) -> list[dict]:
    from napari_noise2same.engine.model import load_model

    data = dataset(name)
    if data is None:
        print(f"skip {name}: its files are not under ../shared/data")
        return []
    model = load_model(model_path)
    rows = []
    for i, (noisy, clean) in enumerate(zip(data.test[:images], data.clean[:images], strict=True)):
        t0 = time.perf_counter()
        denoised, maps = candidates(model, np.asarray(noisy, np.float32), draws, seed + i)
        err = windows(np.abs(denoised - clean))
        level = windows(denoised)
        for cand, u in maps.items():
            uw = windows(u)
            rows.append(
                {
                    "data": name,
                    "image": i,
                    "model": Path(model_path).name,
                    "candidate": cand,
                    "spearman": round(spearman(uw, err), 3),
                    "partial_given_intensity": round(partial_spearman(uw, err, level), 3),
                    "calibration": round(float(u.mean() / np.abs(denoised - clean).mean()), 3),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True, metavar="DATA=MODEL.n2s")
    p.add_argument("--draws", type=int, default=8, help="noise draws for renoise (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--images", type=int, help="only the first N test images of each dataset")
    p.add_argument("--json")
    args = p.parse_args()
    rows = []
    for item in args.model:
        name, path = item.split("=", 1)
        got = evaluate(name, path, args.draws, args.seed, args.images)
        rows += got
        for r in got:
            print(json.dumps(r), flush=True)
    print("\n| data | candidate | Spearman | partial given intensity | mean map / mean abs error |")
    print("| --- | --- | --- | --- | --- |")
    for name in dict.fromkeys(r["data"] for r in rows):
        for cand in ("tta", "renoise", "combined", "renoise+bias", "noise"):
            got = [r for r in rows if r["data"] == name and r["candidate"] == cand]
            if not got:
                continue

            def spread(key, got=got):
                v = [r[key] for r in got]
                return f"{np.mean(v):.2f}" + (f" ({min(v):.2f} to {max(v):.2f})" if len(v) > 1 else "")

            print(
                f"| {name} | {cand} | {spread('spearman')} | {spread('partial_given_intensity')} "
                f"| {spread('calibration')} |"
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine_facts(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
