"""Exported bioimage.io packages in the releases people have installed, each in its own environment.

A 2D and a 3D model are trained for a few steps on synthetic data and exported with
``export_bioimageio`` (ONNX weights included); then every consumer environment runs
``napari_noise2same/export/consumer_check.py`` on both packages (without napari-noise2same):
load, ``test_model`` for each weight format, one prediction.  The environments are made once
under ``--venvs`` (pip from the package index: torch 2.13.0 first, then the release); this one
(``sys.executable``) is checked too.  One row per consumer and package::

    python benchmarks/bioimageio_consumers.py --venvs ~/.cache/n2s-consumers --json /tmp/consumers.json

``--old-package`` also exports in the newest format the installed bioimageio.spec writes (what
the export did before it wrote model format 0.5.3), to show which consumers refuse that.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import numpy as np

CHECK = Path(__file__).resolve().parents[1] / "src" / "napari_noise2same" / "export" / "consumer_check.py"
#: name -> what pip installs into its environment (pydantic < 2.14: bioimageio.spec before 0.5.14 needs it)
CONSUMERS = {
    "bioimageio.core 0.10.4 (CAREamics 0.3.0's)": ["bioimageio.core==0.10.4", "pydantic<2.14", "onnxruntime"],
    "bioimageio.core 0.11.0 (newest)": ["bioimageio.core==0.11.0", "pydantic<2.14", "onnxruntime"],
    "bioimageio.spec 0.5.3.6 (format 0.5.3)": ["bioimageio.spec==0.5.3.6", "pydantic<2.14"],
    "bioimageio.spec 0.5.4.4 (format 0.5.4)": ["bioimageio.spec==0.5.4.4", "pydantic<2.14"],
    "bioimageio.spec 0.5.14.3 (newest)": ["bioimageio.spec==0.5.14.3"],
}
NEEDS_TORCH = ("bioimageio.core",)


def environment(root: Path, name: str, requirements: list[str]) -> Path:
    """The Python of ``name``'s environment under ``root``, made (once) with ``requirements``."""
    folder = root / "".join(c if c.isalnum() or c in ".-" else "_" for c in name.split(" (")[0])
    python = folder / "bin" / "python"
    if not python.exists():
        print(f"making {folder} ...", flush=True)
        venv.create(folder, with_pip=True)
        pip = [str(python), "-m", "pip", "install", "-q"]
        if name.startswith(NEEDS_TORCH):
            subprocess.run([*pip, "torch==2.13.0"], check=True)  # the CPU build, before anything pulls CUDA's
        subprocess.run([*pip, *requirements], check=True)
    return python


def packages(folder: Path, old: bool) -> dict[str, Path]:
    """name -> package: a 2D and a 3D model, a few steps each (and, with ``old``, the 2D one in
    the installed bioimageio.spec's newest format)."""
    from napari_noise2same.engine import TrainConfig, Trainer, TrainingData
    from napari_noise2same.examples import noisy_cell, poisson_gaussian, synthetic_cells
    from napari_noise2same.export import export_bioimageio

    out = {}
    noisy2d = noisy_cell()[0]
    noisy3d = poisson_gaussian(synthetic_cells((56, 80, 80)), photons=10.0)
    for name, image, axes, dims in (("2D", noisy2d, "YX", 2), ("3D", noisy3d, "ZYX", 3)):
        data = TrainingData.from_arrays([image], axes, dims=dims, patch_size=32, val_fraction=0.1)
        config = TrainConfig(dims=dims, preset="tiny", patch_size=32, batch_size=2, seed=0)
        trainer = Trainer(data, config, device="cpu")
        trainer.train(max_steps=5)
        model = trainer.to_model(diagnose=False)
        out[name] = export_bioimageio(model, folder / f"model_{name}.zip", sample=image, sample_axes=axes)
        if old and dims == 2:
            out["2D, newest format (before)"] = newest_format(model, folder / "model_2D_newest.zip", image)
    return out


def newest_format(model, path: Path, image: np.ndarray) -> Path:
    """The package as bioimageio.spec writes it by itself (the export before model format 0.5.3)."""
    from napari_noise2same.export import bioimageio as export

    def library_default(spec_module, descr, folder, zipped):
        return spec_module.save_bioimageio_package(descr, output_path=zipped)

    original = export._write_package
    export._write_package = library_default
    try:
        return export.export_bioimageio(model, path, sample=image, sample_axes="YX")
    finally:
        export._write_package = original


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--venvs", type=Path, default=Path.home() / ".cache" / "napari-noise2same" / "bioimageio-consumers")
    p.add_argument("--consumers", nargs="*", help="names of CONSUMERS to check (default all)")
    p.add_argument("--old-package", action="store_true", help="also check the package in the newest format")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    pythons = {"this environment": Path(sys.executable)}
    for name, requirements in CONSUMERS.items():
        if args.consumers is None or any(c in name for c in args.consumers):
            pythons[name] = environment(args.venvs, name, requirements)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for package_name, package in packages(Path(tmp), args.old_package).items():
            for consumer, python in pythons.items():
                done = subprocess.run([str(python), "-I", str(CHECK), str(package)], capture_output=True, text=True)
                lines = done.stdout.strip().splitlines()
                result = json.loads(lines[-1]) if lines else {"error": done.stderr[-2000:]}
                rows.append({"package": package_name, "consumer": consumer, **result})
                print(json.dumps(rows[-1]), flush=True)
    print("\n| package | consumer | read as | test_model per weight format | prediction |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        tests = ", ".join(f"{k} {v}" for k, v in (r.get("test_model") or {}).items()) or "(spec only)"
        read = r.get("error") or f"{r.get('loaded_as')} {r.get('format_version_read', '')} {r.get('status')}"
        shape = r.get("predict_shape")
        pred = f"{shape['input']} -> {shape['output']}" if shape else ""
        print(f"| {r['package']} | {r['consumer']} | {read[:120]} | {tests} | {pred} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
