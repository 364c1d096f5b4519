#!/usr/bin/env bash
# The GPU checks of docs/performance.md, as one prepared script: under 8 minutes on one GPU.
#
#   1. training throughput of every preset in 2D and 3D, with and without mixed precision,
#      with peak device memory (benchmarks/training_throughput.py);
#   2. prediction throughput, whole image and tiled (benchmarks/prediction_throughput.py);
#   3. PSNR after 2 minutes of training with preset auto on the FMD frame (quality_per_time.py);
#   4. the training widget, end to end, on the CUDA device under Xvfb (widget_on_device.py).
#
# Run from the repository root with a CUDA build of torch, napari-noise2same installed or on
# PYTHONPATH (PYTHONPATH=src works on an image that has torch, numpy, scipy, scikit-image,
# tifffile, safetensors, tqdm and psutil); $PY is the Python to use (default: python, else
# python3).  ../shared/data (or $NOISE2SAME_DATA) is read where it is, step 3 is skipped
# without it, and step 4 without napari or xvfb-run.  Figures and logs go to $OUT (default
# gpu_check_out) and are packed into $OUT/gpu_check.tgz at the end.
#   bash benchmarks/gpu_check.sh
set -u
OUT=${OUT:-gpu_check_out}
PY=${PY:-$(command -v python || command -v python3)}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
log() { echo; echo "=== $(date +%T) $*"; }

log "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/gpu.txt"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())" \
    2>&1 | tee -a "$OUT/gpu.txt"
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || { echo "no CUDA device: stop"; exit 1; }

log "1. training throughput per preset, 2D and 3D, mixed precision on and off (about 2.5 min; 2 min 19 s on an H200)"
timeout 230 "$PY" benchmarks/training_throughput.py --device cuda --seconds 2 --warmup-steps 3 --amp on off \
    --json "$OUT/training_throughput.json" 2>&1 | tee "$OUT/training_throughput.txt"

log "2. prediction throughput, whole and tiled (about 1 min; 27 s on an H200)"
timeout 80 "$PY" benchmarks/prediction_throughput.py --device cuda --skip-volume --tta off --repeats 2 \
    --tile-sizes whole 512 --json "$OUT/prediction_throughput.json" 2>&1 | tee "$OUT/prediction_throughput.txt"

log "3. PSNR after 2 minutes with preset auto on FMD (about 2.5 min; 2 min 3 s on an H200)"
rm -f "$OUT/quality.jsonl"
timeout 170 "$PY" benchmarks/quality_per_time.py run --data fmd --method auto --minutes 2 --device cuda \
    --jsonl "$OUT/quality.jsonl" 2>&1 | tee "$OUT/quality.txt"

log "4. the training widget on the GPU under Xvfb (about 1 min)"
if ! command -v xvfb-run >/dev/null || ! "$PY" -c "import napari, qtpy.QtWidgets" 2>/dev/null; then
    echo "skipped: this machine has no xvfb-run or no napari with a Qt binding" | tee "$OUT/widget.txt"
else
    timeout 120 xvfb-run -a "$PY" benchmarks/widget_on_device.py --device cuda --seconds 30 \
        --screenshot "$OUT/widget_cuda.png" 2>&1 | grep -v Warning | tee "$OUT/widget.txt"
fi

log "done: $OUT"
ls -l "$OUT"
archive=$(mktemp "${TMPDIR:-/tmp}/gpu_check.XXXXXX")  # outside $OUT: tar must not read what it writes
tar czf "$archive" -C "$OUT" --exclude gpu_check.tgz . && mv "$archive" "$OUT/gpu_check.tgz" && echo "packed: $OUT/gpu_check.tgz"
