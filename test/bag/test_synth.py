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
"""The synthetic renderer (make_bag --synth, grasp-train synth): shapes, labels, drift."""

from __future__ import annotations

from grasp_classifier_ros.bag import synth
import numpy as np


def test_render_episode_shapes_and_labels():
    rng = np.random.default_rng(0)
    frames = synth.render_episode(rng, 'success', 4, size=48)
    assert len(frames) == 4
    assert all(f.shape == (48, 48, 3) and f.dtype == np.uint8 for f in frames)
    assert not np.array_equal(frames[0], frames[3])  # frames drift within an episode
    for kind in synth.FAILURE_KINDS:
        scene = synth.random_scene(np.random.default_rng(1), False, kind)
        assert (scene.success, scene.kind) == (False, kind)
    assert synth.random_scene(np.random.default_rng(1), True).kind == 'held'


def test_same_seed_same_frames():
    def frames(seed: int) -> list[np.ndarray]:
        return synth.render_episode(np.random.default_rng(seed), 'failure', 3, size=32)

    assert all(np.array_equal(a, b) for a, b in zip(frames(3), frames(3), strict=True))
    assert not np.array_equal(frames(3)[0], frames(4)[0])
