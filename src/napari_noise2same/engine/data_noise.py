"""What a run knows of its training data's noise, and what it does about it.

Two settings depend on the noise: ``lambda_inv="auto"``, twice the noise std the data show
(engine/noise.py, at most the paper's 2, and the paper's 2 where the noise is correlated, as
its level cannot be estimated then), and ``struct_mask="auto"``, the footprint masked around
each pixel of J where the noise is correlated between pixels (engine/struct_mask.py).  Both are
measured once per training set, before the first step, so that what a user should know (the
warnings) comes before training.
"""

from __future__ import annotations

from .config import AUTO, TrainConfig
from .noise import CORRELATED, correlation, noise_std, training_planes
from .struct_mask import resolve as resolve_struct_mask
from .struct_mask import shape_text


class DataNoise:
    def __init__(self, data, config: TrainConfig):
        self.data = data
        #: the noise std of the normalised data (None until measured) and whether it looks correlated
        self.std: float | None = None
        self.correlated = False
        #: things about the data a user should know, in words
        self.warnings: list[str] = []
        #: the footprint masked around every pixel of J (None: none), and why
        self.struct_mask, self.struct_mask_record = resolve_struct_mask(
            config.struct_mask, config.replacement, lambda: training_planes(data)
        )
        self._setting = (config.struct_mask, config.replacement)
        if config.lambda_inv == AUTO:
            self.estimate()

    def still_fits(self, data, config: TrainConfig) -> bool:
        """Whether these measurements hold for ``data`` and ``config`` (else measure again)."""
        return data is self.data and (config.struct_mask, config.replacement) == self._setting

    def lambda_inv(self, config: TrainConfig) -> float:
        """The invariance weight: the configured one, or for "auto" 2 x the estimated noise std
        (at most 2, the paper's value; 2 where the noise looks correlated)."""
        if config.lambda_inv == AUTO:
            noise = self.std if self.std is not None else self.estimate()
            return 2.0 if self.correlated else min(2.0, 2.0 * noise)
        return float(config.lambda_inv)

    def estimate(self) -> float:
        """The noise std behind lambda_inv "auto", and a warning where the noise is correlated."""
        self.std = noise_std(self.data)
        axes = [a for a, r in correlation(self.data).items() if r > CORRELATED]
        self.correlated = bool(axes)
        if axes:
            against = (
                f"a structured mask of {shape_text(self.struct_mask)} keeps the network from reading it"
                if self.struct_mask
                else "left as it is, correlated noise survives denoising (try --struct-mask)"
            )
            text = (
                f"the noise looks correlated between neighbouring pixels along {' and '.join(axes)} "
                f"(or the image is nearly noise-free): lambda_inv 'auto' keeps the paper's 2, since "
                f"the noise level cannot be estimated; {against}"
            )
            if text not in self.warnings:
                self.warnings.append(text)
        return self.std

    def summary(self) -> dict:
        """What the model file records of it."""
        return {
            "noise_std_estimate": self.std,
            "noise_correlated": self.correlated,
            "struct_mask": self.struct_mask_record,
        }
