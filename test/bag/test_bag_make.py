# Copyright 2026 The grasp_classifier_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
#
# SPDX-License-Identifier: Apache-2.0
"""make_bag: ImageFolder grouping, sequences with an episodes file, synthetic episodes."""

from __future__ import annotations

from pathlib import Path
import sys

import cv2
from grasp_classifier_ros.bag import make_bag
from grasp_classifier_ros.bag.io import BagReader
from grasp_classifier_ros.bag.labels import load_intervals, resolve_intervals
from grasp_classifier_ros.bag.make_bag import group_of, main
from msg_factory import compressed_to_array, image_to_array
import numpy as np
import pytest

NS = 1_000_000_000


def grey(path: Path, value: int, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((size, size, 3), value, np.uint8))


def read_bag(path: Path) -> tuple[list[tuple[int, int]], list[tuple[int, bool]], dict]:
    """Return (stamp, grey value) per frame, (time, label) per label, topic types."""
    frames, labels = [], []
    with BagReader(path) as r:
        types_ = {t: i.msgtype for t, i in r.topics.items()}
        image_topic = next(t for t, ty in types_.items() if ty.startswith('sensor_msgs'))
        for m in r.messages([image_topic, '/grasp/label']):
            if m.topic == '/grasp/label':
                labels.append((m.log_ns, bool(m.msg.data)))
                continue
            stamp = m.msg.header.stamp.sec * NS + m.msg.header.stamp.nanosec
            assert stamp == m.log_ns
            if m.msgtype.endswith('CompressedImage'):
                px = compressed_to_array(m.msg, 'rgb')
            else:
                px = image_to_array(m.msg, 'rgb')
            frames.append((stamp, int(px[0, 0, 0])))
    return frames, labels, types_


def test_group_prefix() -> None:
    assert group_of('image_2019_12_12_11_09_31_23') == 'image_2019_12_12_11_09_31'
    assert group_of('image_6_12') == 'image_6'
    assert group_of('single') == 'single'


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_image_folder_groups_become_episodes(tmp_path: Path, storage: str) -> None:
    src = tmp_path / 'imgs'
    grey(src / 'grasped' / 'a_10.png', 12)
    grey(src / 'grasped' / 'a_2.png', 11)
    grey(src / 'grasped' / 'b_1.png', 30)
    grey(src / 'notgrasped' / 'a_1.png', 20)
    grey(src / 'notgrasped' / 'a_3.png', 21)
    out = tmp_path / 'bag'
    argv = [str(out), '--images', str(src), '--fps', '10', '--gap', '1', '--start-time', '100']
    assert main([*argv, '--storage', storage, '--compressed', '--format', 'png']) == 0
    frames, labels, types_ = read_bag(out)
    assert types_['/camera/image_raw/compressed'] == 'sensor_msgs/msg/CompressedImage'
    t0 = 100 * NS
    # episodes ordered by group then class: grasped/a, notgrasped/a, grasped/b; 0.1 s frames
    assert frames == [
        (t0, 11),
        (t0 + NS // 10, 12),
        (t0 + 12 * NS // 10, 20),  # last + period + 1 s gap
        (t0 + 13 * NS // 10, 21),
        (t0 + 24 * NS // 10, 30),
    ]
    assert labels == [(t, ok) for (t, _), ok in zip(frames, [True, True, False, False, True])]
    f = load_intervals(out / 'episodes.yaml')
    eps, _ = resolve_intervals(f, 0, 0)
    assert [(e.name, e.success) for e in eps] == [
        ('grasped/a', True),
        ('notgrasped/a', False),
        ('grasped/b', True),
    ]
    assert [e.start_ns for e in eps] == [t0 - NS // 20, t0 + 115 * NS // 100, t0 + 235 * NS // 100]


def test_raw_encodings_keep_pixels(tmp_path: Path) -> None:
    src = tmp_path / 'imgs'
    for i, v in enumerate((40, 90)):
        grey(src / 'success' / f'x_{i}.png', v)
    for enc in ('bgr8', 'rgb8'):
        out = tmp_path / f'bag_{enc}'
        assert main([str(out), '--images', str(src), '--encoding', enc]) == 0
        frames, _, types_ = read_bag(out)
        assert types_['/camera/image_raw'] == 'sensor_msgs/msg/Image'
        assert [v for _, v in frames] == [40, 90]


def test_sequence_with_episodes_file(tmp_path: Path) -> None:
    src = tmp_path / 'seq'
    for i in range(10):
        grey(src / f'f_{i}.png', 10 * i)
    labels = tmp_path / 'eps.csv'
    labels.write_text('start,end,label\n0.0,0.25,success\n0.5,0.7,failure\n')
    out = tmp_path / 'bag'
    argv = [str(out), '--images', str(src), '--episodes', str(labels), '--fps', '10']
    assert main([*argv, '--start-time', '0']) == 0
    frames, labels_, _ = read_bag(out)
    # frames 0-2 (0.0..0.2 s) and 5-7 (0.5..0.7 s); frames outside intervals left out
    assert frames == [(i * NS // 10, 10 * i) for i in (0, 1, 2, 5, 6, 7)]
    assert [ok for _, ok in labels_] == [True] * 3 + [False] * 3


def test_synth_uses_the_renderer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bool, int, int]] = []

    def render_episode(
        rng: np.random.Generator, label: bool, n_frames: int, size: int
    ) -> np.ndarray:
        calls.append((label, n_frames, size))
        return np.full((n_frames, size, size, 3), 200 if label else 50, np.uint8)

    monkeypatch.setattr(make_bag, 'render_episode', render_episode)
    out = tmp_path / 'bag'
    argv = [str(out), '--synth', '4', '--seconds', '0.2', '--fps', '20', '--size', '16']
    assert main([*argv, '--compressed', '--format', 'png']) == 0
    frames, labels, _ = read_bag(out)
    assert sorted(calls) == [(False, 4, 16)] * 2 + [(True, 4, 16)] * 2
    assert len(frames) == 16
    assert [v for _, v in frames] == [200 if ok else 50 for _, ok in labels]


def test_synth_needs_no_training_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, 'grasp_classifier_training', None)  # import would fail
    monkeypatch.setitem(sys.modules, 'grasp_classifier_training.synth', None)
    assert main([str(tmp_path / 'bag'), '--synth', '2', '--seconds', '0.1', '--size', '16']) == 0
    frames, labels, _ = read_bag(tmp_path / 'bag')
    assert len(frames) == 6 and sorted(ok for _, ok in labels) == [False] * 3 + [True] * 3


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / 'imgs'
    grey(src / 'maybe' / 'x_1.png', 1)
    assert main([str(tmp_path / 'b1'), '--images', str(src)]) == 2
    assert "class folder 'maybe'" in capsys.readouterr().err
    assert main([str(tmp_path / 'b2'), '--images', str(tmp_path / 'none')]) == 2
    assert 'does not exist' in capsys.readouterr().err
    (tmp_path / 'taken').mkdir()
    grey(tmp_path / 'ok' / 'success' / 'x_1.png', 1)
    assert main([str(tmp_path / 'taken'), '--images', str(tmp_path / 'ok')]) == 2
    assert 'already exists' in capsys.readouterr().err
