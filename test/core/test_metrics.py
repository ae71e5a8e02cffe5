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
"""metrics.py against torchmetrics' functional metrics and hand-computed values."""

from __future__ import annotations

import math

from grasp_classifier_ros.core import metrics
import numpy as np
import pytest
import torch
from torchmetrics.functional import classification as tmc

SEEDS = range(8)
# torchmetrics computes in float32
TOL = 1e-6


def _data(seed: int, n: int = 200, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + 0.65 * rng.random(n), 0.001, 0.999)
    if ties:
        p = np.round(p, 1)  # many exact ties, none at 0.5 (argmax ties differ by convention)
        p[p == 0.5] = 0.6
    return y, p


@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('ties', [False, True])
def test_threshold_metrics_match_torchmetrics(seed: int, ties: bool) -> None:
    y, p = _data(seed, ties=ties)
    yt, pt = torch.from_numpy(y), torch.from_numpy(p)
    pred = (p >= 0.5).astype(int)
    assert metrics.accuracy(y, pred) == pytest.approx(float(tmc.binary_accuracy(pt, yt)))
    prf = metrics.precision_recall_f1(y, pred)
    assert prf['precision'] == pytest.approx(float(tmc.binary_precision(pt, yt)))
    assert prf['recall'] == pytest.approx(float(tmc.binary_recall(pt, yt)))
    assert prf['f1'] == pytest.approx(float(tmc.binary_f1_score(pt, yt)))
    cm = metrics.confusion_matrix(y, pred)
    assert cm.tolist() == tmc.binary_confusion_matrix(pt, yt).tolist()
    per_class = tmc.multiclass_accuracy(
        torch.from_numpy(pred), yt, num_classes=2, average='none'
    ).tolist()
    assert metrics.per_class_accuracy(y, pred) == pytest.approx(per_class)


@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('ties', [False, True])
def test_ranking_and_calibration_match_torchmetrics(seed: int, ties: bool) -> None:
    y, p = _data(seed, ties=ties)
    yt, pt = torch.from_numpy(y), torch.from_numpy(p)
    assert metrics.roc_auc(y, p) == pytest.approx(float(tmc.binary_auroc(pt, yt)), abs=TOL)
    assert metrics.average_precision(y, p) == pytest.approx(
        float(tmc.binary_average_precision(pt, yt)), abs=TOL
    )
    two = torch.stack([1 - pt, pt], dim=1)
    assert metrics.calibration_error(y, p, 15, 'top_label') == pytest.approx(
        float(tmc.multiclass_calibration_error(two, yt, num_classes=2, n_bins=15)), abs=TOL
    )
    assert metrics.calibration_error(y, p, 10, 'positive') == pytest.approx(
        float(tmc.binary_calibration_error(pt, yt, n_bins=10)), abs=TOL
    )


def test_hand_computed_values() -> None:
    y = [1, 1, 0, 0]
    p = [0.9, 0.4, 0.6, 0.1]
    assert metrics.roc_auc(y, p) == 0.75  # 3 of 4 positive/negative pairs ordered
    # ranks: 0.9 (+) P=1 R=.5; 0.6 (-); 0.4 (+) P=2/3 R=1 -> AP = .5*1 + .5*2/3
    assert metrics.average_precision(y, p) == pytest.approx(0.5 + 1 / 3)
    rep = metrics.binary_report(y, p, threshold=0.5)
    assert rep['confusion_matrix']['matrix'] == [[1, 1], [1, 1]]
    assert rep['accuracy'] == 0.5
    assert rep['per_class_accuracy'] == {'failure': 0.5, 'success': 0.5}
    # top-label confidences .9 .6 .6 .9, all four in different correctness: bins 9 and 13
    assert metrics.calibration_error(y, p, n_bins=15) == pytest.approx(
        0.5 * abs(1.0 - 0.9) + 0.5 * abs(0.0 - 0.6)
    )


def test_undefined_metrics_are_nan_and_zero() -> None:
    assert math.isnan(metrics.roc_auc([1, 1], [0.2, 0.8]))
    assert math.isnan(metrics.average_precision([0, 0], [0.2, 0.8]))
    assert math.isnan(metrics.accuracy([], []))
    assert metrics.precision_recall_f1([0, 0], [0, 0]) == {
        'precision': 0.0,
        'recall': 0.0,
        'f1': 0.0,
    }
    with pytest.raises(ValueError, match='3 values'):
        metrics.accuracy([0, 1, 1], [0, 1])


def test_latency_summary() -> None:
    s = metrics.latency_summary(list(range(1, 101)))
    assert s['count'] == 100
    assert s['p50'] == pytest.approx(50.5)
    assert s['p99'] == pytest.approx(99.01)
    assert s['max'] == 100.0
    empty = metrics.latency_summary([])
    assert empty['count'] == 0 and math.isnan(empty['p95'])
