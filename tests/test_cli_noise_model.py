"""noise2same report --save-noise-model and --noise-model: the fitted model written, read back
and compared with the image's noise; bad files refused in one line."""

import json

import numpy as np
import pytest
import tifffile

from napari_noise2same.cli import main
from napari_noise2same.engine.noise_calibration import FORMAT, load_noise_model
from tests.engine.helpers import random_model


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """An untrained model and a camera image: gain 2, offset 100, read noise 3 (ADU)."""
    folder = tmp_path_factory.mktemp("noise_model")
    random_model().save(folder / "m.n2s")
    yy, xx = np.mgrid[:128, :128].astype(np.float64)
    photons = 5 + 60 * xx / 127 + 50 * np.exp(-((yy - 60) ** 2 + (xx - 70) ** 2) / (2 * 25.0**2))
    rng = np.random.default_rng(0)
    image = 100 + 2 * rng.poisson(photons) + rng.normal(0, 3, photons.shape)
    tifffile.imwrite(folder / "camera.tif", image.astype(np.float32))
    return folder


ONE = {"gain": 1.0, "offset": 0.0, "read_noise": 1.0}


def _report(folder, *extra):
    return main(["report", "-m", str(folder / "m.n2s"), str(folder / "camera.tif"), *extra])


def test_save_then_give_the_noise_model_round_trips(folder, capsys):
    saved, first, second = folder / "fit.json", folder / "first.json", folder / "second.json"
    assert _report(folder, "--save-noise-model", str(saved), "-o", str(first)) == 0
    printed = capsys.readouterr()
    assert "fit " in printed.out and any(v in printed.out for v in (": good", ": poor", "no fit"))
    assert f"wrote {saved}" in printed.err
    data = json.loads(saved.read_text())
    assert data["format"] == FORMAT and data["version"] == 1 and len(data["channels"]) == 1
    fitted = json.loads(first.read_text())[0]
    assert data["channels"] == fitted["noise_model_fit"]
    assert fitted["noise_per_channel"][0]["fit_verdict"] in ("good", "poor", "no fit")

    assert _report(folder, "--noise-model", str(saved), "-o", str(second)) == 0
    printed = capsys.readouterr().out
    assert "calibration fit.json" in printed and "measured / model variance by intensity" in printed
    given = json.loads(second.read_text())[0]["noise_model_given"]
    assert given["source"] == "calibration: fit.json"
    entry = given["channels"][0]
    assert {k: entry[k] for k in ("gain", "offset", "read_noise")} == data["channels"][0]
    assert entry["verdict"] in ("good", "poor") and len(entry["ratio"]) == len(entry["intensity"]) > 0
    assert load_noise_model(saved, channels=1).channels[0].gain == data["channels"][0]["gain"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "does not exist"),
        ("not json at all", "not JSON"),
        ('{"format": "noise2same-noise-model", "version": 7, "channels": []}', "upgrade"),
        ('{"format": "noise2same-noise-model", "version": 1, "channels": [{"gain": 1, "offset": 0}]}', "no read_noise"),
        ('{"format": "noise2same-noise-model", "version": 1, "channels": [{"gain": -1}]}', "gain is -1"),
        (json.dumps({"format": FORMAT, "version": 1, "channels": [ONE, ONE]}), "2 channels and the image 1"),
    ],
)
def test_a_bad_noise_model_file_is_one_line_on_stderr_and_a_nonzero_exit(folder, capsys, content, words):
    path = folder / "bad.json"
    path.unlink(missing_ok=True)
    if content is not None:
        path.write_text(content)
    assert _report(folder, "--noise-model", str(path)) != 0
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
