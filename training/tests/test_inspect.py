# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``grasp-train inspect``: planted duplicates, leakage, outliers and unreadable files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import shutil

import cv2
from grasp_classifier_training.config import load_config
from grasp_classifier_training.data import group_split, scan_dataset
from grasp_classifier_training.inspect_data import inspect, register, run
import numpy as np
import pytest

SIZE = 48


def noise(rng: np.random.Generator, lo: int = 60, hi: int = 256) -> np.ndarray:
    return rng.integers(lo, hi, (SIZE, SIZE, 3), dtype=np.uint8)


@pytest.fixture
def planted(tmp_path: Path) -> dict[str, str]:
    """Write 2 classes x 5 groups x 3 noise frames, then plant one case of each finding."""
    root = tmp_path / 'data'
    rng = np.random.default_rng(7)
    for cls, prefix in (('grasped', 'g'), ('notgrasped', 'h')):
        (root / cls).mkdir(parents=True)
        for g in range(5):
            for i in range(3):
                cv2.imwrite(str(root / cls / f'{prefix}{g}_{i}.png'), noise(rng))
    # Exact duplicate inside one group (no leakage).
    shutil.copyfile(root / 'grasped/g0_0.png', root / 'grasped/g0_3.png')
    # Near duplicate (brighter copy, different bytes) in a group of another split.
    ds = scan_dataset(root)
    split_of = {
        s.path.name: name
        for name, subset in group_split(ds, seed=0).subsets().items()
        for s in subset
        if s.class_name == 'notgrasped'
    }
    train = sorted(n for n, sp in split_of.items() if sp == 'train')
    other = sorted(n for n, sp in split_of.items() if sp != 'train')
    assert train and other
    src = cv2.imread(str(root / 'notgrasped' / train[0]))
    cv2.imwrite(str(root / 'notgrasped' / other[0]), cv2.add(src, np.full_like(src, 3)))
    # Dark and blurred frames replace frames of their own groups; names stay, so does the split.
    cv2.imwrite(str(root / 'grasped/g1_1.png'), noise(rng, 0, 50))
    blurred = cv2.GaussianBlur(noise(rng), (0, 0), 2.5)
    cv2.imwrite(str(root / 'grasped/g2_2.png'), blurred)
    (root / 'grasped/g3_9.jpg').write_bytes(b'not an image')
    return {
        'root': str(root),
        'near_a': f'notgrasped/{train[0]}',
        'near_b': f'notgrasped/{other[0]}',
        'other_split': split_of[other[0]],
    }


def test_planted_findings_are_counted_exactly(planted: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / 'report'
    report = inspect(planted['root'], out, seed=0)
    assert report['summary'] == {
        'images': 31,
        'unreadable': 1,
        'classes': {'grasped': 16, 'notgrasped': 15},
        'groups': 10,
        'sizes': {f'{SIZE}x{SIZE}': 31},
        'exact_duplicate_sets': 1,
        'exact_duplicate_extra_files': 1,
        'near_duplicate_pairs': 1,
        'cross_split_pairs': 1,
        'cross_group_pairs': 1,
        'cross_class_pairs': 0,
        'dark': 1,
        'blurred': 1,
    }
    assert report['exact_duplicates'] == [['grasped/g0_0.png', 'grasped/g0_3.png']]
    (pair,) = report['cross_split_pairs']
    assert {pair['a'], pair['b']} == {planted['near_a'], planted['near_b']}
    assert not pair['exact']
    assert pair['distance'] <= 4
    assert {pair['split_a'], pair['split_b']} == {'train', planted['other_split']}
    assert report['near_duplicates'] == [pair]
    assert [d['path'] for d in report['dark']] == ['grasped/g1_1.png']
    assert [b['path'] for b in report['blurred']] == ['grasped/g2_2.png']
    assert [Path(u['path']).name for u in report['unreadable']] == ['g3_9.jpg']

    names = {p.name for p in out.iterdir()}
    assert names == {
        'report.json',
        'report.md',
        'sheet_grasped.png',
        'sheet_notgrasped.png',
        'sheet_outliers.png',
        'sheet_near_duplicates.png',
    }
    assert json.loads((out / 'report.json').read_text())['summary'] == report['summary']
    for sheet in names - {'report.json', 'report.md'}:
        assert cv2.imread(str(out / sheet)) is not None, sheet
    md = (out / 'report.md').read_text()
    assert 'duplicate pairs across splits (leakage): **1**' in md
    assert 'g3_9.jpg' in md


def test_near_duplicates_need_the_threshold(planted: dict[str, str], tmp_path: Path) -> None:
    # A threshold below every random pair's distance still finds the brightened copy (0 bits).
    report = inspect(planted['root'], tmp_path / 'r0', near_threshold=0)
    assert report['summary']['near_duplicate_pairs'] == 1
    assert report['near_duplicates'][0]['distance'] == 0


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog='grasp-train')
    register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_output_inside_the_data_folder_is_refused(planted: dict[str, str]) -> None:
    ns = _parse(['inspect', planted['root'], '--out', str(Path(planted['root']) / 'report')])
    assert run(ns) == 2
    assert not (Path(planted['root']) / 'report').exists()


def test_missing_folder_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / 'nope'
    ns = _parse(['inspect', str(missing), '--out', str(tmp_path / 'out')])
    assert run(ns) == 2
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert lines == [
        f"grasp-train inspect: error: data '{missing}' does not exist (give a class folder, "
        'a rosbag2 bag or a video)'
    ]
    assert captured.out == ''


def test_cli_prints_the_key_numbers(
    planted: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / 'cli'
    args = _parse(['inspect', planted['root'], '--out', str(out), '--split-strategy', 'images'])
    dcfg = load_config()['data']  # leakage is judged on train's default split
    assert (args.val_fraction, args.test_fraction) == (dcfg['val_fraction'], dcfg['test_fraction'])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert '31 images (grasped 16, notgrasped 15), 1 unreadable, 10 groups' in printed
    assert 'dark: 1; blurred: 1' in printed
    assert str(out / 'report.md') in printed
