import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch

from napari_noise2same.engine import load_model, read_metadata
from napari_noise2same.engine.model_file import FORMAT, FORMAT_VERSION
from napari_noise2same.errors import ModelFileError

from .helpers import image, random_model


def test_round_trip_gives_identical_outputs(tmp_path):
    model = random_model(preset="tiny")
    model.summary = {"steps": 12, "invariance_D": 0.01}
    path = tmp_path / "m.n2s"
    model.save(path)
    loaded = load_model(path)
    x = image((48, 52))
    np.testing.assert_array_equal(model.predict(x, "YX"), loaded.predict(x, "YX"))
    meta = read_metadata(path)
    assert meta["unet"]["dims"] == 2 and meta["summary"]["steps"] == 12
    assert not [p for p in tmp_path.iterdir() if p.name != "m.n2s"]  # no temporary left behind


class _Trap:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_a_pickle_inside_is_never_executed(tmp_path):
    trap_target = tmp_path / "pwned"
    payload = pickle.dumps(_Trap(str(trap_target)))
    good = random_model()
    good.save(tmp_path / "good.n2s")
    meta = zipfile.ZipFile(tmp_path / "good.n2s").read("model.json")
    _zip(tmp_path / "trap.n2s", {"model.json": meta, "weights.safetensors": payload})
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "trap.n2s")
    # a torch.save file (a zip holding data.pkl) renamed to .n2s
    buf = io.BytesIO()
    torch.save({"x": _Trap(str(trap_target))}, buf)
    (tmp_path / "torch.n2s").write_bytes(buf.getvalue())
    with pytest.raises(ModelFileError, match="not a Noise2Same model"):
        load_model(tmp_path / "torch.n2s")
    assert not trap_target.exists()


@pytest.mark.parametrize("content", [b"", b"\x00\x01 random bytes" * 100])
def test_garbage_is_refused(tmp_path, content):
    (tmp_path / "bad.n2s").write_bytes(content)
    with pytest.raises(ModelFileError, match="not a readable"):
        load_model(tmp_path / "bad.n2s")


def test_truncated_file_is_refused(tmp_path):
    random_model().save(tmp_path / "m.n2s")
    data = (tmp_path / "m.n2s").read_bytes()
    (tmp_path / "cut.n2s").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "cut.n2s")


def test_newer_format_is_refused_with_upgrade_hint(tmp_path):
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION + 1, "package_version": "9.0"}
    _zip(tmp_path / "new.n2s", {"model.json": json.dumps(meta), "weights.safetensors": b""})
    with pytest.raises(ModelFileError, match="pip install -U"):
        load_model(tmp_path / "new.n2s")
