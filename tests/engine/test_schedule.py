"""Learning-rate schedules over a run, and stopping once the validation loss levels off."""

import math

import pytest

from napari_noise2same.engine.run_budget import RunBudget
from napari_noise2same.engine.schedule import TAIL, Plateau, lr_factor


def test_step_schedule_is_the_official_halving():
    assert lr_factor("step", 0.9, step=4999, halve_every=5000) == 1.0
    assert lr_factor("step", 0.1, step=5000, halve_every=5000) == 0.5
    assert lr_factor("step", 0.1, step=12000, halve_every=5000) == 0.25


def test_tail_is_flat_then_decays_linearly_to_zero():
    assert lr_factor("tail", 0.0) == 1.0
    assert lr_factor("tail", 1 - TAIL) == pytest.approx(1.0)
    assert lr_factor("tail", 1 - TAIL / 2) == pytest.approx(0.5)
    assert lr_factor("tail", 1.0) == 0.0
    assert lr_factor("tail", 1.7) == 0.0  # past the end: stays at 0


def test_cosine_and_constant():
    assert lr_factor("cosine", 0.0) == 1.0
    assert lr_factor("cosine", 0.5) == pytest.approx(0.5)
    assert lr_factor("cosine", 1.0) == pytest.approx(0.0)
    assert lr_factor("constant", 0.99) == 1.0


def test_plateau_waits_for_patience_then_fires():
    p = Plateau(min_patience=3, fraction=0.0, min_delta=0.01)
    falling = [1.0, 0.9, 0.8, 0.7]
    assert not any(p.update(v) for v in falling)
    # tiny improvements (< 1 % relative) do not count
    assert [p.update(v) for v in (0.699, 0.698, 0.697)] == [False, False, True]


def test_plateau_patience_grows_with_a_long_run():
    p = Plateau(min_patience=2, fraction=0.25, min_delta=0.0)
    for i in range(40):
        assert not p.update(1.0 / (i + 1))  # always improving
    assert p.patience == 10
    flat = [p.update(0.001) for _ in range(16)]  # the first of these is still an improvement
    assert flat.index(True) == 14  # once a quarter of all validations brought nothing: 14 of 55


def test_plateau_ignores_nan():
    p = Plateau(min_patience=2, fraction=0.0)
    p.update(1.0)
    assert not p.update(math.nan)
    assert p.update(math.nan)


def test_finishing_early_leaves_only_the_decay():
    run = RunBudget(first_step=100, steps=1000, seconds=None)
    note = run.finish(step=300, elapsed=50.0, schedule="tail")  # 20 % of the run done
    assert run.finishing and "finishing" in note
    # the run is shortened so that 20 % done is where the decay starts
    assert run.target_step == 100 + round(1000 * 0.2 / (1 - TAIL))
    assert run.progress(300, 50.0) == pytest.approx(1 - TAIL, abs=1e-3)


def test_finishing_by_time_and_without_decay():
    run = RunBudget(first_step=0, steps=None, seconds=600.0)
    run.finish(step=50, elapsed=60.0, schedule="tail")
    assert run.seconds == pytest.approx(60.0 / (1 - TAIL))
    flat = RunBudget(first_step=0, steps=None, seconds=600.0)
    assert "stopping" in flat.finish(step=50, elapsed=60.0, schedule="step")
    assert flat.over(50, 60.0)
