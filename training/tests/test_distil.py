# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Distillation: the KD loss, a teacher fitted per fold without its held-out images, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grasp_classifier_training.config import ConfigError, dump, merge
from grasp_classifier_training.cv import run_cv
from grasp_classifier_training.distil import Distiller, kd_loss, UNLABELLED
import numpy as np
import pytest
import torch
from torch.nn import functional as F  # noqa: N812
from toy_data import make_images, needs_weights, tiny_config


def test_kd_loss_mixes_soft_targets_and_labels() -> None:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(6, 2, generator=gen)
    t = torch.softmax(torch.randn(6, 2, generator=gen), 1)
    y = torch.tensor([0, 1, 1, 0, 1, 0])
    soft = -(t * F.log_softmax(z, 1)).sum(1).mean()
    hard = F.cross_entropy(z, y)
    assert torch.allclose(kd_loss(z, t, y, 1.0), soft)
    assert torch.allclose(kd_loss(z, t, y, 0.0), hard)
    assert torch.allclose(kd_loss(z, t, y, 0.7), 0.7 * soft + 0.3 * hard)
    # One-hot targets equal to the labels: both terms are the cross-entropy.
    assert torch.allclose(kd_loss(z, F.one_hot(y, 2).float(), y, 0.4), hard)


def test_kd_loss_takes_labels_only_from_labelled_rows() -> None:
    z = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-3.0, 1.0]])
    t = torch.tensor([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    y = torch.tensor([0, UNLABELLED, UNLABELLED])
    soft = -(t * F.log_softmax(z, 1)).sum(1).mean()
    assert torch.allclose(kd_loss(z, t, y, 0.5), 0.5 * soft + 0.5 * F.cross_entropy(z[:1], y[:1]))
    none = torch.full((3,), UNLABELLED)
    assert torch.allclose(kd_loss(z, t, none, 0.5), 0.5 * soft)


def _configs(tmp_path: Path) -> dict[str, Any]:
    """Return a tiny lite0 student config (3 blocks, 1 frozen) and its probe teacher (2)."""
    teacher = merge(
        tiny_config(method='linear_probe'),
        {
            'model': {'name': 'efficientnet_lite0', 'blocks': 2, 'freeze': -1, 'width': 1.0},
            'augment': {'strength': 0},
            'optim': {'weight_decay': 1.0},  # strong L2: LBFGS converges fast on toy data
        },
    )
    dump(teacher, tmp_path / 'teacher.yaml')
    return merge(
        tiny_config(method='distil', max_epochs=1),
        {
            'model': {'name': 'efficientnet_lite0', 'blocks': 3, 'freeze': 1, 'width': 1.0},
            'distil': {'teacher': str(tmp_path / 'teacher.yaml'), 'views': 3},
        },
    )


@pytest.fixture(scope='module')
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_images(tmp_path_factory.mktemp('distil'), groups=3, per_group=4)


@pytest.fixture(scope='module')
def cv_run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One 3-fold distil CV with refit (student at 24 px), recording every teacher fit."""
    tmp = tmp_path_factory.mktemp('distil_cv')
    seen: list[np.ndarray] = []
    original = Distiller.fit_teacher

    def spy(self: Distiller, index: np.ndarray) -> Any:
        seen.append(np.sort(np.asarray(index)))
        return original(self, index)

    cfg = merge(_configs(tmp), {'model': {'input_size': [24, 24]}})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Distiller, 'fit_teacher', spy)
        report = run_cv([data], cfg, tmp / 'cv', k=3, refit=True, progress=False, log=print)
    return {'report': report, 'seen': seen, 'out': tmp / 'cv'}


@needs_weights
def test_each_folds_teacher_sees_only_that_folds_training_images(cv_run: dict) -> None:
    oof = (cv_run['out'] / 'oof.csv').read_text().splitlines()[1:]
    folds = np.array([int(row.split(',')[2]) for row in oof])
    seen = cv_run['seen']
    assert len(seen) == 4  # three folds, then the refit on everything
    for k in range(3):
        assert seen[k].tolist() == np.flatnonzero(folds != k).tolist()
    assert seen[3].tolist() == list(range(cv_run['report']['n']))


@needs_weights
def test_the_teacher_ignores_held_out_features_and_labels(data: Path, tmp_path: Path) -> None:
    from grasp_classifier_training.cv import distiller
    from grasp_classifier_training.data import load_image, scan_dataset
    from grasp_classifier_training.models import ModelConfig
    from grasp_classifier_training.train import model_metadata

    cfg = _configs(tmp_path)
    ds = scan_dataset(data)
    model_cfg = ModelConfig.from_dict(cfg['model'])
    meta = model_metadata(model_cfg, tuple(ds.class_names))
    images = [load_image(s.path)[:32, :32].copy() for s in ds.samples]
    labels = [s.label for s in ds.samples]
    d = distiller(cfg, model_cfg, meta, tuple(ds.class_names), images, labels, [])
    train = np.arange(0, len(images), 2)
    before = d.fit_teacher(train)
    held = torch.as_tensor(np.arange(1, len(images), 2))
    d.teacher_features[:, held] = torch.randn_like(d.teacher_features[:, held])
    d.labels[held] = 1 - d.labels[held]
    after = d.fit_teacher(train)
    assert torch.equal(before.weight, after.weight) and torch.equal(before.bias, after.bias)
    with pytest.raises(ValueError, match='real images only'):
        d.fit_teacher(np.array([len(images)]))


@needs_weights
def test_distilled_student_exports_with_its_own_input_size_and_calibration(
    cv_run: dict, tmp_path: Path
) -> None:
    from grasp_classifier_ros.core.model import load_model
    from grasp_classifier_training import efficientnet as eff
    from grasp_classifier_training.export import export_checkpoint

    report = cv_run['report']
    ckpt = cv_run['out'] / 'refit' / 'checkpoints' / 'best.pt'
    out = export_checkpoint(ckpt, tmp_path / 'student.pt', optimize='off', log=lambda *_: None)
    loaded = load_model(out.path, device='cpu')
    meta = loaded.metadata
    assert meta.input_size == (24, 24)  # the student's size, not the teacher's 32
    assert meta.mean == eff.MEAN and meta.std == eff.STD
    assert meta.temperature == pytest.approx(report['calibration']['temperature'])
    assert meta.threshold == pytest.approx(report['calibration']['threshold'])
    distillation = meta.provenance['distillation']
    assert distillation['teacher'].endswith('teacher.yaml') and distillation['views'] == 3
    assert loaded.predict(torch.zeros(1, 3, 24, 24)).shape == (1, 2)


@needs_weights
def test_distil_settings_are_checked(data: Path, tmp_path: Path) -> None:
    cfg = _configs(tmp_path)
    with pytest.raises(ConfigError, match='model.freeze >= 1'):
        run_cv([data], merge(cfg, {'model': {'freeze': 0}}), tmp_path / 'a', k=3, progress=False)
    not_probe = merge(tiny_config(), {'model': {'name': 'grasp_net'}})
    dump(not_probe, tmp_path / 'gradient.yaml')
    with pytest.raises(ConfigError, match='must be a linear-probe recipe'):
        run_cv(
            [data],
            merge(cfg, {'distil': {'teacher': str(tmp_path / 'gradient.yaml')}}),
            tmp_path / 'b',
            k=3,
            progress=False,
        )
    with pytest.raises(ConfigError, match='distil.alpha'):
        run_cv([data], merge(cfg, {'distil': {'alpha': 2}}), tmp_path / 'c', k=3, progress=False)


@needs_weights
@pytest.mark.parametrize('mode', ['labels', 'teacher'])
def test_extra_images_learn_their_labels_or_the_teachers_targets(
    data: Path, tmp_path: Path, mode: str
) -> None:
    """``labels``: extra rows are one-hot on their label; ``teacher``: soft and unlabelled."""
    from grasp_classifier_training import distil as distil_mod
    from grasp_classifier_training.cv import distiller
    from grasp_classifier_training.data import load_image, scan_dataset
    from grasp_classifier_training.models import ModelConfig
    from grasp_classifier_training.train import model_metadata

    cfg = merge(_configs(tmp_path), {'distil': {'extra_targets': mode}})
    ds = scan_dataset(data)
    model_cfg = ModelConfig.from_dict(cfg['model'])
    meta = model_metadata(model_cfg, tuple(ds.class_names))
    images = [load_image(s.path)[:32, :32].copy() for s in ds.samples]
    labels = [s.label for s in ds.samples]
    assert labels[0] != labels[-1]  # the two training images: one per class
    extra, extra_labels = images[:6], [1, 0, 1, 1, 0, 1]
    d = distiller(cfg, model_cfg, meta, tuple(ds.class_names), images, labels, extra, extra_labels)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    original = distil_mod.kd_loss

    def spy(z: torch.Tensor, t: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
        seen.append((t.detach().clone(), y.clone()))
        return original(z, t, y, alpha)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(distil_mod, 'kd_loss', spy)
        d.student(
            np.array([0, len(images) - 1]),
            epochs=3,
            lr=1e-3,
            weight_decay=0.0,
            batch=16,
            warmup=0.3,
            seed=0,
        )
    t = torch.cat([s[0] for s in seen])
    y = torch.cat([s[1] for s in seen])
    unlabelled = y == UNLABELLED
    assert len(y) == 16 * 3
    if mode == 'labels':
        assert not unlabelled.any()
        on_label = (t == F.one_hot(y, 2).float()).all(1)
        assert on_label.sum() > 16  # 6 of the 8 rows are extra: their targets are their labels
    else:
        assert unlabelled.sum() > 16  # the extra rows: teacher targets only
        assert torch.allclose(t.sum(1), torch.ones(len(t)))


@needs_weights
def test_unknown_extra_targets_is_a_config_error(data: Path, tmp_path: Path) -> None:
    cfg = merge(_configs(tmp_path), {'distil': {'extra_targets': 'soft'}})
    with pytest.raises(ConfigError, match="distil.extra_targets='soft' must be 'labels'"):
        run_cv([data], cfg, tmp_path / 'x', k=3, progress=False)
