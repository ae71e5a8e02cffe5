# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""grasp-train extract: recordings as class folders plus groups.csv, read back the same."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from grasp_classifier_ros.bag.recordings import ReadOptions, Sampling
from grasp_classifier_training.cli import main
from grasp_classifier_training.cv import run_cv
from grasp_classifier_training.data import sample_image, sample_key, scan_sources, SourceOptions
from grasp_classifier_training.extract import extract, safe_group
from model_factory import brightness_metadata, write_model
import numpy as np
import pytest
from toy_data import make_bags, make_images, tiny_config


@pytest.fixture(scope='module')
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two days of two bags each, the same names on both days, and a class folder."""
    tmp = tmp_path_factory.mktemp('data')
    bags = [
        *make_bags(tmp / 'monday', bags=2, episodes=2, frames=3, seed=1),
        *make_bags(tmp / 'tuesday', bags=2, episodes=2, frames=3, seed=2),
    ]
    return [*bags, make_images(tmp / 'imgs', groups=2, per_group=3)]


def expected_file(s) -> str:
    """Where extract puts a sample: a recording's frame as <group>_<index>.png."""
    if s.image is None:
        return sample_key(s)
    return f'{s.class_name}/{safe_group(s.group)}_{s.key.rsplit("/", 1)[1]}.png'


def test_extract_writes_every_frame_losslessly_with_the_same_groups(sources, tmp_path, capsys):
    out = tmp_path / 'files'
    argv = ['extract', *map(str, sources), '--out', str(out), '--max-per-episode', '2']
    assert main(argv) == 0
    assert f'wrote 28 images (14 grasped, 14 notgrasped) to {out}' in capsys.readouterr().out
    view = SourceOptions(ReadOptions(sampling=Sampling(max_per_episode=2)))
    before = [s for ds in scan_sources(sources, options=view) for s in ds.samples]
    (after,) = scan_sources([out])
    assert len(after.samples) == len(before) == 28
    got = {sample_key(s): s for s in after.samples}
    for s in before:
        s2 = got[expected_file(s)]
        assert s2.class_name == s.class_name
        assert s2.group == safe_group(s.group)  # what cv, train and evaluate group by
        assert np.array_equal(sample_image(s2), sample_image(s))  # PNG: lossless
    groups = {s.group for s in after.samples}
    assert groups == {
        'monday__robot_b_0',
        'monday__robot_b_1',
        'tuesday__robot_b_0',
        'tuesday__robot_b_1',
        'session00',
        'session01',
        'session10',
        'session11',
    }
    with open(out / 'groups.csv', newline='') as fh:
        rows = list(csv.DictReader(fh))
    assert [r['file'] for r in rows] == [expected_file(s) for s in before]  # source order
    by_file = {r['file']: r for r in rows}
    first = before[0]  # monday/robot_b_0, frame 0: episode 0, stamped
    row = by_file[expected_file(first)]
    assert (row['class'], row['group'], row['episode']) == (
        first.class_name,
        'monday/robot_b_0',
        'monday/robot_b_0#0',
    )
    assert row['stamp'] == '1700000000.000000000'
    # --max-per-episode 2 of 3 frames at 10 fps: frames 0 and 2
    assert by_file[expected_file(before[1])]['stamp'] == '1700000000.200000000'
    assert by_file['grasped/session00_00.jpg'] == {
        'file': 'grasped/session00_00.jpg',
        'class': 'grasped',
        'group': 'session00',
        'episode': '',
        'stamp': '',
    }


def test_the_extracted_folder_feeds_cv_and_evaluate_with_whole_groups(sources, tmp_path):
    out = tmp_path / 'files'
    extract(sources[:4], out, SourceOptions())
    cfg = tiny_config(max_epochs=1)
    report = run_cv([out], cfg, tmp_path / 'cv', k=2, progress=False, log=lambda *_: None)
    assert report['n'] == 24
    folds = json.loads((tmp_path / 'cv' / 'folds.json').read_text())
    fold_of_group: dict[str, set[int]] = {}
    for d in folds['images']:
        fold_of_group.setdefault(d['group'], set()).add(d['fold'])
    assert sorted(fold_of_group) == [
        'monday__robot_b_0',
        'monday__robot_b_1',
        'tuesday__robot_b_0',
        'tuesday__robot_b_1',
    ]
    assert all(len(f) == 1 for f in fold_of_group.values())
    model = write_model(
        tmp_path / 'm.pt', meta=brightness_metadata(class_names=('notgrasped', 'grasped'))
    )
    ev = tmp_path / 'ev'
    assert main(['evaluate', str(model), str(out), '--out', str(ev), '--no-progress']) == 0
    assert json.loads((ev / 'metrics.json').read_text())['n'] == 24


def test_extract_refuses_with_one_line(sources, tmp_path, capsys):
    def error(argv: list[str]) -> str:
        assert main(['extract', *argv]) == 2
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert len(err) == 1 and err[0].startswith('grasp-train extract: error: '), err
        return err[0].removeprefix('grasp-train extract: error: ')

    full = tmp_path / 'full'
    full.mkdir()
    (full / 'notes.txt').write_text('mine')
    assert error([str(sources[0]), '--out', str(full)]) == (
        f"output folder '{full}' is not empty: choose a new one"
    )
    folder = sources[-1]
    assert 'is inside the data folder' in error([str(folder), '--out', str(folder / 'x')])
    assert 'is inside the data folder' in error([str(sources[0]), '--out', str(sources[0] / 'x')])
    (unlabelled,) = make_bags(tmp_path / 'raw', bags=1, label_topic='')
    assert 'has no labels' in error([str(unlabelled), '--out', str(tmp_path / 'o')])
    assert not (tmp_path / 'o').exists()
    assert 'does not exist' in error([str(tmp_path / 'nope'), '--out', str(tmp_path / 'o')])
