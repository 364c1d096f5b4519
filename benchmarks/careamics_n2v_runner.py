"""Run CAREamics Noise2Void (careamics 0.3.0, default N2V config) on one 2D image.

Peer runner for the side-by-side benchmark. Trains N2V on the noisy image itself
(CAREamics sets aside its own validation patches), predicts the whole image and
saves the prediction in the input's intensity units (CAREamics normalises with
mean/std of the training data and de-normalises predictions itself).

Usage:
    python careamics_n2v_runner.py --input IN.npy --output OUT.npy --epochs N \
        [--max-seconds S] [--work-dir DIR] [--seed 0]

All library output goes to stderr; stdout gets one final line of JSON.
"""

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pytorch_lightning import Callback


class WallClockBudget(Callback):
    """Stop training once `max_seconds` have passed since `start` (checked per step)."""

    def __init__(self, start: float, max_seconds: float) -> None:
        self.start = start
        self.max_seconds = max_seconds
        self.hit = False

    def on_train_batch_end(self, trainer, *args) -> None:
        if time.perf_counter() - self.start >= self.max_seconds:
            self.hit = True
            # same as CAREamist.stop_training(): stop and skip further validation
            trainer.should_stop = True
            trainer.limit_val_batches = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="float32 2D .npy (noisy)")
    parser.add_argument("--output", required=True, help="where to save prediction")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=None)
    parser.add_argument("--work-dir", default=None, help="default: a temp dir, deleted at the end")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--predict", nargs="*", default=[], help="2D .npy images to predict instead of the input")
    parser.add_argument("--predict-dir", help="where <stem>_n2v.npy of each --predict image goes")
    args = parser.parse_args()

    image = np.load(args.input).astype(np.float32)
    if image.ndim not in (2, 3):
        sys.exit(f"expected a 2D (YX) or 3D (SYX) array, got shape {image.shape}")
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="careamics_n2v_")

    # Keep stdout clean for the JSON line: everything printed inside goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        import careamics
        from careamics import CAREamist
        from careamics.config import create_advanced_n2v_config

        # `create_n2v_config` forwards to `create_advanced_n2v_config` with these
        # same arguments and defaults for everything else, but cannot take a seed.
        # CAREamics requires seed > 0, hence the +1 (so --seed 0 -> seed 1).
        config = create_advanced_n2v_config(
            experiment_name="n2v_benchmark",
            data_type="array",
            axes="YX" if image.ndim == 2 else "SYX",
            patch_size=[64, 64],
            batch_size=16,
            num_epochs=args.epochs,
            seed=args.seed + 1,
        )
        t_start = time.perf_counter()
        budget = None
        callbacks = []
        if args.max_seconds is not None:
            budget = WallClockBudget(t_start, args.max_seconds)
            callbacks.append(budget)
        careamist = CAREamist(config, work_dir=work_dir, callbacks=callbacks, enable_progress_bar=False)
        careamist.train(train_data=image)
        train_seconds = time.perf_counter() - t_start
        steps = int(careamist.trainer.global_step)
        epochs_run = int(careamist.trainer.current_epoch)

        # CAREamics predicts N2V from the "last" checkpoint, which is only refreshed
        # every 10 epochs or at a normal end (stale after a time-budget stop), so
        # save the final weights explicitly and predict from them.
        final_ckpt = Path(work_dir) / "final_weights.ckpt"
        careamist.trainer.save_checkpoint(final_ckpt)

        # Default predict: whole image, no tiling (tile_size=None).
        targets = [np.load(f).astype(np.float32) for f in args.predict] or [image]
        t_pred = time.perf_counter()
        outputs = []
        for target in targets:
            predictions, _ = careamist.predict(target, checkpoint=final_ckpt, axes="YX" if target.ndim == 2 else "SYX")
            outputs.append(np.asarray(predictions[0], dtype=np.float32).squeeze())
        predict_seconds = time.perf_counter() - t_pred

    for target, prediction in zip(targets, outputs, strict=True):
        if prediction.shape != target.shape:
            sys.exit(f"prediction shape {prediction.shape} != input {target.shape}")
    if args.predict:
        Path(args.predict_dir).mkdir(parents=True, exist_ok=True)
        for f, prediction in zip(args.predict, outputs, strict=True):
            np.save(Path(args.predict_dir) / f"{Path(f).stem}_n2v.npy", prediction)
    else:
        np.save(args.output, outputs[0])
    if args.work_dir is None:  # our own temp dir: drop checkpoints and CSV logs
        shutil.rmtree(work_dir, ignore_errors=True)

    print(
        json.dumps(
            {
                "train_seconds": round(train_seconds, 3),
                "predict_seconds": round(predict_seconds, 3),
                "steps": steps,
                "epochs": epochs_run,
                "epochs_requested": args.epochs,
                "stopped_by_time_budget": bool(budget and budget.hit),
                "careamics_version": careamics.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
