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
"""A capture folder is read as is: recordings (grasp-train's reader) and evaluate_bag."""

import json
from pathlib import Path

from capture_factory import write_capture
from grasp_classifier_ros.bag.evaluate_bag import main
from grasp_classifier_ros.bag.recordings import (
    bags_in,
    collect,
    open_recording,
    recording_kind,
    RecordingError,
)
import numpy as np
import pytest

# held, predicted: 6 attempts, 4 per bag -> 2 bags; attempts 1 and 4 wrong
ATTEMPTS = [(True, True), (False, True), (True, True), (True, True), (False, True), (False, False)]


def render(held: bool, i: int) -> np.ndarray:
    img = np.full((16, 16, 3), 30, np.uint8)
    if held:
        img[4:12, 4:12] = 220
    return img


@pytest.fixture(scope='module')
def capture(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('capture')
    w = write_capture(root, ATTEMPTS, render)
    assert w.stats.written == 6 and w.stats.bags == 2
    return root


def test_a_capture_folder_is_a_folder_of_bags(capture):
    assert recording_kind(capture) == 'bags'
    bags = bags_in(capture)
    assert len(bags) == 2 and all(b.parent.parent.name == 'grasp_classifier' for b in bags)
    with pytest.raises(RecordingError, match='is a folder of 2 bags'):
        open_recording(capture)


def test_recordings_read_every_bag_with_the_outcome_labels(capture):
    got = collect([capture])
    assert len(got) == 6 * 6  # every frame of every attempt
    assert got.labels.tolist() == [held for held, _ in ATTEMPTS for _ in range(6)]
    groups = sorted(set(got.groups))
    assert len(groups) == 2 and all(
        g.startswith(f'{capture.name}/grasp_classifier/') for g in groups
    )
    # one episode per attempt, even where two attempts in a row have the same label
    assert len(set(got.episodes)) == 6
    assert [r.episodes for r in got.recordings] == [
        {'success': 3, 'failure': 1},
        {'failure': 2},
    ]
    assert got.images[0].shape == (16, 16, 3) and got.images[0][8, 8, 0] == 220


def test_evaluate_bag_recorded_scores_the_capture_folder(capture, tmp_path, capsys):
    out = tmp_path / 'rec'
    assert main([str(capture), '--recorded', '--out', str(out), '--quiet', '--no-plot']) == 0
    m = json.loads((out / 'metrics.json').read_text())
    assert m['frames']['total'] == 36 and m['frames']['labelled_fresh'] == 36
    assert m['episodes']['count'] == 6 and m['episodes']['correct'] == 4
    assert m['episodes']['wrong'] == 2 and len(m['bags']) == 2
    assert ': 2 bags, 6 episodes' in capsys.readouterr().err


def test_evaluate_bag_replays_the_capture_folder(capture, tmp_path):
    out = tmp_path / 'replay'
    assert main([str(capture), '--out', str(out), '--quiet', '--no-plot']) == 0
    m = json.loads((out / 'metrics.json').read_text())
    assert m['frames']['total'] == 36 and m['episodes']['count'] == 6
    assert m['episodes']['labelled'] == 6


def test_evaluate_bag_refuses_per_bag_options_on_a_folder(capture, tmp_path, capsys):
    assert main([str(capture), '--out-bag', str(tmp_path / 'o'), '--quiet']) == 2
    assert 'folder of 2 bags' in capsys.readouterr().err
