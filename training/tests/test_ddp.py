# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train train --accelerator cpu --devices 2 --strategy ddp`` (gloo) matches one process.

Lightning's ``ddp`` re-runs the command in a second process, so the DDP run is a real
``grasp-train`` subprocess; the one-process reference runs in this one. The recipe has
no randomness left to diverge (no augmentation, no dropout) and no trained BatchNorm
(torch's SyncBatchNorm is GPU-only: on CPU each process would normalise its own half).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
import subprocess
import sys

from grasp_classifier_training.checkpoint import load_checkpoint
from grasp_classifier_training.config import merge
from grasp_classifier_training.train import train
import pytest
import torch
from toy_data import make_images, needs_weights, tiny_config
import yaml

RECIPE = {
    'model': {
        'name': 'efficientnet_lite0',
        'blocks': 2,
        'freeze': -1,  # frozen backbone, BatchNorm included: the linear layer trains
        'pretrained': 'random',
        'dropout': 0.0,
    },
    'augment': {'strength': 0},
    'optim': {'lr': 0.05, 'label_smoothing': 0.0},
    'train': {'max_epochs': 3, 'patience': 0},
}


def rows(run: Path) -> list[dict[str, float]]:
    with open(run / 'metrics.csv', newline='') as f:
        return [{k: float(v) for k, v in r.items() if v} for r in csv.DictReader(f)]


@needs_weights
@pytest.mark.timeout(300)
def test_two_process_ddp_matches_one_process(tmp_path: Path) -> None:
    data = make_images(tmp_path / 'data', groups=4, per_group=5)  # 20 train, 10 val, 10 test
    cfg = merge(tiny_config(), RECIPE)
    config = tmp_path / 'recipe.yaml'
    config.write_text(yaml.safe_dump(cfg))
    one = tmp_path / 'one'
    train([data], cfg, one, command='test', progress=False)

    two = tmp_path / 'two'
    argv = ['train', str(data), '--out', str(two), '--config', str(config), '--no-progress']
    argv += ['--accelerator', 'cpu', '--devices', '2', '--strategy', 'ddp']
    env = {**os.environ, 'MASTER_ADDR': '127.0.0.1', 'OMP_NUM_THREADS': '1'}
    done = subprocess.run(
        [sys.executable, '-m', 'grasp_classifier_training.cli', *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.count('best epoch') == 1  # one process reports and writes the run
    assert json.loads((two / 'run.json').read_text())['processes'] == 2

    got, want = rows(two), rows(one)
    assert [r['epoch'] for r in got] == [1, 2, 3]
    for g, w in zip(got, want):
        assert g.keys() == w.keys()
        for key in g:
            assert g[key] == pytest.approx(w[key], abs=1e-4), key
    a = load_checkpoint(two / 'checkpoints' / 'best.pt')['state_dict']
    b = load_checkpoint(one / 'checkpoints' / 'best.pt')['state_dict']
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-4)
    m1 = json.loads((one / 'metrics.json').read_text())
    m2 = json.loads((two / 'metrics.json').read_text())
    assert m2['calibration']['threshold'] == pytest.approx(m1['calibration']['threshold'])


def test_the_global_batch_must_split_over_the_processes() -> None:
    from grasp_classifier_training.config import ConfigError
    from grasp_classifier_training.train import check_global_batch

    check_global_batch(64, 2)
    with pytest.raises(ConfigError, match='global batch .* 3 processes'):
        check_global_batch(64, 3)


@needs_weights
@pytest.mark.timeout(300)
def test_cv_folds_train_with_ddp_spawn_and_match_one_process(tmp_path: Path) -> None:
    from grasp_classifier_training.cv import run_cv

    data = make_images(tmp_path / 'data', groups=4, per_group=5)
    cfg = merge(tiny_config(), RECIPE)
    one = run_cv([data], cfg, tmp_path / 'one', k=2, progress=False, log=lambda *_: None)
    overrides = {'accelerator': 'cpu', 'devices': 2, 'strategy': 'ddp_spawn'}
    two = run_cv(
        [data],
        cfg,
        tmp_path / 'two',
        k=2,
        progress=False,
        log=lambda *_: None,
        trainer_overrides=overrides,
    )
    assert two['pooled']['accuracy'] == one['pooled']['accuracy']
    assert two['calibration']['threshold'] == pytest.approx(one['calibration']['threshold'])
    assert two['pooled']['ece'] == pytest.approx(one['pooled']['ece'], abs=1e-5)


@pytest.mark.parametrize(
    ('argv', 'why'),
    [
        (['cv', 'd', '--out', 'o', '--strategy', 'ddp'], 'use --strategy ddp_spawn'),
        (['cv', 'd', '--out', 'o', '--devices', '2'], 'need --strategy ddp_spawn'),
        (
            ['cv', 'd', '--out', 'o', '--strategy', 'ddp_spawn', '--num-nodes', '2'],
            'grasp-train train for DDP across nodes',
        ),
        (
            ['cv', 'd', '--out', 'o', '--config', 'lite0_distil', '--devices', '2'],
            'train.method=distil trains its student in its own loop',
        ),
        (
            ['cv', 'd', '--out', 'o', '--config', 'lite0_probe', '--accelerator', 'gpu'],
            'train.method=linear_probe fits its linear layer in closed form',
        ),
        (['adapt', 'd', '--out', 'o', '--strategy', 'ddp'], 'adapt trains the starting model'),
    ],
)
def test_flags_that_cannot_apply_are_refused_in_one_line(
    argv: list[str], why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from grasp_classifier_training.cli import main

    assert main(argv) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert (
        len(lines) == 1
        and why in lines[0]
        and lines[0].endswith('drop them')
        or (len(lines) == 1 and why in lines[0])
    ), lines
