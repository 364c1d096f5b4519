import numpy as np
import pytest
import torch

from napari_noise2same.engine import PredictOptions, TrainConfig, Trainer, TrainingData
from napari_noise2same.examples import psnr

SMALL = {"preset": "tiny", "patch_size": 32, "batch_size": 8, "seed": 0}


def _trainer(noisy, **kw):
    data = TrainingData.from_arrays([noisy], "YX", patch_size=32, val_fraction=0.1)
    return Trainer(data, TrainConfig(**{**SMALL, **kw}), device="cpu")


def test_training_raises_psnr_by_several_db(noisy_pair):
    noisy, clean = noisy_pair
    trainer = _trainer(noisy)
    trainer.train(max_steps=250)
    model = trainer.to_model()
    denoised = model.predict(noisy, "YX")
    before, after = psnr(clean, noisy, 1.0), psnr(clean, denoised, 1.0)
    assert after > before + 4, (before, after)
    s = model.summary
    assert s["steps"] == 250 and s["final_val_loss"] is not None and s["invariance_D"] > 0


def test_events_stop_and_continue(noisy_pair):
    trainer = _trainer(noisy_pair[0], val_every=5)
    events = []

    def on_event(e):
        events.append(e)
        if e.step == 7:
            trainer.request_stop()

    trainer.train(max_steps=100, on_event=on_event)
    assert trainer.step == 7 and [e.step for e in events] == list(range(1, 8))
    e = events[-1]
    assert e.loss == pytest.approx(e.reconstruction + trainer.lambda_inv * e.invariance, rel=1e-5)
    assert e.steps_per_s > 0 and e.eta_s > 0 and e.target_step == 100
    assert events[4].val_loss is not None and events[3].val_loss is None
    weights = [p.detach().clone() for p in trainer.net.parameters()]
    trainer.train(max_steps=3)  # continues from step 7 with the same weights and optimiser
    assert trainer.step == 10 and len(trainer.history) == 10
    assert any(not torch.equal(a, b) for a, b in zip(weights, trainer.net.parameters(), strict=True))


def test_time_budget(noisy_pair):
    trainer = _trainer(noisy_pair[0])
    trainer.train(max_seconds=1.0)
    assert trainer.step >= 1 and trainer.seconds < 5


def test_seed_makes_training_reproducible(noisy_pair):
    a, b = _trainer(noisy_pair[0]), _trainer(noisy_pair[0])
    a.train(max_steps=3)
    b.train(max_steps=3)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]


@pytest.mark.parametrize("kw", [{"method": "blindspot"}, {"replacement": "donut"}, {"forward": "joint"}])
def test_method_options_train(noisy_pair, kw):
    trainer = _trainer(noisy_pair[0], **kw)
    trainer.train(max_steps=3)
    assert np.isfinite([h["loss"] for h in trainer.history]).all()


def test_3d_training_raises_psnr_on_a_volume():
    from napari_noise2same.examples import synthetic_cells

    clean = synthetic_cells((8, 64, 64), seed=4)
    noisy = (clean + np.random.default_rng(5).normal(0, 0.15, clean.shape)).astype(np.float32)
    data = TrainingData.from_arrays([noisy], "ZYX", dims=3, patch_size=32, val_fraction=0)
    assert data.patch_size == (8, 32, 32)  # 16 deep by default, less where Z is small
    trainer = Trainer(data, TrainConfig(dims=3, preset="tiny", batch_size=2, seed=0), device="cpu")
    trainer.train(max_steps=60)
    out = trainer.to_model().predict(noisy, "ZYX", PredictOptions(tile_size=(8, 32, 32), overlap=(4, 16, 16)))
    assert out.shape == noisy.shape
    assert psnr(clean, out, 1.0) > psnr(clean, noisy, 1.0) + 4


def test_a_model_handed_out_does_not_change_when_training_continues(noisy_pair):
    trainer = _trainer(noisy_pair[0])
    trainer.train(max_steps=2)
    model = trainer.to_model(diagnose=False)
    before = model.predict(noisy_pair[0], "YX")
    trainer.train(max_steps=3)
    np.testing.assert_array_equal(model.predict(noisy_pair[0], "YX"), before)
    assert model.summary["steps"] == 2


def _weights(net) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.state_dict().values()]


@pytest.mark.parametrize("keep_best", [True, False])
def test_a_run_ends_with_the_weights_of_its_lowest_validation_loss(noisy_pair, monkeypatch, keep_best):
    """A validation loss that falls, then rises (a run fitting the noise): the run ends with
    the weights of the lowest one, step 4's, unless told to keep the last."""
    trainer = _trainer(noisy_pair[0], val_every=2, keep_best=keep_best)
    losses = iter([0.5, 0.3, 0.4, 0.6, 0.7])  # steps 2, 4, 6, 8, then the last weights' at the end
    monkeypatch.setattr(trainer, "validate", lambda: next(losses))
    at = {}
    trainer.train(max_steps=8, on_event=lambda e: at.__setitem__(e.step, _weights(trainer.net)))
    now = _weights(trainer.net)
    kept = 4 if keep_best else 8
    assert all(torch.equal(a, b) for a, b in zip(now, at[kept], strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(at[4], at[8], strict=True))  # they differ
    if keep_best:
        assert trainer.kept_best == {"step": 4, "val_loss": 0.3, "last_step": 8, "last_val_loss": 0.7}
        assert "step 4" in trainer.kept_note()
        monkeypatch.setattr(trainer, "validate", lambda: 0.3)
        assert trainer.to_model(diagnose=False).summary["kept_best"]["step"] == 4
    else:
        assert trainer.kept_best is None


def test_a_run_whose_last_weights_are_best_keeps_them(noisy_pair, monkeypatch):
    trainer = _trainer(noisy_pair[0], val_every=2, keep_best=True)
    losses = iter([0.5, 0.4, 0.3, 0.2, 0.9])  # steps 2, 4, 6, the last weights' (step 7), step 8
    monkeypatch.setattr(trainer, "validate", lambda: next(losses))
    trainer.train(max_steps=7)
    assert trainer.kept_best is None
    trainer.train(max_steps=1)  # a new run: its best is its last step, whatever the run before had
    assert trainer.kept_best is None


def test_a_last_validation_loss_within_the_margin_of_the_best_keeps_the_last_weights(noisy_pair, monkeypatch):
    """The validation loss scatters: a last one less than 1 % above the best is no sign of
    fitting the noise, and the last weights (trained longest) are kept."""
    from napari_noise2same.engine.best import MARGIN

    trainer = _trainer(noisy_pair[0], val_every=2, keep_best=True)
    best = 0.4
    losses = iter([0.5, best, best * (1 + MARGIN / 2)])  # steps 2, 4, then the last weights' (step 5)
    monkeypatch.setattr(trainer, "validate", lambda: next(losses))
    trainer.train(max_steps=5)
    assert trainer.kept_best is None
    losses = iter([0.5, best, best * (1 + 2 * MARGIN)])  # a new run (steps 6, 8, last 9): clearly worse
    trainer.train(max_steps=4)
    assert trainer.kept_best["step"] == 8
