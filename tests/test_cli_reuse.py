"""Reusing a model: folders, zarr and OME-Zarr in and out, a dask cluster, fine-tuning, info."""

import json

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

from napari_noise2same.cli import main
from napari_noise2same.engine import TrainConfig, Trainer, TrainingData, load_model
from napari_noise2same.engine.chunked import denoise_dask
from napari_noise2same.io import read_image
from napari_noise2same.io.zarr_images import write_zarr
from tests.engine.helpers import random_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.n2s"
    random_model().save(path)
    return path


@pytest.fixture
def stack(noisy_pair):
    noisy, _ = noisy_pair
    return np.stack([noisy, noisy[::-1], noisy.T]) * 100 + 50  # TYX, 3 x 128 x 128


def test_folder_gives_one_output_per_input_with_metadata(tmp_path, model_file, noisy_pair, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        tifffile.imwrite(
            folder / f"cell{i}.tif",
            noisy_pair[0] + i,
            imagej=True,
            resolution=(1 / 0.3, 1 / 0.3),
            metadata={"axes": "YX", "unit": "um"},
        )
    assert main(["predict", "-m", str(model_file), str(folder), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "denoised 3 of 3 image(s)" in err
    for i in range(3):
        result = read_image(tmp_path / "out" / f"cell{i}_denoised.tif")
        assert result.data.shape == (128, 128) and result.pixel_size["X"] == pytest.approx(0.3, rel=1e-4)
        assert result.unit == "µm" and f"cell{i}.tif -> " in err


def test_ome_zarr_in_ome_zarr_out(tmp_path, model_file, stack):
    source = tmp_path / "movie.ome.zarr"
    write_zarr(
        source, stack.astype(np.uint16), "TYX", {"Y": 0.2, "X": 0.2}, "µm", time_interval=1.5, chunks=(1, 64, 64)
    )
    image = read_image(source)
    assert image.axes == "TYX" and image.ome and image.pixel_size == {"Y": 0.2, "X": 0.2}
    assert image.time_interval == pytest.approx(1.5)
    out = tmp_path / "out"
    assert main(["predict", "-m", str(model_file), str(source), "-o", str(out), "--chunk-size", "64"]) == 0
    result = read_image(out / "movie_denoised.ome.zarr")
    assert result.axes == "TYX" and result.pixel_size == {"Y": 0.2, "X": 0.2} and result.unit == "µm"
    assert result.time_interval == pytest.approx(1.5)
    expected = random_model().predict(stack.astype(np.uint16), "TYX")  # the whole image in one piece
    np.testing.assert_allclose(np.asarray(result.data), expected, atol=1e-3 * expected.std())


def test_plain_zarr_array_stays_plain_and_tiff_goes_to_zarr(tmp_path, model_file, stack):
    plain = tmp_path / "raw.zarr"
    z = zarr.open_array(str(plain), mode="w", shape=stack.shape, chunks=(1, 128, 128), dtype=np.float32)
    z[:] = stack
    assert main(["predict", "-m", str(model_file), str(plain), "--axes", "TYX", "-o", str(tmp_path / "o")]) == 0
    out = zarr.open(str(tmp_path / "o" / "raw_denoised.zarr"), mode="r")
    assert isinstance(out, zarr.Array) and out.shape == stack.shape and out.dtype == np.float32
    tiff = tmp_path / "t.tif"
    tifffile.imwrite(tiff, stack, imagej=True, metadata={"axes": "TYX"})
    assert main(["predict", "-m", str(model_file), str(tiff), "-o", str(tmp_path / "t_out.zarr")]) == 0
    np.testing.assert_allclose(np.asarray(read_image(tmp_path / "t_out.zarr").data), out[:], atol=1e-4)


def test_chunks_are_seamless(stack):
    """Overlapping chunks give the whole-image result, for chunks of several sizes."""
    model = random_model()
    whole = model.predict(stack[:1], "TYX")
    for side in (64, 96):
        chunked = denoise_dask(model, da.from_array(stack[:1]), "TYX", chunk_size=side).compute(scheduler="sync")
        np.testing.assert_allclose(chunked, whole, atol=1e-4 * whole.std())


def test_local_cluster_matches_local_run(tmp_path, model_file, stack, monkeypatch):
    distributed = pytest.importorskip("distributed", reason="needs dask.distributed (the [distributed] extra)")
    source = tmp_path / "s.ome.zarr"
    write_zarr(source, stack, "TYX", chunks=(1, 64, 64))
    tiff = tmp_path / "s.tif"
    tifffile.imwrite(tiff, stack, imagej=True, metadata={"axes": "TYX"})
    monkeypatch.setattr("napari_noise2same.io.images.lazy_threshold_bytes", lambda: 0)  # open the TIFF lazily
    assert (
        main(["predict", "-m", str(model_file), str(source), "-o", str(tmp_path / "local.zarr"), "--chunk-size", "64"])
        == 0
    )
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for name, image in (("cluster.zarr", source), ("cluster_tiff.zarr", tiff)):
            code = main(
                [
                    "predict",
                    "-m",
                    str(model_file),
                    str(image),
                    "-o",
                    str(tmp_path / name),
                    "--chunk-size",
                    "64",
                    "--scheduler",
                    cluster.scheduler_address,
                ]
            )
            assert code == 0
    local = np.asarray(read_image(tmp_path / "local.zarr").data)
    for name in ("cluster.zarr", "cluster_tiff.zarr"):
        assert np.abs(local - np.asarray(read_image(tmp_path / name).data)).max() <= 1e-3


def test_unreachable_scheduler_is_one_line(tmp_path, model_file, stack, capsys):
    pytest.importorskip("distributed")
    tiff = tmp_path / "t.tif"
    tifffile.imwrite(tiff, stack[0])
    code = main(
        ["predict", "-m", str(model_file), str(tiff), "-o", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot reach the dask scheduler" in err[0]


def test_one_zarr_output_for_several_inputs_is_refused(tmp_path, model_file, noisy_pair, capsys):
    for name in ("a.tif", "b.tif"):
        tifffile.imwrite(tmp_path / name, noisy_pair[0])
    assert main(["predict", "-m", str(model_file), str(tmp_path / "*.tif"), "-o", str(tmp_path / "x.zarr")]) == 2
    assert "give an output folder" in capsys.readouterr().err


def test_fine_tuning_continues_from_the_loaded_weights(noisy_pair):
    noisy, _ = noisy_pair
    data = TrainingData.from_arrays([noisy], "YX", patch_size=32)
    config = TrainConfig(preset="tiny", patch_size=32, batch_size=8, seed=0, val_fraction=0)
    first = Trainer(data, config, device="cpu")
    first.train(max_steps=80)
    trained = first.to_model(diagnose=False)
    before = {k: v.clone() for k, v in trained.net.state_dict().items()}
    ended = np.mean([h["loss"] for h in first.history[-10:]])
    fresh = Trainer(data, config, device="cpu")
    fresh.train(max_steps=10)
    resumed = Trainer(data, config, device="cpu", model=trained)
    resumed.train(max_steps=10)
    start_resumed = np.mean([h["loss"] for h in resumed.history])
    start_fresh = np.mean([h["loss"] for h in fresh.history])
    assert abs(start_resumed - ended) < 0.25 * ended < start_fresh - ended
    model = resumed.to_model(diagnose=False)
    assert model.summary["total_steps"] == 90 and model.summary["resumed_from"]["steps"] == 80
    # the model fine-tuning started from is left as it was
    assert all(bool((before[k] == v).all()) for k, v in trained.net.state_dict().items())


def test_resume_on_the_command_line(tmp_path, noisy_pair, capsys):
    noisy, _ = noisy_pair
    tiff = tmp_path / "n.tif"
    tifffile.imwrite(tiff, noisy)
    base = ["--patch-size", "32", "--batch-size", "4", "--seed", "0"]
    assert (
        main(
            [
                "train",
                str(tiff),
                "-o",
                str(tmp_path / "a.n2s"),
                "--steps",
                "5",
                "--preset",
                "tiny",
                "--lambda-inv",
                "1.5",
                *base,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                str(tiff),
                "-o",
                str(tmp_path / "b.n2s"),
                "--steps",
                "3",
                "--resume",
                str(tmp_path / "a.n2s"),
                *base,
            ]
        )
        == 0
    )
    b = load_model(tmp_path / "b.n2s")
    assert b.train_config.preset == "tiny" and b.train_config.lambda_inv == 1.5  # kept from the resumed model
    assert b.summary["total_steps"] == 8
    capsys.readouterr()
    assert main(["info", str(tmp_path / "b.n2s")]) == 0
    assert "fine-tuned from a model of 5 steps (8 in all)" in capsys.readouterr().out
    code = main(
        [
            "train",
            str(tiff),
            "-o",
            str(tmp_path / "c.n2s"),
            "--steps",
            "1",
            "--resume",
            str(tmp_path / "a.n2s"),
            "--preset",
            "fast",
        ]
    )
    assert code == 2 and "drop --preset" in capsys.readouterr().err


def test_info_lists_what_the_model_is(tmp_path, model_file, capsys):
    assert main(["info", str(model_file)]) == 0
    out = capsys.readouterr().out
    for field in ("2D U-Net", "1 channel", "preset tiny", "axes YX", "method", "written by  napari-noise2same"):
        assert field in out
    assert main(["info", str(model_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unet"]["dims"] == 2
