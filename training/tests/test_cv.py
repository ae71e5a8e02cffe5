# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Cross-validation: group folds, out-of-fold calibration, the cv run folder and refit."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_training.calibrate import fit_temperature, select_threshold
from grasp_classifier_training.checkpoint import load_checkpoint
from grasp_classifier_training.config import merge
from grasp_classifier_training.cv import run_cv, score_oof
from grasp_classifier_training.data import (
    DatasetError,
    Folds,
    group_folds,
    group_of,
    load_split_paths,
    Sample,
    sample_key,
)
import numpy as np
import pytest
import torch
from toy_data import make_images, needs_weights, tiny_config

META = ModelMetadata(
    input_height=32, input_width=32, class_names=('grasped', 'notgrasped'), success_index=0
)


def _samples(sizes: dict[str, tuple[int, int]]) -> list[Sample]:
    """Return samples of groups named by key with (grasped, notgrasped) counts."""
    out = []
    for group, counts in sizes.items():
        for label, n in enumerate(counts):
            cls = META.class_names[label]
            out += [Sample(Path(f'/d/{cls}/{group}_{i}.jpg'), label, cls, group) for i in range(n)]
    return out


def test_folds_never_split_a_group_and_cover_every_image() -> None:
    rng = np.random.default_rng(1)
    sizes = {f's{i}': (int(rng.integers(0, 6)), int(rng.integers(1, 6))) for i in range(23)}
    sizes['video_a'] = (40, 10)
    samples = _samples(sizes)
    folds = group_folds(samples, 4, seed=3)
    assert set(folds.fold_of) == {sample_key(s.path) for s in samples}
    fold_of_group: dict[str, set[int]] = {}
    for s in samples:
        fold_of_group.setdefault(group_of(s.path), set()).add(folds.fold_of[sample_key(s.path)])
    assert all(len(f) == 1 for f in fold_of_group.values())
    assert set().union(*fold_of_group.values()) == {0, 1, 2, 3}
    # The train:K and fold:K subsets partition the images.
    for k in range(4):
        assert folds.subset(f'fold:{k}').isdisjoint(folds.subset(f'train:{k}'))
        assert folds.subset(f'fold:{k}') | folds.subset(f'train:{k}') == set(folds.fold_of)
    assert group_folds(samples, 4, seed=3).fold_of == folds.fold_of


def test_folds_balance_small_groups_around_a_big_one() -> None:
    sizes = {'big': (20, 20), **{f's{i}': (2, 2) for i in range(30)}}
    folds = group_folds(_samples(sizes), 4)
    counts = np.bincount(list(folds.fold_of.values()))
    assert counts.tolist() == [40, 40, 40, 40]


def test_too_few_groups_for_the_folds() -> None:
    with pytest.raises(DatasetError, match='cannot fill 5 folds'):
        group_folds(_samples({'a': (2, 2), 'b': (1, 1)}), 5)


def test_folds_file_round_trips_and_names_files_only(tmp_path: Path) -> None:
    folds = group_folds(_samples({f's{i}': (2, 1) for i in range(6)}), 3)
    path = folds.write(tmp_path / 'folds.json')
    data = json.loads(path.read_text())
    assert all(d['file'].count('/') == 1 for d in data['images'])  # class/file, no paths
    assert Folds.read(path).fold_of == folds.fold_of
    assert load_split_paths(path, 'fold:1') == folds.subset('fold:1')
    with pytest.raises(DatasetError, match='fold:K or train:K'):
        load_split_paths(path, 'test')


def test_a_json_that_is_not_a_split_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / 'metrics.json'
    path.write_text(json.dumps({'accuracy': 0.9, 'model': {}}))
    with pytest.raises(DatasetError, match='is not a split file'):
        load_split_paths(path, 'test')


def _oof_toy(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overconfident 2-class logits (true temperature 3) in 3 folds."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(n, 2, generator=gen)
    labels = torch.multinomial(torch.softmax(base, 1), 1, generator=gen).squeeze(1)
    return (base * 3).numpy(), labels.numpy(), np.arange(n) % 3


def test_temperature_and_threshold_come_from_all_out_of_fold_predictions() -> None:
    logits, labels, folds = _oof_toy()
    report = score_oof(logits, labels, folds, META, 0.9)
    t = fit_temperature(torch.as_tensor(logits), torch.as_tensor(labels))
    assert report['calibration']['temperature'] == pytest.approx(t)
    p = torch.softmax(torch.as_tensor(logits, dtype=torch.float64) / t, 1)[:, 0].numpy()
    choice = select_threshold(p, labels == 0, 0.9)
    assert report['calibration']['threshold'] == pytest.approx(choice.threshold)
    # Every fold is scored at that one temperature and threshold ...
    assert {m['threshold'] for m in report['folds']} == {report['calibration']['threshold']}
    assert report['pooled']['precision'] == pytest.approx(choice.precision)
    # ... and failure accuracy is the non-success images not called success.
    called = p >= choice.threshold
    assert report['pooled']['failure_accuracy'] == pytest.approx(
        float((~called[labels == 1]).mean())
    )
    accs = [m['accuracy'] for m in report['folds']]
    assert report['summary']['accuracy']['mean'] == pytest.approx(np.mean(accs))
    assert report['summary']['accuracy']['sd'] == pytest.approx(np.std(accs))


def test_cross_fitted_calibration_leaves_each_fold_out() -> None:
    logits, labels, folds = _oof_toy()
    report = score_oof(logits, labels, folds, META, 0.9)
    for row in report['cross_fitted']['folds']:
        rest = folds != row['fold']
        t = fit_temperature(torch.as_tensor(logits[rest]), torch.as_tensor(labels[rest]))
        assert row['temperature'] == pytest.approx(t)


@pytest.fixture(scope='module')
def cv_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_images(tmp_path_factory.mktemp('cvdata'), groups=3, per_group=4)


def test_cv_run_folder_and_refit_carry_the_oof_calibration(cv_data: Path, tmp_path: Path) -> None:
    cfg = tiny_config(max_epochs=1)
    report = run_cv([cv_data], cfg, tmp_path, k=3, refit=True, progress=False, log=lambda *_: None)
    for name in ('folds.json', 'oof.csv', 'cv.json', 'reliability.png', 'config.yaml', 'run.json'):
        assert (tmp_path / name).is_file(), name
    assert report['n'] == 24 and sum(report['fold_sizes']) == 24
    ckpt = load_checkpoint(tmp_path / 'refit' / 'checkpoints' / 'best.pt')
    assert ckpt['metadata']['temperature'] == pytest.approx(report['calibration']['temperature'])
    assert ckpt['metadata']['threshold'] == pytest.approx(report['calibration']['threshold'])
    assert 'out-of-fold' in ckpt['provenance']['calibration']['fitted_on']
    # The same folds file reproduces the folds.
    again = run_cv(
        [cv_data],
        cfg,
        tmp_path / 'again',
        folds_file=tmp_path / 'folds.json',
        progress=False,
        log=lambda *_: None,
        fold_models=True,
    )
    assert again['fold_groups'] == report['fold_groups']
    assert again['pooled']['accuracy'] == report['pooled']['accuracy']
    # Each fold model: calibrated without its fold, and says which sessions it never saw.
    saved = sorted(p.name for p in (tmp_path / 'again' / 'fold_models').iterdir())
    assert saved == ['fold0.pt', 'fold1.pt', 'fold2.pt']
    for i, cross in enumerate(again['cross_fitted']['folds']):
        fold_ckpt = load_checkpoint(tmp_path / 'again' / 'fold_models' / f'fold{i}.pt')
        assert fold_ckpt['metadata']['temperature'] == pytest.approx(cross['temperature'])
        assert fold_ckpt['metadata']['threshold'] == pytest.approx(cross['threshold'])
        assert fold_ckpt['provenance']['held_out_groups'] == again['fold_groups'][i]
    assert not (tmp_path / 'fold_models').exists()  # only when asked


@needs_weights
def test_linear_probe_recipe_runs_and_checks_its_settings(cv_data: Path, tmp_path: Path) -> None:
    from grasp_classifier_training.config import ConfigError

    cfg = merge(
        tiny_config(method='linear_probe'),
        {
            'model': {'name': 'efficientnet_lite0', 'blocks': 2, 'freeze': -1, 'width': 1.0},
            'augment': {'strength': 0},
        },
    )
    report = run_cv([cv_data], cfg, tmp_path, k=3, progress=False, log=lambda *_: None)
    assert report['pooled']['roc_auc'] > 0.9  # the toy classes differ by a bright block
    bad = merge(cfg, {'model': {'freeze': 0}})
    with pytest.raises(ConfigError, match='freeze=-1'):
        run_cv([cv_data], bad, tmp_path / 'bad', k=3, progress=False)


def test_precision_is_undefined_when_no_success_is_called() -> None:
    from grasp_classifier_training.cv import fold_metrics

    logits = np.array([[-2.0, 2.0], [-1.0, 1.0], [-3.0, 3.0]])
    m = fold_metrics(logits, np.array([0, 1, 1]), 1.0, 0.9, META)
    assert m['precision'] is None
    assert m['failure_accuracy'] == 1.0
    assert m['accuracy'] == pytest.approx(2 / 3)
