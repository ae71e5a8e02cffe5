# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Synthetic frames: determinism by seed, labels, layout."""

from __future__ import annotations

import hashlib

from grasp_classifier_training import synth
from grasp_classifier_training.data import scan_dataset
import pytest


def digest(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob('*.png'))
    }


def test_generate_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = synth.generate(tmp_path / 'a', 12, seed=5, size=32, episode_len=3)
    synth.generate(tmp_path / 'b', 12, seed=5, size=32, episode_len=3)
    synth.generate(tmp_path / 'c', 12, seed=6, size=32, episode_len=3)
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b')
    assert digest(tmp_path / 'a') != digest(tmp_path / 'c')
    assert a == {
        'out': str(tmp_path / 'a'),
        'frames': 12,
        'episodes': 4,
        'per_class': {'grasped': 6, 'notgrasped': 6},
    }


def test_layout_scans_as_dataset_with_episode_groups(tmp_path):
    synth.generate(tmp_path / 'd', 10, seed=0, size=32, episode_len=5)
    ds = scan_dataset(tmp_path / 'd')
    assert ds.class_names == ('grasped', 'notgrasped')
    assert ds.counts() == {'grasped': 5, 'notgrasped': 5}
    assert {s.group for s in ds.samples} == {'synth_e0000', 'synth_e0001'}


def test_too_few_frames_rejected(tmp_path):
    with pytest.raises(ValueError, match='need at least 2 frames'):
        synth.generate(tmp_path / 'x', 1)
