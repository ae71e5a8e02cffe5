# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""grasp-train adapt: a new robot's recordings, before and after out of fold, and its refusal."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_classifier_ros.core.metadata import CHECKPOINT_FILE
from grasp_classifier_ros.core.model import load_model, read_extra
from grasp_classifier_training.adapt import binary_scores, bootstrap, data_warnings
from grasp_classifier_training.cli import main
import numpy as np
import pytest
from toy_data import make_bags, make_images, make_start_model, needs_weights

REPO = Path(__file__).resolve().parents[2]
FAST = ['--set', 'adapt.method=probe', '--set', 'adapt.probe_l2=0.01', '--set', 'adapt.views=4']


@pytest.fixture(scope='module')
def start(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp('start')
    return make_start_model(tmp / 'start.pt', make_images(tmp / 'imgs', groups=6, per_group=6))


@pytest.fixture(scope='module')
def new_robot(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Another camera: colours inverted and the held block in a corner, never seen by the start."""
    return make_bags(tmp_path_factory.mktemp('robot'), bags=5, episodes=4, frames=4, corner=True)


def report_of(out: Path) -> dict:
    return json.loads((out / 'report.json').read_text())


@needs_weights
def test_adapt_learns_a_new_camera_and_writes_a_model_that_carries_its_story(
    start, new_robot, tmp_path, capsys
):
    out = tmp_path / 'adapt'
    rc = main(['adapt', *map(str, new_robot), '--out', str(out), '--from', str(start), *FAST])
    assert rc == 0, capsys.readouterr().err
    r = report_of(out)
    assert r['frames'] == 80 and r['recordings'] == 5 and r['episodes'] == 20 and r['folds'] == 5
    # the start model cannot tell the new camera's grasps apart
    assert r['before']['balanced_accuracy'] <= 0.6
    assert r['after']['balanced_accuracy'] > r['before']['balanced_accuracy']
    assert r['after']['accuracy'] >= 0.9 and r['better'] is True
    assert {p['recording'] for p in r['per_recording']} == {f'robot_b_{b}' for b in range(5)}
    lo, hi = r['bootstrap_95']['accuracy_gain']
    assert lo <= hi and hi > 0
    # every recording is held out whole, in exactly one fold
    folds = json.loads((out / 'folds.json').read_text())
    by_group: dict[str, set[int]] = {}
    for d in folds['images']:
        by_group.setdefault(d['group'], set()).add(d['fold'])
    assert all(len(f) == 1 for f in by_group.values()) and len(by_group) == 5
    # the model: the runtime loads it; its metadata tells where it came from
    model = load_model(out / 'model.pt', device='cpu', warmup_runs=0)
    adapted = model.metadata.provenance['adapted']
    assert adapted['from']['sha256'] == r['start_model']['sha256']
    assert model.metadata.threshold == pytest.approx(r['calibration']['threshold'])
    assert read_extra(out / 'model.pt', CHECKPOINT_FILE) is not None  # adaptable again
    # the out-of-depth monitor's reference: the new camera's recordings, 5 sessions
    assert model.familiarity is not None
    assert (model.familiarity.images, model.familiarity.groups) == (80, 5)
    text = (out / 'report.md').read_text()
    assert '**Better out of fold: wrote' in text and 'set_parameters_atomically' in text
    assert r['model']['sha256'] in capsys.readouterr().out


@needs_weights
def test_adapt_refuses_a_model_no_better_than_the_start_unless_forced(start, tmp_path, capsys):
    """On the start model's own camera there is nothing to gain: no model is written."""
    same = make_bags(tmp_path / 'same', bags=4, episodes=2, frames=3)
    out = tmp_path / 'refused'
    argv = ['adapt', *map(str, same), '--from', str(start), *FAST]
    assert main([*argv, '--out', str(out)]) == 3
    err = capsys.readouterr().err
    assert 'not better than the starting model out of fold: no model written' in err
    assert not (out / 'model.pt').exists()
    r = report_of(out)
    assert r['better'] is False and r['model'] is None
    assert r['before']['accuracy'] == 1.0
    assert 'no model written' in (out / 'report.md').read_text()
    forced = tmp_path / 'forced'
    assert main([*argv, '--out', str(forced), '--force']) == 0
    assert 'NOT better out of fold; written because of --force' in capsys.readouterr().out
    assert report_of(forced)['model']['forced'] is True and (forced / 'model.pt').is_file()


@needs_weights
def test_adapt_says_when_the_data_are_too_few(start, tmp_path, capsys):
    two = make_bags(tmp_path / 'two', bags=2, episodes=2, frames=2, corner=True)
    out = tmp_path / 'few'
    main(['adapt', *map(str, two), '--out', str(out), '--from', str(start), '--force', *FAST])
    r = report_of(out)
    assert any('only 2 recordings' in w for w in r['warnings'])
    assert any('only 4 failed-grasp frames' in w for w in r['warnings'])
    assert 'Too little data to trust these figures' in (out / 'report.md').read_text()


@needs_weights
def test_adapt_learning_curve(start, new_robot, tmp_path):
    out = tmp_path / 'curve'
    main(
        [
            'adapt',
            *map(str, new_robot),
            '--out',
            str(out),
            '--from',
            str(start),
            '--force',
            '--learning-curve',
            *FAST,
        ]
    )
    rows = report_of(out)['learning_curve']
    assert [r['recordings'] for r in rows] == [1, 2, 4]
    assert [round(r['episodes_mean']) for r in rows] == [4, 8, 16]
    assert (out / 'learning_curve.png').is_file()


@needs_weights
def test_finetune_trains_the_blocks_the_start_model_trained(start, new_robot, tmp_path):
    """adapt.method finetune moves the trainable blocks and the linear layer, not the stem."""
    from grasp_classifier_training.adapt import Adapter, AdaptSettings, load_start, prepare
    from grasp_classifier_training.data import SourceOptions
    import torch

    begin = load_start(start)
    prep = prepare(new_robot[:2], begin, SourceOptions(), 40, lambda *_: None)
    fit = Adapter(begin, prep.train_imgs, prep.labels, AdaptSettings(epochs=2, views=2)).fit(
        np.arange(len(prep.labels))
    )
    before = dict(begin.model.named_parameters())
    moved = {n for n, p in fit.named_parameters() if not torch.equal(p, before[n])}
    frozen = begin.model.frozen
    assert any(n.startswith(f'blocks.{frozen}') for n in moved)
    assert 'fc.weight' in moved
    assert not any(n.startswith(('conv_stem', 'bn1', 'blocks.0.')) for n in moved)


def test_adapt_one_recording_is_one_error_line(start, tmp_path, capsys):
    (one,) = make_bags(tmp_path, bags=1)
    assert main(['adapt', str(one), '--out', str(tmp_path / 'o'), '--from', str(start)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        'grasp-train adapt: error: adapt needs at least 2 recordings (sessions) for '
        'leave-recordings-out CV; got 1 (robot_b_0): record more grasps as separate bags'
    ]


def test_adapt_from_a_model_without_weights_is_one_error_line(tmp_path, capsys):
    import sys

    sys.path.insert(0, str(REPO / 'test' / 'support'))
    from model_factory import write_model

    bare = write_model(tmp_path / 'bare.pt')
    bags = make_bags(tmp_path / 'b', bags=2)
    assert main(['adapt', *map(str, bags), '--out', str(tmp_path / 'o'), '--from', str(bare)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'carries no trainable weights' in err[0]


def test_a_probe_with_a_prior_stays_near_it_when_the_data_say_little():
    from grasp_classifier_training.linear_probe import fit_logistic
    import torch

    torch.manual_seed(0)
    x = torch.randn(40, 5, dtype=torch.float64)
    y = (x[:, 0] > 0).long()
    prior = torch.nn.Linear(5, 2)
    with torch.no_grad():
        prior.weight.copy_(torch.tensor([[0.0, 0, 0, 0, 1], [0.0, 0, 0, 0, -1]]))
        prior.bias.zero_()
    near = fit_logistic(x, y, 1e6, prior)
    assert torch.allclose(near.weight, prior.weight, atol=1e-3)
    free = fit_logistic(x, y, 1e-3, prior)
    assert float(free.weight[1, 0] - free.weight[0, 0]) > 1.0  # the data's feature wins
    zero = fit_logistic(x, y, 1e6)
    assert float(zero.weight.abs().max()) < 1e-3


def test_the_threshold_never_drops_below_the_starting_models():
    """Easy recordings (every failure far below every success) would pull it near 0."""
    from grasp_classifier_ros.core.metadata import ModelMetadata
    from grasp_classifier_training.adapt import AdaptSettings, choose_adapt_calibration

    meta = ModelMetadata(16, 16, ('grasped', 'notgrasped'), 0, temperature=0.8, threshold=0.7)
    labels = np.array([0] * 10 + [1] * 10)
    margin = np.where(labels == 0, 1.0, -12.0)  # successes barely above 0.5, failures far
    logits = np.stack([margin, np.zeros(20)], 1)
    floored = choose_adapt_calibration(logits, labels, 0, 0.97, AdaptSettings(), meta)
    assert floored.temperature == 0.8 and floored.floor == 0.7
    assert floored.chosen_threshold < 0.7 and floored.threshold == 0.7
    free = choose_adapt_calibration(
        logits, labels, 0, 0.97, AdaptSettings(threshold_floor=False), meta
    )
    assert free.threshold == free.chosen_threshold < 0.7


def test_binary_scores_and_balanced_accuracy():
    success = np.array([True, True, False, False, False])
    called = np.array([True, False, False, False, True])
    s = binary_scores(called, success)
    assert s['accuracy'] == 0.6 and s['success_accuracy'] == 0.5
    assert s['failure_accuracy'] == pytest.approx(2 / 3)
    assert s['balanced_accuracy'] == pytest.approx((0.5 + 2 / 3) / 2)
    assert (s['false_successes'], s['false_failures']) == (1, 1) and s['precision'] == 0.5
    # calling everything a failure is right on failures only
    assert binary_scores(np.zeros(5, bool), success)['balanced_accuracy'] == 0.5


def test_bootstrap_resamples_whole_recordings():
    groups = np.array(['a'] * 4 + ['b'] * 4)
    success = np.array([True, False] * 4)
    before = np.array([True] * 4 + [False] * 4)  # right on a, wrong on b
    after = np.ones(8, bool)
    ci = bootstrap(groups, success, before, after, reps=500)
    # resampling recordings: accuracy before is 0, 0.5 or 1 depending on the draw
    assert ci['accuracy_before'] == [0.0, 1.0]
    assert ci['accuracy_after'] == [1.0, 1.0]
    assert ci['accuracy_gain'] == [0.0, 1.0]


def test_data_warnings():
    assert data_warnings(3, 10, 10) == []
    assert len(data_warnings(2, 9, 30)) == 2
