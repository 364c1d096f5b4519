#!/usr/bin/env bash
# The whole test run as one command on a fresh Debian or Ubuntu machine:
#   bash tests/run.sh [pytest options]
# It installs what such a machine lacks (an X server with Mesa OpenGL and the X libraries Qt
# needs, for napari's window; with sudo when not root), makes a virtual environment in .venv
# unless one is active, installs PyTorch (pinned, before anything can pull a CUDA build) and the
# package with its test extras, then checks style (ruff), types (mypy on engine/ and io/) and
# runs pytest (pytest-xvfb starts the X server itself).
set -euo pipefail
cd "$(dirname "$0")/.."

need=(xvfb xauth libgl1-mesa-dri libgl1 libegl1 libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
      libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libdbus-1-3
      libfontconfig1)
if ! command -v Xvfb >/dev/null 2>&1 || ! ldconfig -p | grep -q libxcb-cursor; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ -z "${VIRTUAL_ENV:-}" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    . .venv/bin/activate
fi
python -m pip install -q --upgrade pip
# the CPU build where it is on disk (this project's machines); set TORCH to choose another
python -c "import torch" 2>/dev/null || python -m pip install -q "${TORCH:-torch==2.13.0}"
# the optional extras too, so the bioimage.io export and dask.distributed tests run rather than skip
python -m pip install -q -e ".[testing,bioimageio,distributed]"

ruff check .
ruff format --check .
mypy
python -m pytest "$@"
