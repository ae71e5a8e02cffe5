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
"""
The out-of-depth monitor in the running node: diagnostics quiet on upright frames, WARN on turned.

The model is ``BrightnessModel`` carrying reference statistics of rendered gripper frames
(``model_factory.write_familiar_model``); the frames are other rendered sessions, as they are
and turned 90 degrees clockwise (a camera turned on its mount). Runs where ROS 2 is sourced.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

try:
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from grasp_classifier_ros.core.familiarity import NO_REFERENCE, REASON
    from grasp_classifier_ros.ros.conversions import bgr8_image_msg
    from model_factory import gripper_sessions, write_familiar_model
    from node_harness import BRIGHT, ros, TIMEOUT, wait_for
    import numpy as np
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header
except ImportError as exc:  # not where ROS 2 is sourced
    pytest.skip(
        f'ROS 2 (rclpy) not installed ({exc}): node tests run where ROS 2 is sourced',
        allow_module_level=True,
    )

__all__ = ['ros']  # the fixture is used by name


def _ours(ros: Any, diagnostics: list[Any]) -> list[Any]:
    name = f'{ros.ns}/grasp_classifier: grasp classifier'
    return [s for array in list(diagnostics) for s in array.status if s.name == name]


def _values(status: Any) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}


def _publish_frames_until(ros: Any, pub: Any, frames: list[np.ndarray], done: Any) -> Any:
    """Publish ``frames`` (RGB) in a loop, 20 ms apart, until ``done()`` is truthy."""
    end = time.monotonic() + TIMEOUT
    i = 0
    while time.monotonic() < end:
        msg = ros.frame(0)  # for its stamp
        header = Header(frame_id='hand_cam', stamp=msg.header.stamp)
        pub.publish(bgr8_image_msg(Image, header, frames[i % len(frames)][:, :, ::-1].copy()))
        i += 1
        result = done()
        if result:
            return result
        time.sleep(0.02)
    pytest.fail(f'no such diagnostics after publishing for {TIMEOUT} s')


def test_diagnostics_warn_on_turned_frames_and_not_on_upright_ones(ros, tmp_path) -> None:
    model = write_familiar_model(tmp_path / 'familiar.pt')
    ros.start(model_path=str(model), familiarity_window=10)
    diagnostics = ros.listen(DiagnosticArray, '/diagnostics')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    upright = [f for run in gripper_sessions(3, frames=10, seed=11) for f in run]

    def judged(status_wanted: str) -> Any:
        for s in reversed(_ours(ros, diagnostics)):
            if _values(s).get('familiarity') == status_wanted:
                return s
        return None

    status = _publish_frames_until(ros, pub, upright, lambda: judged('familiar'))
    assert (status.level, status.message) == (DiagnosticStatus.OK, 'classifying')
    seen = _ours(ros, diagnostics)
    assert not any(_values(s).get('familiarity') == 'unfamiliar' for s in seen)
    assert all(REASON not in s.message for s in seen)

    turned = [np.ascontiguousarray(np.rot90(f, -1)) for f in upright]
    status = _publish_frames_until(ros, pub, turned, lambda: judged('unfamiliar'))
    assert status.level == DiagnosticStatus.WARN
    assert status.message.startswith(REASON)
    assert 'try image_rotation 270' in status.message
    values = _values(status)
    assert float(values['familiarity turn ratio (window median)']) > float(
        values['familiarity turn ratio limit']
    )

    # the fix it suggests: image_rotation 270 undoes the turn, the window starts afresh
    result = ros.node.set_parameters([Parameter('image_rotation', value=270)])
    assert result[0].successful
    n = len(_ours(ros, diagnostics))
    status = _publish_frames_until(
        ros,
        pub,
        turned,
        lambda: next(
            (s for s in _ours(ros, diagnostics)[n:] if _values(s)['familiarity'] == 'familiar'),
            None,
        ),
    )
    assert status.level == DiagnosticStatus.OK


def test_a_model_without_statistics_says_so_and_stays_ok(ros) -> None:
    ros.start()
    diagnostics = ros.listen(DiagnosticArray, '/diagnostics')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0)
    status = ros.publish_until(
        pub,
        BRIGHT,
        lambda: next((s for s in _ours(ros, diagnostics) if s.level == DiagnosticStatus.OK), None),
    )
    assert _values(status)['familiarity'] == 'no_reference'
    assert status.message == 'classifying'
    assert NO_REFERENCE.startswith('no reference statistics in the model')
