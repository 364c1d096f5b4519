"""How the quality report's checks behave on images with known answers (docs/quality.md).

1. Correlated noise.  The clean images (FMD's 50-frame mean, Set12) with white noise and with
   the same noise blurred ([1, 2, 1] / 4 along X; a Gaussian of 0.5 px): the residual's
   lag-1 autocorrelation against the clean image (an ideal denoiser), with a trained model's
   output where ``--models`` has one for the dataset, and the flag.
2. The residual check.  The share of the image flagged when the "denoiser" is the clean image
   (it removes nothing but noise: false alarms), when it is a trained model, and when a bright
   spot of the noisy image is missing from the output (the spot: detections).
3. D(f) on the image against D(f) on the validation patches stored with the model.

    python benchmarks/quality_checks.py --models /work/results/models --json /tmp/quality_checks.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import fmd_pair, set12


def blur_x(noise):
    return 0.5 * noise + 0.25 * (np.roll(noise, 1, axis=1) + np.roll(noise, -1, axis=1))


def gaussian(noise, sigma=0.5):
    from scipy.ndimage import gaussian_filter

    out = gaussian_filter(noise, sigma)
    return out * (noise.std() / out.std())


def images():
    """(name, noisy, clean, model key) with the images' own noise."""
    out = []
    pair = fmd_pair()
    if pair is not None:
        out.append(("FMD (real noise)", pair[0].astype(np.float64), pair[1].astype(np.float64), "fmd"))
    for name, noisy, clean in (set12(25.0) or [])[:4]:
        out.append((f"Set12 {name} sigma 25", noisy.astype(np.float64), clean.astype(np.float64), "set12"))
    return out


def newest_model(folder: Path | None, key: str):
    if folder is None:
        return None
    found = sorted(folder.glob(f"{key}_tiny*_3min_seed0.n2s")) or sorted(folder.glob(f"{key}_*.n2s"))
    if not found:
        return None
    from napari_noise2same.engine import load_model

    return load_model(found[0])


def main() -> int:
    from napari_noise2same.engine.noise_model import analyse_plane
    from napari_noise2same.engine.quality import report, residual_structure

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=Path, help="a folder of trained .n2s files named <dataset>_...")
    p.add_argument("--json")
    args = p.parse_args()
    found = images()
    if not found:
        print("skip: ../shared/data has neither fmd_confocal_fish nor set12")
        return 0
    records = []
    print("| image | noise | lag-1 autocorrelation Y, X (ideal denoiser) | flagged | with the trained model |")
    print("| --- | --- | --- | --- | --- |")
    for name, noisy, clean, key in found:
        model = newest_model(args.models, key)
        for kind, make in (
            ("white", lambda n: n),
            ("blurred [1,2,1]/4 along X", blur_x),
            ("Gaussian blur 0.5 px", gaussian),
        ):
            x = clean + make(noisy - clean)
            ideal = analyse_plane(x, clean)
            trained = ""
            rec = {"image": name, "noise": kind, "ideal_acf": ideal.autocorrelation, "ideal_flag": ideal.correlated}
            if model is not None and kind == "white":
                r, _ = report(model, x.astype(np.float32), "YX")
                c = r.noise[0]
                trained = (
                    f"{c.autocorrelation['Y'][0]:.2f}, {c.autocorrelation['X'][0]:.2f}; "
                    f"{'flagged' if c.correlated else 'not flagged'}; residual structure "
                    f"{r.residual_structure_fraction:.1%}; D(f) on the image {r.d_f:.2g} ± {r.d_f_se:.1g} "
                    f"(stored: {model.summary.get('invariance_D', float('nan')):.2g})"
                )
                rec.update(
                    model_acf=c.autocorrelation,
                    model_flag=c.correlated,
                    model_structure=r.residual_structure_fraction,
                    model_d_f=r.d_f,
                    model_d_f_se=r.d_f_se,
                    stored_d_f=model.summary.get("invariance_D"),
                )
            acf = ideal.autocorrelation
            print(
                f"| {name} | {kind} | {acf['Y'][0]:.2f}, {acf['X'][0]:.2f} | {'yes' if ideal.correlated else 'no'} "
                f"| {trained} |",
                flush=True,
            )
            records.append(rec)
    print("\n| image | flagged, ideal denoiser | spot removed: flagged inside | outside |")
    print("| --- | --- | --- | --- |")
    yy, xx = None, None
    for name, noisy, clean, _ in found:
        h, w = noisy.shape
        yy, xx = np.mgrid[:h, :w]
        spot = (yy - h // 3) ** 2 + (xx - w // 2) ** 2 < (min(h, w) // 12) ** 2
        noise = analyse_plane(noisy, clean)
        honest = residual_structure(noisy, clean, noise)
        for amplitude in (1.0, 2.0, 4.0):  # the spot's brightness in noise standard deviations
            bright = noisy + amplitude * noise.sigma * spot
            removed = residual_structure(bright, clean, noise)
            records.append(
                {
                    "image": name,
                    "spot_sigmas": amplitude,
                    "false_alarms": float(honest.mean()),
                    "inside": float(removed[spot].mean()),
                    "outside": float(removed[~spot].mean()),
                }
            )
            print(
                f"| {name}, spot of {amplitude:g} noise std | {honest.mean():.2%} | {removed[spot].mean():.0%} | "
                f"{removed[~spot].mean():.2%} |",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
