import numpy as np

from napari_noise2same.widgets.loss_plot import LossPlot


def _records(n, start=1, val_every=10):
    return [
        {
            "step": s,
            "loss": 1 / s,
            "reconstruction": 0.5,
            "invariance": 0.1 + s,
            "val_loss": 2.0 if s % val_every == 0 else None,
        }
        for s in range(start, start + n)
    ]


def test_growing_history_is_smoothed_incrementally_and_resets_for_a_new_model(qtbot):
    plot = LossPlot(smoothing=0.9)
    qtbot.addWidget(plot)
    history = _records(5)
    plot.set_history(history)
    history += _records(20, start=6)  # the trainer appended more steps
    plot.set_history(history)
    x, y = plot._curves["reconstruction"].getOriginalDataset()
    assert len(x) == 25 and np.allclose(y, 0.5)  # a constant stays constant after bias correction
    x, y = plot._curves["invariance"].getOriginalDataset()
    assert y[-1] < 25.1 and y[-1] > 15  # smoothed, lagging behind the last value
    assert len(plot._val.getOriginalDataset()[0]) == 2
    plot.set_history(_records(3))  # a new model's history
    assert len(plot._curves["loss"].getOriginalDataset()[0]) == 3
    val_x, _ = plot._val.getOriginalDataset()
    assert val_x is None or len(val_x) == 0
