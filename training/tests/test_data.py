# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Dataset scanning errors, group regex, and group-aware splits that never leak."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
from grasp_classifier_training.data import (
    DatasetError,
    group_of,
    group_split,
    load_split_paths,
    manifest_hash,
    sample_key,
    scan_dataset,
    Split,
)
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest


def write_img(path: Path, value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((8, 8, 3), value, np.uint8))


def make_folder(root: Path, groups: dict[str, dict[str, int]]) -> Path:
    """Write tiny images; ``groups`` maps class -> {group prefix: frame count}."""
    for cls, gs in groups.items():
        for g, n in gs.items():
            for i in range(n):
                write_img(root / cls / f'{g}_{i}.png', 40 + i)
    return root


@pytest.mark.parametrize(
    ('name', 'group'),
    [
        ('image_6_454.jpg', 'image_6'),
        ('image_2019_12_12_17_03_42_53.jpg', 'image_2019_12_12_17_03_42'),
        ('synth_e0003_017.png', 'synth_e0003'),
        ('nogroup.png', 'nogroup'),
    ],
)
def test_group_regex_on_real_filename_shapes(name, group):
    assert group_of(Path(name)) == group


def test_scan_counts_classes_and_skips_unreadable(tmp_path):
    root = make_folder(tmp_path / 'd', {'grasped': {'a': 3}, 'notgrasped': {'b': 2}})
    (root / 'grasped' / 'a_99.png').write_bytes(b'not an image')
    ds = scan_dataset(root)
    assert ds.class_names == ('grasped', 'notgrasped')
    assert ds.counts() == {'grasped': 3, 'notgrasped': 2}
    assert [p.name for p, _ in ds.skipped] == ['a_99.png']
    assert 'is not a readable image' in ds.skipped[0][1]
    assert {s.group for s in ds.samples} == {'a', 'b'}


def test_scan_errors_are_clear(tmp_path):
    with pytest.raises(DatasetError, match="data folder '.*missing' does not exist"):
        scan_dataset(tmp_path / 'missing')
    only = make_folder(tmp_path / 'one', {'grasped': {'a': 2}})
    with pytest.raises(DatasetError, match="has a single class 'grasped'"):
        scan_dataset(only)
    empty = make_folder(tmp_path / 'empty', {'grasped': {'a': 2}})
    (empty / 'notgrasped').mkdir()
    with pytest.raises(DatasetError, match="class folder '.*notgrasped' has no images"):
        scan_dataset(empty)
    (tmp_path / 'flat').mkdir()
    with pytest.raises(DatasetError, match='has no class sub-folders'):
        scan_dataset(tmp_path / 'flat')
    bad = make_folder(tmp_path / 'bad', {'grasped': {'a': 1}})
    (bad / 'notgrasped').mkdir()
    (bad / 'notgrasped' / 'x_1.png').write_bytes(b'junk')
    with pytest.raises(DatasetError, match="\\['notgrasped'\\].*hold no readable image"):
        scan_dataset(bad)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=2, max_size=14),
    seed=st.integers(0, 2**31 - 1),
    strategy=st.sampled_from(['images', 'sessions']),
)
def test_no_group_spans_two_splits(tmp_path_factory, sizes, seed, strategy):
    root = tmp_path_factory.mktemp('d')
    spec: dict[str, dict[str, int]] = {'grasped': {}, 'notgrasped': {}}
    for i, n in enumerate(sizes):
        spec['grasped' if i % 2 else 'notgrasped'][f'g{i}'] = n
    ds = scan_dataset(make_folder(root, spec), verify=False)
    split = group_split(ds, seed=seed, strategy=strategy)
    seen: dict[str, str] = {}
    for name, subset in split.subsets().items():
        for s in subset:
            assert seen.setdefault(s.group, name) == name, f'group {s.group} leaks'
    assert sum(len(x) for x in split.subsets().values()) == sum(sizes)


def test_split_deterministic_and_round_trips(tmp_path):
    spec = {
        'grasped': {f'g{i}': 3 + i for i in range(8)},
        'notgrasped': {f'n{i}': 2 + i for i in range(8)},
    }
    ds = scan_dataset(make_folder(tmp_path / 'd', spec))
    a, b = group_split(ds, seed=3), group_split(ds, seed=3)
    assert a.to_json() == b.to_json()
    assert all(len(x) > 0 for x in a.subsets().values())
    for subset in a.subsets().values():  # both classes in every split
        assert {s.class_name for s in subset} == {'grasped', 'notgrasped'}
    path = a.write(tmp_path / 'split.json')
    assert Split.from_json(json.loads(path.read_text())).to_json() == a.to_json()
    assert load_split_paths(path, 'test') == {sample_key(s.path) for s in a.test}
    with pytest.raises(DatasetError, match="subset 'holdout'"):
        load_split_paths(path, 'holdout')


def test_groups_of_different_folders_never_merge(tmp_path):
    d1 = scan_dataset(make_folder(tmp_path / 'a', {'grasped': {'x': 5}, 'notgrasped': {'y': 5}}))
    d2 = scan_dataset(make_folder(tmp_path / 'b', {'grasped': {'x': 5}, 'notgrasped': {'y': 5}}))
    split = group_split([d1, d2], seed=0, val_fraction=0.25, test_fraction=0.25)
    assert sum(len(s) for s in split.subsets().values()) == 20


def test_bad_fractions_rejected(tmp_path):
    ds = scan_dataset(make_folder(tmp_path / 'd', {'grasped': {'x': 2}, 'notgrasped': {'y': 2}}))
    with pytest.raises(DatasetError, match='sum to less than 1'):
        group_split(ds, val_fraction=0.5, test_fraction=0.5)


def test_manifest_hash_changes_with_content(tmp_path):
    root = make_folder(tmp_path / 'd', {'grasped': {'x': 2}, 'notgrasped': {'y': 2}})
    h1 = manifest_hash(scan_dataset(root))
    write_img(root / 'grasped' / 'x_0.png', 200)
    assert manifest_hash(scan_dataset(root)) != h1
