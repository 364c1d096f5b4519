"""Time-lapses and volumes through the command line, with axes, pixel sizes and time steps kept."""

import numpy as np
import pytest
import tifffile

import napari_noise2same.io.images as images
from napari_noise2same.cli import main
from napari_noise2same.examples import poisson_gaussian, synthetic_cells

TRAIN = ["--steps", "4", "--preset", "tiny", "--batch-size", "2", "--seed", "0"]


@pytest.fixture
def tzyx_file(tmp_path):
    clean = np.stack([synthetic_cells((12, 48, 40), seed=s) for s in range(2)])
    noisy = (poisson_gaussian(clean, photons=30, seed=0) * 1000).astype(np.uint16)
    path = tmp_path / "volume.tif"
    tifffile.imwrite(
        path,
        noisy,
        imagej=True,
        resolution=(1 / 0.1, 1 / 0.1),
        metadata={"axes": "TZYX", "unit": "um", "spacing": 0.5, "finterval": 2.0},
    )
    return path


def _read(path):
    with tifffile.TiffFile(path) as tif:
        ij = tif.imagej_metadata
        return tif.asarray(), tif.series[0].axes, ij, tif.pages[0].tags["XResolution"].value


def test_tzyx_file_trains_a_3d_model_and_keeps_its_metadata(tmp_path, tzyx_file):
    model = tmp_path / "m3.n2s"
    assert main(["train", str(tzyx_file), "-o", str(model), "--dims", "3", "--patch-size", "32", *TRAIN]) == 0
    assert main(["predict", "-m", str(model), str(tzyx_file), "-o", str(tmp_path / "out")]) == 0
    data, axes, ij, (num, den) = _read(tmp_path / "out" / "volume_denoised.tif")
    assert axes == "TZYX" and data.shape == (2, 12, 48, 40) and data.dtype == np.float32
    assert np.isfinite(data).all()
    assert ij["spacing"] == pytest.approx(0.5) and ij["finterval"] == pytest.approx(2.0)
    assert den / num == pytest.approx(0.1, rel=1e-4)


def test_tyx_file_trains_2d_on_frames(tmp_path):
    clean = synthetic_cells((5, 64, 56), seed=3)
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, poisson_gaussian(clean, seed=1), imagej=True, metadata={"axes": "TYX", "finterval": 0.25})
    model = tmp_path / "m2.n2s"
    assert main(["train", str(path), "-o", str(model), "--patch-size", "32", *TRAIN]) == 0
    assert main(["predict", "-m", str(model), str(path), "-o", str(tmp_path)]) == 0
    data, axes, ij, _ = _read(tmp_path / "movie_denoised.tif")
    assert axes == "TYX" and data.shape == clean.shape and ij["finterval"] == pytest.approx(0.25)


def test_lazily_opened_input_streams_to_the_same_output(tmp_path, tzyx_file, monkeypatch):
    model = tmp_path / "m.n2s"
    assert main(["train", str(tzyx_file), "-o", str(model), "--patch-size", "32", *TRAIN]) == 0
    args = ["predict", "-m", str(model), str(tzyx_file), "--tile-size", "32", "--overlap", "16"]
    assert main([*args, "-o", str(tmp_path / "eager")]) == 0
    monkeypatch.setattr(images, "LAZY_MEMORY_FRACTION", 1e-12)  # everything opens lazily now
    assert images.read_image(tzyx_file).data.__class__.__module__.startswith("dask")
    assert main([*args, "-o", str(tmp_path / "lazy")]) == 0
    eager, lazy = _read(tmp_path / "eager" / "volume_denoised.tif"), _read(tmp_path / "lazy" / "volume_denoised.tif")
    np.testing.assert_array_equal(eager[0], lazy[0])
    assert list(tmp_path.glob("lazy/.*")) == []  # no temporary file left behind
