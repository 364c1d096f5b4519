import numpy as np
import pytest

from napari_noise2same.engine.arrays import block_index, read_block, to_input_order
from napari_noise2same.engine.axes import check_axes, make_layout, to_canonical
from napari_noise2same.errors import AxesError


@pytest.mark.parametrize(
    "axes, shape, dims, canonical",
    [
        ("YX", (5, 6), 2, (1, 1, 5, 6)),
        ("XY", (6, 5), 2, (1, 1, 5, 6)),
        ("TYX", (3, 5, 6), 2, (3, 1, 5, 6)),
        ("ZCYX", (4, 2, 5, 6), 2, (4, 2, 5, 6)),
        ("ZCYX", (4, 2, 5, 6), 3, (1, 2, 4, 5, 6)),
        ("YXCT", (5, 6, 2, 3), 2, (3, 2, 5, 6)),
        ("TZCYX", (2, 4, 3, 5, 6), 3, (2, 3, 4, 5, 6)),
    ],
)
def test_canonical_layout_and_block_reads_agree(axes, shape, dims, canonical):
    a = np.random.default_rng(0).random(shape).astype(np.float32)
    layout = make_layout(shape, axes, dims)
    c = to_canonical(a, layout)
    assert c.shape == canonical
    for n in range(canonical[0]):  # sample n of the canonical array is what read_block gives
        block = read_block(a, layout, n)
        np.testing.assert_array_equal(block, c[n])
        np.testing.assert_array_equal(to_input_order(block, layout), a[block_index(layout, n)])


@pytest.mark.parametrize("axes, ndim", [("ZYX", 2), ("YYX", 3), ("QYX", 3), ("ZY", 2), ("", 2)])
def test_bad_axes_are_refused_with_a_fix(axes, ndim):
    with pytest.raises(AxesError) as err:
        check_axes(axes, ndim)
    assert "axes" in str(err.value)


def test_3d_model_needs_z():
    with pytest.raises(AxesError, match="Z axis"):
        make_layout((3, 5, 6), "TYX", 3)
