# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Offline augmentation: counts per class, determinism by seed, groups kept."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import cv2
from grasp_classifier_training import augment as aug
from grasp_classifier_training.data import group_of, group_split, Sample, scan_dataset
import numpy as np
import pytest


def make_folder(root: Path) -> Path:
    """Two classes, real filename shapes, textured 24x24 images (16x16 for one)."""
    rng = np.random.default_rng(0)
    names = {
        'grasped': ['image_6_454.jpg', 'image_6_455.jpg', 'image_2019_12_12_17_03_42_53.jpg'],
        'notgrasped': ['image_7_10.png', 'nogroup.png'],
    }
    for cls, files in names.items():
        (root / cls).mkdir(parents=True)
        for name in files:
            size = 16 if name == 'nogroup.png' else 24
            img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            cv2.imwrite(str(root / cls / name), img)
    return root


def digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob('*'))
        if p.is_file()
    }


@pytest.mark.parametrize(
    ('name', 'k', 'expected'),
    [
        ('image_6_454.jpg', 0, 'image_6_4540000.png'),
        ('image_6_454.jpg', 12, 'image_6_4540012.png'),
        ('image_2019_12_12_17_03_42_53.jpg', 3, 'image_2019_12_12_17_03_42_530003.png'),
        ('synth_e0003_017.png', 2, 'synth_e0003_0170002.png'),
        ('nogroup.png', 1, 'nogroup_0001.png'),
    ],
)
def test_augmented_name_keeps_the_group(name, k, expected):
    src = Sample(Path('d/grasped') / name, 0, 'grasped', group_of(Path(name)))
    out = aug.augmented_name(src, k)
    assert out == expected
    assert group_of(Path(out)) == src.group


def test_augmented_name_refuses_a_regex_it_cannot_honour():
    regex = r'^(?P<group>.+)-\d+$'  # 'sess-12' -> 'sess', but 'sess_0000' has no '-NN'
    src = Sample(Path('sess-12.png'), 0, 'grasped', group_of(Path('sess-12.png'), regex))
    assert src.group == 'sess'
    with pytest.raises(ValueError, match='use the default --group-regex'):
        aug.augmented_name(src, 0, regex)


def test_counts_groups_and_sizes(tmp_path):
    src = make_folder(tmp_path / 'src')
    summary = aug.augment(src, tmp_path / 'out', per_class=7, seed=0)
    assert summary['per_class'] == {
        'grasped': {'original': 3, 'augmented': 4, 'total': 7},
        'notgrasped': {'original': 2, 'augmented': 5, 'total': 7},
    }
    ds = scan_dataset(tmp_path / 'out')
    assert ds.counts() == {'grasped': 7, 'notgrasped': 7}
    assert ds.skipped == []
    assert {s.group for s in ds.samples} == {
        'image_6',
        'image_2019_12_12_17_03_42',
        'image_7',
        'nogroup',
    }
    for cls in ('grasped', 'notgrasped'):  # originals are copied unchanged
        for p in (src / cls).iterdir():
            assert (tmp_path / 'out' / cls / p.name).read_bytes() == p.read_bytes()
    nogroup = sorted(p.name for p in (tmp_path / 'out' / 'notgrasped').glob('nogroup*'))
    assert nogroup[0] == 'nogroup.png'
    assert all(
        cv2.imread(str(tmp_path / 'out' / 'notgrasped' / n)).shape == (16, 16, 3) for n in nogroup
    )
    # The group split keeps augmented copies with their source.
    split = group_split(ds, seed=0)
    where = {s.group: name for name, subset in split.subsets().items() for s in subset}
    for name, subset in split.subsets().items():
        assert all(where[s.group] == name for s in subset)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    src = make_folder(tmp_path / 'src')
    for out, seed in (('a', 1), ('b', 1), ('c', 2)):
        aug.augment(src, tmp_path / out, per_class=6, seed=seed)
    a, b, c = (digest(tmp_path / x) for x in 'abc')
    assert a == b
    assert a.keys() == c.keys()
    assert a != c


def test_refuses_too_few_per_class_and_a_used_out_folder(tmp_path):
    src = make_folder(tmp_path / 'src')
    with pytest.raises(ValueError, match='use --per-class >= 3'):
        aug.augment(src, tmp_path / 'out', per_class=2)
    (tmp_path / 'used').mkdir()
    (tmp_path / 'used' / 'x.txt').write_text('x')
    with pytest.raises(ValueError, match='is not empty'):
        aug.augment(src, tmp_path / 'used', per_class=4)
    with pytest.raises(ValueError, match='inside the data folder'):
        aug.augment(src, src / 'aug', per_class=4)


def test_cli_run_prints_summary_and_one_error_line(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    aug.register(parser.add_subparsers())
    src = make_folder(tmp_path / 'src')
    args = parser.parse_args(
        ['augment', str(src), '--out', str(tmp_path / 'o'), '--per-class', '4']
    )
    assert args.func(args) == 0
    assert f'to {tmp_path / "o"}' in capsys.readouterr().out
    args = parser.parse_args(
        ['augment', str(tmp_path / 'nope'), '--out', str(tmp_path / 'p'), '--per-class', '4']
    )
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('grasp-train augment: error: data folder')
