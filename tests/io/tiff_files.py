"""Small synthetic TIFF files for the io tests, written with tifffile."""

import numpy as np
import tifffile

SHAPE_TZCYX = (3, 4, 2, 16, 20)


def hyperstack(path, unit="micron", labels=("DAPI", "GFP")):
    """ImageJ TZCYX uint16 hyperstack: 0.2 µm pixels, 0.7 µm Z spacing, 2.5 s frames."""
    data = np.random.default_rng(0).integers(0, 4000, SHAPE_TZCYX, dtype=np.uint16)
    meta = {"axes": "TZCYX", "spacing": 0.7, "unit": unit, "finterval": 2.5}
    if labels:
        meta["Labels"] = list(labels) * (SHAPE_TZCYX[0] * SHAPE_TZCYX[1])
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.2, 1 / 0.2), metadata=meta)
    return data


def ome_stack(path, names=("nuclei", "membrane")):
    """OME-TIFF CZYX float32: X/Y 0.1 µm, Z 300 nm, channel names."""
    data = np.random.default_rng(1).random((2, 3, 12, 14)).astype(np.float32)
    meta = {
        "axes": "CZYX",
        "PhysicalSizeX": 0.1,
        "PhysicalSizeY": 0.1,
        "PhysicalSizeZ": 300,
        "PhysicalSizeZUnit": "nm",
    }
    if names:
        meta["Channel"] = {"Name": list(names)}
    tifffile.imwrite(path, data, ome=True, metadata=meta)
    return data


def rgb_picture(path):
    data = np.random.default_rng(2).integers(0, 255, (16, 20, 3), dtype=np.uint8)
    tifffile.imwrite(path, data, photometric="rgb")
    return data


def pyramid(path):
    """Pyramidal OME-TIFF: 64x64 level 0 with two sub-resolution levels in SubIFDs."""
    base = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    meta = {"axes": "YX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5}
    with tifffile.TiffWriter(path) as tw:
        tw.write(base, subifds=2, metadata=meta)
        tw.write(base[::2, ::2], subfiletype=1)
        tw.write(base[::4, ::4], subfiletype=1)
    return base


def multi_series(path):
    """A thumbnail, the real 5-plane stack, and a small label image as three series."""
    stack = np.arange(5 * 32 * 32, dtype=np.uint16).reshape(5, 32, 32)
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.zeros((8, 8), np.uint8))
        tw.write(stack)
        tw.write(np.zeros((16, 16), np.uint8))
    return stack


def random_bytes(path):
    path.write_bytes(np.random.default_rng(3).bytes(5000))


def truncated(path, source):
    """The first half of ``source``, as an interrupted copy leaves it."""
    content = source.read_bytes()
    path.write_bytes(content[: len(content) // 2])
