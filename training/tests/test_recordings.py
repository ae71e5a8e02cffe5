# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""grasp-train reads recordings: bags and videos as data for cv, train, evaluate and inspect."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_classifier_training.cli import main
from grasp_classifier_training.cv import run_cv
from grasp_classifier_training.data import scan_sources, SourceOptions
import numpy as np
import pytest
from toy_data import make_bags, make_images, tiny_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def bags(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_bags(tmp_path_factory.mktemp('bags'), bags=5, episodes=4, frames=3)


def test_recordings_become_samples_of_the_shipped_class_names(bags):
    (ds,) = scan_sources(bags[:1])
    assert ds.class_names == ('grasped', 'notgrasped')
    assert len(ds.samples) == 12 and {s.group for s in ds.samples} == {'robot_b_0'}
    assert [s.class_name for s in ds.samples[:4]] == ['grasped'] * 3 + ['notgrasped']
    assert ds.samples[0].key == 'robot_b_0/000000' and ds.samples[0].image.shape == (40, 40, 3)


def test_recordings_take_the_class_names_of_a_folder_beside_them(bags, tmp_path):
    folder = tmp_path / 'd'
    for cls in ('success', 'failure'):
        (folder / cls).mkdir(parents=True)
    import cv2

    for cls in ('success', 'failure'):
        cv2.imwrite(str(folder / cls / f's_{cls}_1.png'), np.zeros((8, 8, 3), np.uint8))
    folder_ds, bag_ds = scan_sources([folder, bags[0]])
    assert bag_ds.class_names == folder_ds.class_names == ('failure', 'success')
    assert bag_ds.samples[0].class_name == 'success'


def test_cv_never_splits_a_recording_across_folds(bags, tmp_path):
    cfg = tiny_config(max_epochs=1)
    report = run_cv(bags, cfg, tmp_path / 'cv', k=5, progress=False, log=lambda *_: None)
    folds = json.loads((tmp_path / 'cv' / 'folds.json').read_text())
    fold_of_group: dict[str, set[int]] = {}
    for d in folds['images']:
        assert d['file'].startswith(d['group'] + '/')
        fold_of_group.setdefault(d['group'], set()).add(d['fold'])
    assert sorted(fold_of_group) == [f'robot_b_{b}' for b in range(5)]
    assert all(len(f) == 1 for f in fold_of_group.values())
    assert report['n'] == 60 and sorted(report['fold_sizes']) == [12] * 5


def test_evaluate_reads_a_bag_and_applies_the_mount_as_the_node_does(tmp_path, capsys):
    """A bottom-bright model on frames bright on the left: right only when turned 270."""
    import sys

    from grasp_classifier_ros.bag.make_bag import BagSpec, SourceEpisode, SourceFrame, write_bag

    sys.path.insert(0, str(REPO / 'test' / 'support'))
    from model_factory import BottomBrightModel, brightness_metadata, write_model

    model = write_model(tmp_path / 'm.pt', BottomBrightModel(), brightness_metadata(16))
    left = np.full((24, 32, 3), 20, np.uint8)
    left[:, :16] = 230
    right = left[:, ::-1].copy()
    eps = [
        SourceEpisode('held', True, [SourceFrame(rgb=left)] * 4),
        SourceEpisode('failed', False, [SourceFrame(rgb=right)] * 4),
    ]
    bag = write_bag(tmp_path / 'turned', eps, BagSpec(fps=10.0)).path
    params = tmp_path / 'params.yaml'
    accuracy = {}
    for rotation in (0, 270):
        params.write_text(
            f'grasp_classifier:\n  ros__parameters:\n    image_rotation: {rotation}\n'
        )
        out = tmp_path / f'eval{rotation}'
        argv = ['evaluate', str(model), str(bag), '--out', str(out), '--params', str(params)]
        assert main([*argv, '--no-progress']) == 0
        m = json.loads((out / 'metrics.json').read_text())
        assert m['n'] == 8 and m['view']['image_rotation'] == rotation
        accuracy[rotation] = m['accuracy']
        for key in ('per_class_accuracy', 'precision', 'recall', 'f1', 'ece', 'latency_ms_p50'):
            assert key in m
    assert accuracy == {0: 0.5, 270: 1.0}
    assert '--params' in capsys.readouterr().err


def test_an_unlabelled_bag_is_one_error_line(tmp_path, capsys):
    (bag,) = make_bags(tmp_path, bags=1, label_topic='')
    model = REPO / 'models' / 'grasp_classifier.pt'
    assert main(['evaluate', str(model), str(bag), '--out', str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"grasp-train evaluate: error: '{bag}' has no labels")
    assert 'grasp-train label' in err[0]


def test_train_splits_recordings_whole(bags, tmp_path):
    from grasp_classifier_training.train import train

    cfg = tiny_config(max_epochs=1)
    train(bags, cfg, tmp_path / 'run', progress=False)
    split = json.loads((tmp_path / 'run' / 'split.json').read_text())
    where = {}
    for name in ('train', 'val', 'test'):
        for d in split[name]:
            where.setdefault(d['group'], set()).add(name)
    assert len(where) == 5 and all(len(v) == 1 for v in where.values())


def test_inspect_reads_a_bag(bags, tmp_path, capsys):
    assert main(['inspect', str(bags[0]), '--out', str(tmp_path / 'ins')]) == 0
    report = json.loads((tmp_path / 'ins' / 'report.json').read_text())
    assert report['summary']['images'] == 12 and report['summary']['groups'] == 1
    assert report['images'][0]['path'] == 'robot_b_0/000000'
    assert (tmp_path / 'ins' / 'sheet_grasped.png').is_file()


def test_options_for_recordings_are_checked_before_any_work(tmp_path, capsys):
    folder = make_images(tmp_path / 'imgs')
    model = REPO / 'models' / 'grasp_classifier.pt'
    argv = ['evaluate', str(model), str(folder), '--out', str(tmp_path / 'o')]
    assert main([*argv, '--every', '0']) == 2
    assert '--every 0 must be a whole number >= 1' in capsys.readouterr().err
    assert main([*argv, '--labels-time', 'absolute']) == 2
    assert '--labels-time only applies with --labels' in capsys.readouterr().err
    assert main([*argv, '--params', str(tmp_path / 'nope.yaml')]) == 2
    assert "params file '" in capsys.readouterr().err


def test_source_options_default_to_the_node_defaults():
    opts = SourceOptions()
    assert opts.roi == (0.0, 0.0, 1.0, 1.0) and opts.mount.identity
