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
``ros/intake.py`` alone, with real rclpy (skips where ROS 2 is not sourced).

The intake thread takes every frame of its subscription and the executor none, while the
executor keeps running the rest of the node, the subscription's group included.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

try:
    from grasp_classifier_ros.ros.intake import FrameIntake, IntakeCallbackGroup
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Header
except ImportError as exc:
    pytest.skip(
        f'ROS 2 (rclpy) not installed ({exc}): intake tests run where ROS 2 is sourced',
        allow_module_level=True,
    )

TIMEOUT = 10.0
COUNT = 20


def _wait(predicate, what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f'timed out waiting for {what}')
        time.sleep(0.01)


def test_intake_takes_every_frame_and_the_executor_none() -> None:
    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node('intake_test', namespace='/i' + uuid.uuid4().hex[:8], context=context)
    executor = MultiThreadedExecutor(num_threads=2, context=context)
    executor.add_node(node)
    spin = threading.Thread(target=executor.spin, daemon=True)
    try:
        group = IntakeCallbackGroup()
        by_executor: list[Header] = []
        qos = QoSProfile(depth=COUNT, reliability=ReliabilityPolicy.RELIABLE)
        sub = node.create_subscription(
            Header, 'frames', by_executor.append, qos, callback_group=group
        )
        ticks: list[int] = []
        node.create_timer(0.01, lambda: ticks.append(1), callback_group=group)  # same group
        taken: list[Header] = []
        intake = FrameIntake(sub, taken.append, context).start()
        spin.start()
        pub = node.create_publisher(Header, 'frames', qos)
        _wait(lambda: pub.get_subscription_count() == 1, 'the subscription')
        for i in range(COUNT):
            pub.publish(Header(frame_id=str(i)))
            time.sleep(0.005)
        _wait(lambda: len(taken) == COUNT, f'{COUNT} frames')
        assert [h.frame_id for h in taken] == [str(i) for i in range(COUNT)]
        assert intake.taken == COUNT and intake.errors == 0
        _wait(lambda: len(ticks) >= 3, 'the timer of the same group')
        assert by_executor == []  # the executor never took the subscription
        intake.stop()
        assert not intake.running
        pub.publish(Header(frame_id='after stop'))
        time.sleep(0.2)
        assert len(taken) == COUNT
        node.destroy_subscription(sub)  # after stop: nothing waits on it any more
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        spin.join(5.0)


def test_a_failing_handler_does_not_stop_intake() -> None:
    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node('intake_fail', namespace='/i' + uuid.uuid4().hex[:8], context=context)
    try:
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        sub = node.create_subscription(
            Header, 'frames', lambda m: None, qos, callback_group=IntakeCallbackGroup()
        )
        seen: list[str] = []

        def handler(msg: Header) -> None:
            seen.append(msg.frame_id)
            if msg.frame_id == 'bad':
                raise ValueError('a bad frame')

        intake = FrameIntake(sub, handler, context).start()
        pub = node.create_publisher(Header, 'frames', qos)
        _wait(lambda: pub.get_subscription_count() == 1, 'the subscription')
        for name in ('bad', 'good'):
            pub.publish(Header(frame_id=name))
            time.sleep(0.02)
        _wait(lambda: len(seen) == 2, 'both frames')
        assert seen == ['bad', 'good'] and intake.errors == 1 and intake.running
        rclpy.try_shutdown(context=context)  # the context going away ends the thread
        _wait(lambda: not intake.running, 'the intake thread to end')
        intake.stop()
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)
