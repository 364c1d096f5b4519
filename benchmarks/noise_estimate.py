"""How well the noise estimate behind ``lambda_inv="auto"`` recovers a known noise level.

Clean images (FMD's 50-frame mean and the 12 Set12 images, ../shared/data) get noise of a known
kind; each noisy image goes through the same path as training (``TrainingData``: per-frame
standardisation, then ``engine.noise.noise_std`` and ``engine.noise.correlation``). The true
level is the RMS of (noisy - clean) in the same standardised units. Printed per noise kind:
the estimate over the truth (median and range over the images), the lag-2 / lag-1 ratios
along Y and X, and on how many images the noise was flagged as correlated.

    python benchmarks/noise_estimate.py [--json /tmp/noise_estimate.json]

Kinds: Gaussian (sigma 10, 25, 50 of 255), Poisson (4 and 30 photons for 255), and correlated
noise: the 30-photon Poisson noise blurred along X by [1, 2, 1] / 4, and by Gaussians of 0.5 and
0.7 px in Y and X.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import fmd_pair, set12


def blur_x(noise: np.ndarray) -> np.ndarray:
    return 0.5 * noise + 0.25 * (np.roll(noise, 1, axis=1) + np.roll(noise, -1, axis=1))


def gaussian_blur(sigma: float):
    def blur(noise: np.ndarray) -> np.ndarray:
        from scipy.ndimage import gaussian_filter

        out = gaussian_filter(noise, sigma)
        return out * (noise.std() / out.std())  # keep the level, change only the correlation

    return blur


def poisson(photons: float):
    def add(clean: np.ndarray, rng) -> np.ndarray:
        return rng.poisson(np.clip(clean, 0, None) / 255.0 * photons) * (255.0 / photons)

    return add


def gaussian(sigma: float):
    def add(clean: np.ndarray, rng) -> np.ndarray:
        return clean + rng.normal(0, sigma, clean.shape)

    return add


KINDS = {
    "Gaussian sigma 10": (gaussian(10), None),
    "Gaussian sigma 25": (gaussian(25), None),
    "Gaussian sigma 50": (gaussian(50), None),
    "Poisson 4 photons": (poisson(4), None),
    "Poisson 30 photons": (poisson(30), None),
    "Poisson 30, blurred [1,2,1]/4 along X": (poisson(30), blur_x),
    "Poisson 30, Gaussian blur 0.5 px": (poisson(30), gaussian_blur(0.5)),
    "Poisson 30, Gaussian blur 0.7 px": (poisson(30), gaussian_blur(0.7)),
}


def measure(clean: np.ndarray, add, blur, seed: int) -> dict:
    from napari_noise2same.engine import TrainingData
    from napari_noise2same.engine.noise import CORRELATED, correlation, noise_std

    rng = np.random.default_rng(seed)
    noise = add(clean, rng) - clean
    if blur is not None:
        noise = blur(noise)
    noisy = (clean + noise).astype(np.float32)
    data = TrainingData.from_arrays([noisy], "YX", val_fraction=0)
    truth = float(np.sqrt(np.mean(noise**2)) / noisy.std())
    estimate = noise_std(data)
    ratios = correlation(data)
    return {
        "truth": truth,
        "estimate": estimate,
        "ratio": estimate / truth,
        "lag_Y": ratios["Y"],
        "lag_X": ratios["X"],
        "correlated": max(ratios.values()) > CORRELATED,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", help="write every measurement here")
    args = p.parse_args()
    images = []
    pair = fmd_pair()
    if pair is not None:
        images.append(("FMD", pair[1]))
    images += [(name, clean) for name, _, clean in (set12() or [])]
    if not images:
        print("skip: ../shared/data has neither fmd_confocal_fish nor set12")
        return 0
    print(f"{len(images)} clean images ({', '.join(n for n, _ in images[:3])}, ...)\n")
    print("| noise | estimate / truth, median (range) | FMD alone | lag-2/lag-1 Y, X (median) | flagged correlated |")
    print("| --- | --- | --- | --- | --- |")
    records = []
    for kind, (add, blur) in KINDS.items():
        rows = [
            dict(image=name, kind=kind, **measure(clean, add, blur, seed=i)) for i, (name, clean) in enumerate(images)
        ]
        records += rows
        r = np.array([row["ratio"] for row in rows])
        fmd = next((f"{row['ratio']:.2f}" for row in rows if row["image"] == "FMD"), "")
        print(
            f"| {kind} | {np.median(r):.2f} ({r.min():.2f}-{r.max():.2f}) | {fmd} | "
            f"{np.median([x['lag_Y'] for x in rows]):.2f}, {np.median([x['lag_X'] for x in rows]):.2f} | "
            f"{sum(x['correlated'] for x in rows)} of {len(rows)} |",
            flush=True,
        )
    if pair is not None:  # real noise: FMD's single frame against its 50-frame mean
        from napari_noise2same.engine import TrainingData
        from napari_noise2same.engine.noise import CORRELATED, correlation, noise_std

        noisy, clean = pair
        data = TrainingData.from_arrays([noisy], "YX", val_fraction=0)
        truth = float(np.sqrt(np.mean((noisy - clean) ** 2)) / noisy.std())
        ratios = correlation(data)
        row = {
            "image": "FMD",
            "kind": "real (FMD frame - 50-frame mean)",
            "truth": truth,
            "estimate": noise_std(data),
            "lag_Y": ratios["Y"],
            "lag_X": ratios["X"],
            "correlated": max(ratios.values()) > CORRELATED,
        }
        row["ratio"] = row["estimate"] / truth
        records.append(row)
        print(
            f"| real: FMD's frame against its 50-frame mean | | {row['ratio']:.2f} | {row['lag_Y']:.2f}, "
            f"{row['lag_X']:.2f} | {'yes' if row['correlated'] else 'no'} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
