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
"""evaluate_bag --preview: one frame under every camera mount, to choose image_rotation/flip."""

from __future__ import annotations

from pathlib import Path

import cv2
from grasp_classifier_ros.bag import evaluate_bag
from grasp_classifier_ros.bag.make_bag import BagSpec, SourceEpisode, SourceFrame, write_bag
from grasp_classifier_ros.bag.recordings import read_frame, RecordingError
from model_factory import BottomBrightModel, brightness_metadata, write_model
import numpy as np
import pytest


def turned_camera_bag(path: Path) -> Path:
    """Frames whose bright half is on the left: the camera is mounted turned 90 deg."""
    img = np.full((24, 32, 3), 20, np.uint8)
    img[:, :16] = 230
    frames = [SourceFrame(rgb=img) for _ in range(5)]
    write_bag(path, [SourceEpisode('held', True, frames)], BagSpec(fps=10.0))
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model(tmp_path / 'bottom.pt', BottomBrightModel(), brightness_metadata(16))


def test_preview_scores_every_mount_and_marks_the_one_in_use(tmp_path, model, capsys):
    bag = turned_camera_bag(tmp_path / 'bag')
    params = tmp_path / 'p.yaml'
    params.write_text('image_rotation: 180\n')
    png = tmp_path / 'out' / 'preview.png'
    argv = [str(bag), '--model', str(model), '--params', str(params), '--preview', str(png)]
    assert evaluate_bag.main(argv) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.strip().startswith('image_rotation')]
    assert len(lines) == 8
    # turned 270 clockwise the bright left half comes to the bottom: the model's view
    best = max(lines, key=lambda ln: float(ln.split('p(success)')[1].split()[0]))
    assert best.split()[:4] == ['image_rotation', '270', 'image_flip', 'false']
    marked = [ln for ln in lines if ln.endswith('(--params)')]
    assert len(marked) == 1 and marked[0].split()[:2] == ['image_rotation', '180']
    sheet = cv2.imread(str(png))
    assert sheet is not None and sheet.shape[0] > 300 and sheet.shape[1] > 600
    assert 'frame 2 of 5' in out


def test_preview_frame_picks_the_frame_and_is_checked(tmp_path, model, capsys):
    bag = turned_camera_bag(tmp_path / 'bag')
    png = tmp_path / 'p.png'
    base = [str(bag), '--model', str(model), '--preview', str(png)]
    assert evaluate_bag.main([*base, '--preview-frame', '4']) == 0
    assert 'frame 4 of 5' in capsys.readouterr().out
    assert evaluate_bag.main([*base, '--preview-frame', '5']) == 2
    assert "frame 5 is not in '" in capsys.readouterr().err
    assert evaluate_bag.main([str(bag), '--preview-frame', '1']) == 2
    assert '--preview-frame only applies with --preview' in capsys.readouterr().err
    assert evaluate_bag.main([str(bag), '--preview', str(tmp_path / 'p.jpg')]) == 2
    assert 'must name a .png file' in capsys.readouterr().err
    assert evaluate_bag.main([*base, '--list']) == 2
    assert '--list and --preview are two separate jobs' in capsys.readouterr().err


def test_read_frame_needs_no_labels_and_reads_videos(tmp_path):
    video = tmp_path / 'v.avi'
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'MJPG'), 5.0, (16, 16))
    for v in (10, 120, 240):
        out.write(np.full((16, 16, 3), v, np.uint8))
    out.release()
    rgb, at, count = read_frame(video)
    assert (at, count) == (1, 3) and abs(int(rgb.mean()) - 120) <= 3
    with pytest.raises(RecordingError, match='is a class folder'):
        (tmp_path / 'd' / 'grasped').mkdir(parents=True)
        cv2.imwrite(str(tmp_path / 'd' / 'grasped' / 'a.png'), np.zeros((4, 4, 3), np.uint8))
        read_frame(tmp_path / 'd')
