# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Post-hoc calibration: temperature scaling and the recommended decision threshold.

Both are fitted on the validation split and stored in the model metadata
(``temperature``, ``threshold``); the runtime computes
``softmax(logits / temperature)[success_index] >= threshold``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

# The metadata schema accepts temperatures in this range.
T_MIN, T_MAX = 0.01, 100.0


def nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    """Return the mean negative log-likelihood of ``labels`` under ``logits / temperature``."""
    return float(F.cross_entropy(logits.double() / temperature, labels.long()))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 200) -> float:
    """
    Fit the temperature minimising NLL on ``(N, C)`` logits with LBFGS.

    Optimises ``log T`` so the temperature stays positive; the result is
    clamped to the range the metadata schema accepts.
    """
    if logits.ndim != 2 or logits.shape[0] != labels.shape[0] or logits.shape[0] == 0:
        raise ValueError(
            f'need (N, C) logits and N labels with N > 0, got {tuple(logits.shape)} '
            f'and {tuple(labels.shape)}'
        )
    z = logits.detach().double()
    y = labels.detach().long()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [log_t], lr=0.5, max_iter=max_iter, line_search_fn='strong_wolfe', tolerance_grad=1e-10
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.detach().exp())
    if not np.isfinite(t):
        return 1.0
    return float(min(max(t, T_MIN), T_MAX))


@dataclass(frozen=True)
class ThresholdChoice:
    """A decision threshold on the success probability and what it achieved."""

    threshold: float
    precision: float
    recall: float
    target_precision: float
    reached: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_threshold(
    p_success: np.ndarray, is_success: np.ndarray, target_precision: float = 0.95
) -> ThresholdChoice:
    """
    Choose the lowest threshold whose success precision reaches the target.

    A frame counts as success when ``p >= threshold``. Candidates are the
    distinct scores; if none reaches ``target_precision``, the candidate with
    the highest precision wins (the lowest such one, for recall). The returned
    threshold lies halfway between the chosen score and the next lower one (0
    below the lowest), so ``>`` and ``>=`` classify every fitted sample alike.
    """
    p = np.asarray(p_success, dtype=np.float64).ravel()
    y = np.asarray(is_success, dtype=bool).ravel()
    if p.size == 0 or p.size != y.size:
        raise ValueError(f'need equally many scores and labels (> 0), got {p.size} and {y.size}')
    if not 0.0 < target_precision <= 1.0:
        raise ValueError(f'target_precision={target_precision} must be in (0, 1]')
    positives = int(y.sum())
    cands = np.unique(p)  # ascending
    # True/false positives for 'p >= c', for every candidate c at once.
    order = np.argsort(-p, kind='stable')
    p_desc, y_desc = p[order], y[order]
    tp_cum = np.cumsum(y_desc)
    fp_cum = np.cumsum(~y_desc)
    last = np.searchsorted(-p_desc, -cands, side='right') - 1  # last index with p >= c
    tp = tp_cum[last].astype(np.float64)
    fp = fp_cum[last].astype(np.float64)
    precision = tp / (tp + fp)
    recall = tp / positives if positives else np.zeros_like(tp)
    ok = precision >= target_precision - 1e-12
    if ok.any():
        i = int(np.flatnonzero(ok)[0])
    else:
        i = int(np.flatnonzero(precision == precision.max())[0])
    lower = float(cands[i - 1]) if i > 0 else 0.0
    threshold = (float(cands[i]) + lower) / 2.0
    return ThresholdChoice(
        threshold=threshold,
        precision=float(precision[i]),
        recall=float(recall[i]),
        target_precision=float(target_precision),
        reached=bool(ok.any()),
    )


@dataclass(frozen=True)
class Calibration:
    """
    Fitted temperature and threshold plus the evidence behind them.

    ``separable`` marks a validation set the model classifies without error:
    its NLL keeps falling as the temperature goes to 0, so no temperature is
    fitted and 1.0 is kept.
    """

    temperature: float
    threshold: float
    nll_before: float
    nll_after: float
    choice: ThresholdChoice
    n_samples: int
    separable: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d['choice'] = self.choice.to_dict()
        return d


def calibrate(
    logits: torch.Tensor,
    labels: torch.Tensor,
    success_index: int,
    target_precision: float = 0.95,
) -> Calibration:
    """
    Fit temperature scaling, then pick the threshold on the calibrated probabilities.

    When every sample is classified correctly the NLL has no minimum (it falls
    as the temperature shrinks), so the temperature stays 1.0 instead of
    collapsing towards 0 and pushing all probabilities to 0 or 1.
    """
    separable = bool((logits.argmax(1) == labels).all())
    t = 1.0 if separable else fit_temperature(logits, labels)
    probs = torch.softmax(logits.double() / t, dim=1)[:, success_index].numpy()
    choice = select_threshold(probs, labels.numpy() == success_index, target_precision)
    return Calibration(
        temperature=t,
        threshold=choice.threshold,
        nll_before=nll(logits, labels),
        nll_after=nll(logits, labels, t),
        choice=choice,
        n_samples=int(labels.shape[0]),
        separable=separable,
    )
