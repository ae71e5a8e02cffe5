# Copyright 2026 The grasp_classifier_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
#
# SPDX-License-Identifier: Apache-2.0
"""
Classification metrics and latency percentiles in plain numpy (no ROS, no torch).

Labels are 1 = success (the positive class), 0 = failure. Definitions follow
torchmetrics' functional metrics, which the tests compare against: ROC AUC is
the trapezoidal area under the exact ROC curve, PR AUC is average precision
(step-wise, not interpolated), and ECE uses equal-width bins where bin ``i``
holds confidences in ``[i/n, (i+1)/n)`` (the last bin includes 1.0). A metric
that is undefined on the given data (no positives, empty input) is NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .stats import percentiles


def _arrays(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.int64).reshape(-1)
    p = np.asarray(y_pred).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f'y_true has {t.size} values but the other input has {p.size}')
    return t, p


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int = 2) -> np.ndarray:
    """Return counts ``[true class, predicted class]``."""
    t, p = _arrays(y_true, y_pred)
    p = p.astype(np.int64)
    out = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(out, (t, p), 1)
    return out


def accuracy(y_true: Any, y_pred: Any) -> float:
    t, p = _arrays(y_true, y_pred)
    return float(np.mean(t == p.astype(np.int64))) if t.size else math.nan


def per_class_accuracy(y_true: Any, y_pred: Any, num_classes: int = 2) -> list[float]:
    """Return, per true class, the fraction predicted correctly (recall of each class)."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    support = cm.sum(axis=1)
    return [float(cm[i, i] / support[i]) if support[i] else math.nan for i in range(num_classes)]


def precision_recall_f1(y_true: Any, y_pred: Any, positive: int = 1) -> dict[str, float]:
    """Return precision, recall and F1 of class ``positive`` (0 when undefined)."""
    t, p = _arrays(y_true, y_pred)
    p = p.astype(np.int64)
    tp = int(np.sum((t == positive) & (p == positive)))
    fp = int(np.sum((t != positive) & (p == positive)))
    fn = int(np.sum((t == positive) & (p != positive)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {'precision': precision, 'recall': recall, 'f1': f1}


def _curve_counts(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative true/false positives at each distinct score, highest score first."""
    t, s = _arrays(y_true, scores)
    s = s.astype(np.float64)
    order = np.argsort(-s, kind='mergesort')
    s, t = s[order], t[order]
    last_of_tie = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    tps = np.cumsum(t == 1)[last_of_tie]
    fps = np.cumsum(t != 1)[last_of_tie]
    return tps.astype(np.float64), fps.astype(np.float64)


def roc_auc(y_true: Any, scores: Any) -> float:
    """Area under the ROC curve of success scores (NaN without both classes)."""
    t, _ = _arrays(y_true, scores)
    pos, neg = int(np.sum(t == 1)), int(np.sum(t != 1))
    if pos == 0 or neg == 0:
        return math.nan
    tps, fps = _curve_counts(y_true, scores)
    tpr = np.r_[0.0, tps / pos]
    fpr = np.r_[0.0, fps / neg]
    return float(np.trapezoid(tpr, fpr))


def average_precision(y_true: Any, scores: Any) -> float:
    """PR AUC as average precision: sum over thresholds of (R_n - R_n-1) * P_n."""
    t, _ = _arrays(y_true, scores)
    pos = int(np.sum(t == 1))
    if pos == 0:
        return math.nan
    tps, fps = _curve_counts(y_true, scores)
    precision = tps / (tps + fps)
    recall = tps / pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def calibration_error(
    y_true: Any, p_success: Any, n_bins: int = 15, mode: str = 'top_label'
) -> float:
    """
    Return the expected calibration error (L1) over ``n_bins`` equal-width bins.

    ``top_label``: confidence max(p, 1 - p) against whether the argmax class
    (success when p > 0.5) is right — torchmetrics' multiclass ECE on [1-p, p].
    ``positive``: the success probability against the success rate — its binary ECE.
    """
    t, p = _arrays(y_true, p_success)
    p = p.astype(np.float64)
    if t.size == 0:
        return math.nan
    if mode == 'top_label':
        pred = (p > 0.5).astype(np.int64)
        conf = np.maximum(p, 1.0 - p)
        hit = (pred == t).astype(np.float64)
    elif mode == 'positive':
        conf, hit = p, (t == 1).astype(np.float64)
    else:
        raise ValueError(f"mode must be 'top_label' or 'positive', got {mode!r}")
    bins = np.clip(np.floor(conf * n_bins).astype(np.int64), 0, n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        sel = bins == b
        total += abs(float(hit[sel].mean()) - float(conf[sel].mean())) * sel.sum() / t.size
    return float(total)


def binary_report(y_true: Any, p_success: Any, threshold: float = 0.5) -> dict[str, Any]:
    """All frame-level metrics for success probabilities thresholded at ``threshold``."""
    t, p = _arrays(y_true, p_success)
    p = p.astype(np.float64)
    pred = (p >= threshold).astype(np.int64)
    cm = confusion_matrix(t, pred)
    pcs = per_class_accuracy(t, pred)
    return {
        'count': int(t.size),
        'threshold': float(threshold),
        'accuracy': accuracy(t, pred),
        'per_class_accuracy': {'failure': pcs[0], 'success': pcs[1]},
        **precision_recall_f1(t, pred),
        'confusion_matrix': {
            'rows_true_cols_pred': ['failure', 'success'],
            'matrix': cm.tolist(),
            'tn': int(cm[0, 0]),
            'fp': int(cm[0, 1]),
            'fn': int(cm[1, 0]),
            'tp': int(cm[1, 1]),
        },
        'roc_auc': roc_auc(t, p),
        'pr_auc': average_precision(t, p),
        'ece': calibration_error(t, p),
    }


def latency_summary(values_ms: Any) -> dict[str, float]:
    """Return count, mean, p50, p95, p99 and max of latencies in milliseconds."""
    arr = np.asarray(values_ms, dtype=np.float64).reshape(-1)
    out: dict[str, float] = {'count': int(arr.size)}
    out['mean'] = float(arr.mean()) if arr.size else math.nan
    out.update(percentiles(arr, (50, 95, 99)))
    out['max'] = float(arr.max()) if arr.size else math.nan
    return out
