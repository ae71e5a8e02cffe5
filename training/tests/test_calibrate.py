# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Temperature scaling and threshold selection."""

from __future__ import annotations

from grasp_classifier_training.calibrate import (
    calibrate,
    fit_temperature,
    nll,
    select_threshold,
)
import numpy as np
import pytest
import torch


def _overconfident_toy(n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits whose true temperature is 3: sharpened 3x, labels drawn from the soft version."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(n, 2, generator=gen)
    probs = torch.softmax(base, dim=1)
    labels = torch.multinomial(probs, 1, generator=gen).squeeze(1)
    return base * 3.0, labels


def test_temperature_scaling_reduces_nll_of_overconfident_logits() -> None:
    logits, labels = _overconfident_toy()
    t = fit_temperature(logits, labels)
    assert 2.0 < t < 4.5
    assert nll(logits, labels, t) < nll(logits, labels) - 0.05
    # It is the minimum: nudging the temperature either way does not help.
    assert nll(logits, labels, t) <= nll(logits, labels, t * 1.05) + 1e-9
    assert nll(logits, labels, t) <= nll(logits, labels, t / 1.05) + 1e-9


def test_temperature_of_underconfident_logits_is_below_one() -> None:
    logits = torch.tensor([[4.0, -4.0], [-4.0, 4.0]] * 20) / 10.0
    labels = torch.tensor([0, 1] * 20)
    assert fit_temperature(logits, labels) < 1.0


def test_fit_temperature_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match='need'):
        fit_temperature(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long))


def test_threshold_is_the_lowest_reaching_the_target_precision() -> None:
    #            scores: 0.1  0.2  0.3  0.4  0.6  0.7  0.8  0.9
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1])
    y = np.array([1, 1, 0, 1, 1, 0, 0, 0], dtype=bool)
    # precision at >= 0.9: 1/1, 0.8: 2/2, 0.7: 2/3, 0.6: 3/4, 0.4: 4/5, 0.3: 4/6 ...
    choice = select_threshold(p, y, target_precision=0.75)
    assert choice.threshold == pytest.approx((0.4 + 0.3) / 2)
    assert choice.precision == pytest.approx(0.8)
    assert choice.recall == 1.0
    assert choice.reached
    # Precision is not monotone: 0.6 reaches 0.75 exactly, 0.7 does not, 0.4 is lower still.
    assert select_threshold(p, y, 0.8).threshold == pytest.approx(0.35)
    assert select_threshold(p, y, 0.81).threshold == pytest.approx(0.75)
    strict = select_threshold(p, y, target_precision=1.0)
    assert strict.threshold == pytest.approx((0.8 + 0.7) / 2)
    assert (strict.precision, strict.recall) == (1.0, 0.5)


def test_threshold_falls_back_to_max_precision_when_target_unreachable() -> None:
    p = np.array([0.9, 0.8, 0.5, 0.2])
    y = np.array([0, 1, 1, 0], dtype=bool)
    # precision at >= 0.9: 0/1, 0.8: 1/2, 0.5: 2/3, 0.2: 2/4 -> best is 2/3 at 0.5
    choice = select_threshold(p, y, target_precision=0.95)
    assert not choice.reached
    assert choice.threshold == pytest.approx((0.5 + 0.2) / 2)
    assert choice.precision == pytest.approx(2 / 3)
    assert choice.recall == 1.0


def test_threshold_below_lowest_score_is_half_of_it() -> None:
    choice = select_threshold(np.array([0.6, 0.8]), np.array([1, 1], dtype=bool), 0.95)
    assert choice.threshold == pytest.approx(0.3)
    assert (choice.precision, choice.recall) == (1.0, 1.0)


def test_ties_are_one_candidate() -> None:
    p = np.array([0.7, 0.7, 0.7, 0.2])
    y = np.array([1, 1, 0, 0], dtype=bool)
    choice = select_threshold(p, y, target_precision=0.6)
    assert choice.threshold == pytest.approx(0.45)
    assert choice.precision == pytest.approx(2 / 3)


def test_select_threshold_validates_input() -> None:
    with pytest.raises(ValueError, match='equally many'):
        select_threshold(np.array([0.1]), np.array([1, 0], dtype=bool))
    with pytest.raises(ValueError, match='target_precision'):
        select_threshold(np.array([0.1]), np.array([1], dtype=bool), 0.0)


def test_calibrate_combines_both_on_calibrated_probabilities() -> None:
    logits, labels = _overconfident_toy(seed=3)
    cal = calibrate(logits, labels, success_index=1, target_precision=0.9)
    assert cal.nll_after < cal.nll_before
    probs = torch.softmax(logits.double() / cal.temperature, dim=1)[:, 1].numpy()
    decided = probs >= cal.threshold
    truth = labels.numpy() == 1
    precision = (decided & truth).sum() / decided.sum()
    assert precision == pytest.approx(cal.choice.precision)
    assert cal.n_samples == 400
    assert cal.to_dict()['choice']['target_precision'] == 0.9


def test_separable_validation_keeps_temperature_one() -> None:
    logits = torch.tensor([[2.0, -1.0], [3.0, 0.0], [-1.0, 1.5], [0.0, 2.5]])
    labels = torch.tensor([0, 0, 1, 1])
    cal = calibrate(logits, labels, success_index=0, target_precision=0.95)
    assert cal.separable
    assert cal.temperature == 1.0
    p = torch.softmax(logits.double(), dim=1)[:, 0].numpy()
    # halfway between the best failure score and the worst success score
    assert cal.threshold == pytest.approx((p[2] + p[0]) / 2)
    assert fit_temperature(logits, labels) < 0.5  # what fitting would have done
