# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""grasp-train closes the loop: the node's capture folder is data for adapt, train, evaluate."""

from __future__ import annotations

import json
from pathlib import Path
import sys

from grasp_classifier_training.cli import main
from grasp_classifier_training.data import scan_sources
import numpy as np
import pytest
from toy_data import make_images, make_start_model, needs_weights, tiny_config, toy_frame

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'test' / 'support'))
from capture_factory import write_capture  # noqa: E402

FAST = ['--set', 'adapt.method=probe', '--set', 'adapt.probe_l2=0.01', '--set', 'adapt.views=4']


def capture_of(root: Path, attempts: int, corner: bool) -> Path:
    """Capture ``attempts`` alternating held/failed as a day would: 4 per bag, 4 frames each."""
    rng = np.random.default_rng(1)
    outcomes = [(k % 2 == 0, True) for k in range(attempts)]  # the node always said held
    w = write_capture(
        root,
        outcomes,
        lambda held, i: toy_frame(held, rng, corner=corner),
        frames_before=2,
        frames_after=2,
        max_attempts=4,
    )
    assert w.stats.written == attempts
    return root


@pytest.fixture(scope='module')
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return capture_of(tmp_path_factory.mktemp('capture'), 20, corner=True)


def test_a_capture_folder_is_one_source_of_one_group_per_bag(capture):
    (ds,) = scan_sources([capture])
    assert ds.root == capture and len(ds.samples) == 80
    assert len({s.group for s in ds.samples}) == 5
    held = [s.class_name == 'grasped' for s in ds.samples]
    assert held == [k % 2 == 0 for k in range(20) for _ in range(4)]


def test_train_and_evaluate_read_a_capture_folder(capture, tmp_path, capsys):
    from grasp_classifier_training.train import train

    train([capture], tiny_config(max_epochs=1), tmp_path / 'run', progress=False)
    split = json.loads((tmp_path / 'run' / 'split.json').read_text())
    where: dict[str, set[str]] = {}
    for name in ('train', 'val', 'test'):
        for d in split[name]:
            where.setdefault(d['group'], set()).add(name)
    assert len(where) == 5 and all(len(v) == 1 for v in where.values())  # bags kept whole
    model = REPO / 'models' / 'grasp_classifier.pt'
    out = tmp_path / 'eval'
    assert main(['evaluate', str(model), str(capture), '--out', str(out), '--no-progress']) == 0
    assert json.loads((out / 'metrics.json').read_text())['n'] == 80


@needs_weights
def test_adapt_learns_from_a_capture_folder(capture, tmp_path, capsys):
    start = make_start_model(
        tmp_path / 'start.pt', make_images(tmp_path / 'imgs', groups=6, per_group=6)
    )
    out = tmp_path / 'adapt'
    rc = main(['adapt', str(capture), '--out', str(out), '--from', str(start), *FAST])
    assert rc == 0, capsys.readouterr().err
    r = json.loads((out / 'report.json').read_text())
    assert r['frames'] == 80 and r['recordings'] == 5 and r['episodes'] == 20
    assert r['after']['balanced_accuracy'] > r['before']['balanced_accuracy']
    assert (out / 'model.pt').is_file()


def test_extract_and_inspect_read_every_bag_of_a_capture_folder(capture, tmp_path):
    out = tmp_path / 'ext'
    assert main(['extract', str(capture), '--out', str(out)]) == 0
    rows = (out / 'groups.csv').read_text().splitlines()[1:]
    assert len(rows) == 80 and len({r.split(',')[2] for r in rows}) == 5
    assert main(['inspect', str(capture), '--out', str(tmp_path / 'ins')]) == 0
    summary = json.loads((tmp_path / 'ins' / 'report.json').read_text())['summary']
    assert summary['images'] == 80 and summary['groups'] == 5
