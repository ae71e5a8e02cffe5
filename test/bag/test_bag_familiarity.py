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
"""evaluate_bag reports the out-of-depth monitor over the recording, per bag and pooled."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_classifier_ros.bag.evaluate_bag import main
from grasp_classifier_ros.bag.make_bag import BagSpec, SourceEpisode, SourceFrame, write_bag
from model_factory import brightness_metadata, gripper_sessions, write_familiar_model, write_model
import numpy as np
import pytest

META = brightness_metadata(size=32)


def write_sessions(path: Path, turn: int, seed: int) -> Path:
    """Write a bag of rendered gripper episodes, each frame turned ``turn`` quarter turns."""
    runs = gripper_sessions(2, frames=20, seed=seed)
    episodes = [
        SourceEpisode(
            f'ep{i}_{"success" if i % 2 == 0 else "failure"}',
            i % 2 == 0,
            [SourceFrame(rgb=np.ascontiguousarray(np.rot90(f, -turn))) for f in run],
        )
        for i, run in enumerate(runs)
    ]
    write_bag(path, episodes, BagSpec(fmt='png', encoding='rgb8'))
    return path


@pytest.fixture(scope='module')
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_familiar_model(tmp_path_factory.mktemp('model') / 'familiar.pt', meta=META)


def evaluate(bag: Path, model: Path, out: Path, capsys) -> tuple[dict, str]:
    argv = [str(bag), '--model', str(model), '--out', str(out), '--no-plot', '--quiet']
    assert main(argv) == 0
    return json.loads((out / 'metrics.json').read_text())['familiarity'], capsys.readouterr().out


def test_upright_frames_are_familiar_and_turned_ones_are_not(tmp_path, model, capsys) -> None:
    upright, text = evaluate(write_sessions(tmp_path / 'up', 0, 7), model, tmp_path / 'r0', capsys)
    assert upright['status'] == 'familiar' and upright['unfamiliar_share'] == 0.0
    assert (upright['frames'], upright['window']) == (40, 30)
    assert 'Familiarity (out-of-depth monitor, windows of 30 frames): 0.0% of 11 windows' in text
    turned, text = evaluate(write_sessions(tmp_path / 'tn', 1, 7), model, tmp_path / 'r1', capsys)
    assert turned['status'] == 'unfamiliar' and turned['unfamiliar_share'] == 1.0
    assert 'try image_rotation 270' in turned['message'] and 'try image_rotation 270' in text


def test_a_folder_of_bags_pools_them(tmp_path, model, capsys) -> None:
    folder = tmp_path / 'capture'
    folder.mkdir()
    write_sessions(folder / 'a', 0, 7)
    write_sessions(folder / 'b', 1, 8)
    fam, text = evaluate(folder, model, tmp_path / 'report', capsys)
    assert (fam['streams'], fam['streams_unfamiliar'], fam['windows']) == (2, 1, 22)
    assert fam['unfamiliar_share'] == 0.5 and 'try image_rotation 270' in fam['message']


def test_a_model_without_statistics_says_so(tmp_path, capsys) -> None:
    plain = write_model(tmp_path / 'plain.pt', meta=META)
    fam, text = evaluate(write_sessions(tmp_path / 'up', 0, 7), plain, tmp_path / 'r', capsys)
    assert fam['status'] == 'no_reference'
    assert 'Familiarity: no reference statistics in the model' in text
