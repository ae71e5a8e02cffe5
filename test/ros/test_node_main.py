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
"""grasp_classifier_node's main without ROS: one-line explanations and Ctrl-C handling."""

from __future__ import annotations

from grasp_classifier_ros.ros import node
import pytest


@pytest.mark.parametrize(
    ('module', 'fix'),
    [
        ('torch', "'torch>=2.13' (pip"),
        ('cv2', 'opencv-python-headless'),
        ('yaml', 'python3-yaml'),
    ],
)
def test_a_missing_python_package_is_named_with_the_fix(module: str, fix: str) -> None:
    text = node.missing_module_message(ImportError(f'No module named {module!r}', name=module))
    assert text.startswith(f"the grasp classifier node needs the Python package '{module}'")
    assert fix in text and '\n' not in text


def test_a_missing_ros_module_is_explained_as_ros() -> None:
    text = node.missing_module_message(ImportError('x', name='rclpy'))
    assert text == node.NO_ROS_MESSAGE


def test_first_interrupt_raises_later_ones_are_ignored() -> None:
    handler = node.FirstInterrupt()
    with pytest.raises(KeyboardInterrupt):
        handler(2, None)
    handler(2, None)  # a terminal's Ctrl-C plus ros2 launch's own: the second is ignored
    assert handler.seen


def test_the_lifecycle_flag() -> None:
    assert node.parse_args([]).lifecycle is False
    assert node.parse_args(['--lifecycle']).lifecycle is True
