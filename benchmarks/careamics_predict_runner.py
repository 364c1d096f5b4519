"""Predict a folder of 2D TIFFs with a trained CAREamics N2V checkpoint (careamics 0.3.0).

Peer of ``noise2same predict -m MODEL DIR -o OUT`` for predict_command_vs_careamics.py: one
Python process that imports CAREamics, loads the checkpoint (``CAREamist(checkpoint_path=...)``)
and writes one TIFF per input with ``predict_to_disk`` (whole images unless ``--tile-size``),
as a user's script would.  CAREamics 0.3.0 has no command line of its own.

Usage (in the CAREamics virtual environment):
    python careamics_predict_runner.py --checkpoint CKPT --input-dir DIR --output-dir OUT \
        [--tile-size 256] [--work-dir DIR]

All library output goes to stderr; stdout gets one final line of JSON with the seconds spent
importing, loading and predicting inside the process (the caller times the whole process).
"""

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a Lightning checkpoint written by CAREamics")
    parser.add_argument("--input-dir", required=True, help="folder of 2D (YX) TIFFs")
    parser.add_argument("--output-dir", required=True, help="where the denoised TIFFs go")
    parser.add_argument("--tile-size", type=int, default=None, help="tile side (default: whole images)")
    parser.add_argument("--tile-overlap", type=int, default=48, help="tile overlap (CAREamics' default 48)")
    parser.add_argument("--work-dir", default=None, help="CAREamics' work dir (default: a temp dir, deleted)")
    args = parser.parse_args()
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="careamics_predict_")

    with contextlib.redirect_stdout(sys.stderr):
        import careamics
        import torch
        from careamics import CAREamist

        t_imported = time.perf_counter()
        careamist = CAREamist(checkpoint_path=args.checkpoint, work_dir=work_dir, enable_progress_bar=False)
        t_loaded = time.perf_counter()
        tiles = (
            {}
            if args.tile_size is None
            else {"tile_size": (args.tile_size, args.tile_size), "tile_overlap": (args.tile_overlap, args.tile_overlap)}
        )
        careamist.predict_to_disk(
            pred_data=Path(args.input_dir).resolve(),
            data_type="tiff",
            axes="YX",
            prediction_dir=Path(args.output_dir).resolve(),
            checkpoint=args.checkpoint,
            **tiles,
        )
        t_done = time.perf_counter()

    if args.work_dir is None:
        shutil.rmtree(work_dir, ignore_errors=True)
    written = sorted(p.name for p in Path(args.output_dir).rglob("*.tif*"))
    print(
        json.dumps(
            {
                "import_seconds": round(t_imported - T_START, 3),
                "load_seconds": round(t_loaded - t_imported, 3),
                "predict_seconds": round(t_done - t_loaded, 3),
                "written": written,
                "careamics_version": careamics.__version__,
                "torch_version": torch.__version__,
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
