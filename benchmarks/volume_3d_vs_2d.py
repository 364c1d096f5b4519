"""A 3D model against a 2D model applied plane by plane, at equal training time.

* synthetic: a 32 x 128 x 128 volume of 3D blobs and filaments (known ground truth) with
  Poisson-Gaussian noise; PSNR and SSIM against the clean volume.
* tirf: ../shared/data/tirf_microtubules/TIRF_200Hz.tif, a real noisy sCMOS time-lapse
  (20 x 256 x 256) without ground truth; the 3D model treats time as depth.  The weak
  reference is the long-exposure frame TIRF_9Hz.tif of the same field: Pearson correlation of
  each method's first frame with it (skipped when the data is absent).

    python benchmarks/volume_3d_vs_2d.py --seconds 120
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from shared_data import DATA


def train_predict(volume, dims, seconds, seed):
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData

    patch = 48 if dims == 3 else 64
    data = TrainingData.from_arrays([volume], "ZYX", dims=dims, patch_size=patch, val_fraction=0.05)
    trainer = Trainer(data, TrainConfig(dims=dims, preset="tiny", patch_size=patch, seed=seed), device="cpu")
    trainer.train(max_seconds=seconds)
    model = trainer.to_model(diagnose=False)
    t0 = time.perf_counter()
    out = model.predict(volume, "ZYX")
    return out, trainer.step, time.perf_counter() - t0, data.patch_size, trainer.batch_size


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=120.0, help="training time per model (default 120)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    from skimage.metrics import structural_similarity

    from napari_noise2same.examples import poisson_gaussian, psnr, synthetic_cells

    clean = synthetic_cells((32, 128, 128), seed=args.seed)
    noisy = poisson_gaussian(clean, photons=10, read_sigma=0.05, seed=args.seed)
    print(f"\nsynthetic volume {clean.shape}, {args.seconds:.0f} s of training each")
    print(f"{'method':<34} {'PSNR dB':>8} {'SSIM':>6} {'steps':>6} {'patch':>12} {'predict s':>9}")
    print(f"{'noisy':<34} {psnr(clean, noisy, 1.0):8.2f} {structural_similarity(clean, noisy, data_range=1.0):6.3f}")
    for dims in (2, 3):
        out, steps, pred_s, patch, batch = train_predict(noisy, dims, args.seconds, args.seed)
        name = f"{dims}D model" + (" (plane by plane)" if dims == 2 else " (whole volume)")
        print(
            f"{name:<34} {psnr(clean, out, 1.0):8.2f} {structural_similarity(clean, out, data_range=1.0):6.3f} "
            f"{steps:6d} {str(batch) + 'x' + 'x'.join(map(str, patch)):>12} {pred_s:9.2f}"
        )

    folder = DATA / "tirf_microtubules"
    if not (folder / "TIRF_200Hz.tif").is_file():
        print("\nskip tirf: ../shared/data/tirf_microtubules not found")
        return
    import tifffile

    movie = tifffile.imread(folder / "TIRF_200Hz.tif").astype(np.float32)
    reference = tifffile.imread(folder / "TIRF_9Hz.tif").astype(np.float32)
    corr = lambda a: float(np.corrcoef(a.ravel(), reference.ravel())[0, 1])  # noqa: E731
    print(f"\nTIRF 200 Hz time-lapse {movie.shape}: correlation of frame 0 with the 9 Hz long exposure")
    print(f"{'noisy frame 0':<34} {corr(movie[0]):8.3f}")
    print(f"{'mean of the 20 noisy frames':<34} {corr(movie.mean(0)):8.3f}")
    for dims in (2, 3):
        out, steps, pred_s, patch, batch = train_predict(movie, dims, args.seconds, args.seed)
        name = "2D model (frame by frame)" if dims == 2 else "3D model (time as depth)"
        print(f"{name:<34} {corr(out[0]):8.3f}   ({steps} steps, batch {batch} of {'x'.join(map(str, patch))})")


if __name__ == "__main__":
    main()
