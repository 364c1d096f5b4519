"""The command line trains and predicts where napari and Qt are not installed."""

import subprocess
import sys
import textwrap

import numpy as np
import tifffile

#: what the "napari" extra brings: none of it may be needed by noise2same train / predict
GUI = (
    "napari",
    "qtpy",
    "magicgui",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "superqt",
    "pyqtgraph",
    "psygnal",
    "pint",
    "npe2",
    "vispy",
    "app_model",
)


def test_train_and_predict_with_napari_and_qt_missing(tmp_path, noisy_pair):
    tifffile.imwrite(tmp_path / "cells.tif", noisy_pair[0])
    script = textwrap.dedent(f"""
        import importlib.abc, sys

        class Missing(importlib.abc.MetaPathFinder):  # as if these were not installed
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {GUI!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}")
                return None

        sys.meta_path.insert(0, Missing())
        from napari_noise2same.cli import main

        assert main(["train", "cells.tif", "-o", "m.n2s", "--steps", "3", "--patch-size", "32", "--batch-size", "2",
                     "--no-onnx"]) == 0
        assert main(["predict", "-m", "m.n2s", "cells.tif", "-o", "out"]) == 0
        assert main(["info", "m.n2s"]) == 0
        print("GUI modules:", sorted(m for m in sys.modules if m.split(".")[0] in {GUI!r}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "GUI modules: []" in done.stdout
    out = tifffile.imread(tmp_path / "out" / "cells_denoised.tif")
    assert out.shape == noisy_pair[0].shape and np.isfinite(out).all()
