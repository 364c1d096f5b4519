"""What ``--struct-mask auto`` measures and chooses on white and on correlated noise.

For every dataset of benchmarks/shared_data.py (white noise: FMD's real noise, FMD at 4 photons,
Set12 at sigma 25 and 50, the two volumes; correlated: FMD with its noise blurred along X, by a
3 x 3 box, or with column stripes) and for Set12 at sigma 25 with the same three kinds of
correlation, over ``--seeds`` noise draws: the noise's autocorrelation at lags 1-3 along Y and X
as training measures it (engine/struct_mask.py, on the normalised training planes) and the
footprint it chooses::

    python benchmarks/struct_mask_autocorrelation.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import crops, dataset, set12

WHITE = ("fmd", "fmd-photons4", "set12", "set12-sigma50", "volume", "fmd-volume")
CORRELATED = ("fmd-correlated", "fmd-box3", "fmd-stripes")


def set12_correlated(kind: str, seed: int) -> list[np.ndarray] | None:
    """Set12's 256 px crops with Gaussian noise of sigma 25 made correlated as in shared_data."""
    from scipy.ndimage import uniform_filter

    images = set12(25.0, seed=seed)
    if images is None:
        return None
    rng = np.random.default_rng(seed + 700)
    out = []
    for _, noisy, clean in images:
        noise = (noisy - clean).astype(np.float64)
        if kind == "blur-x":
            noise = 0.5 * noise + 0.25 * (np.roll(noise, 1, axis=1) + np.roll(noise, -1, axis=1))
        elif kind == "box3":
            noise = uniform_filter(noise, 3, mode="wrap") * (np.sqrt(6) / 4 * 3)
        else:
            noise = noise + rng.normal(0, 12.5, noise.shape[1])[None, :]
        out.append((clean + noise).astype(np.float32))
    return crops(out)


def measure(images, axes: str, dims: int) -> tuple[dict, tuple | None]:
    from napari_noise2same.engine import TrainingData
    from napari_noise2same.engine.noise import training_planes
    from napari_noise2same.engine.struct_mask import choose, noise_autocorrelation

    data = TrainingData.from_arrays(images, axes, dims=dims)
    acf = noise_autocorrelation(training_planes(data))
    return acf, choose(acf)[0]


def main() -> None:
    from napari_noise2same.engine.struct_mask import shape_text

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args()
    print("| data | noise | seed | Y lags 1-3 | X lags 1-3 | footprint |")
    print("| --- | --- | --- | --- | --- | --- |")
    for seed in args.seeds:
        rows = []
        for key in (*WHITE, *CORRELATED):
            d = dataset(key, seed=seed)
            if d is None:
                print(f"skipped {key}: needs ../shared/data")
                continue
            rows.append((key, "correlated" if key in CORRELATED else "white", *measure(d.train, d.axes, d.dims)))
        for kind in ("blur-x", "box3", "stripes"):
            images = set12_correlated(kind, seed)
            if images is not None:
                rows.append((f"set12 {kind}", "correlated", *measure(images, "YX", 2)))
        for key, noise, acf, shape in rows:
            y, x = (" ".join(f"{v:+.2f}" for v in acf[a][:3]) for a in ("Y", "X"))
            print(f"| {key} | {noise} | {seed} | {y} | {x} | {shape_text(shape)} |", flush=True)


if __name__ == "__main__":
    main()
