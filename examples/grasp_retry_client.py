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
Minimal grasp controller client: grasp, ask ``~/check``, retry on failure.

Run (ROS 2 sourced, classifier running)::

    python3 examples/grasp_retry_client.py --ros-args \
        -p grasp_service:=/gripper/grasp -p release_service:=/gripper/release \
        -p check_service:=/grasp_classifier/check -p max_attempts:=3

``grasp_service`` / ``release_service`` are std_srvs/Trigger services of your
controller (leave ``release_service`` empty if grasping again needs no explicit
release). ``outcome_service`` (optional) is a Trigger of your controller that tells,
after the check, whether the grasp really held (lift and weigh, gripper width): its
answer decides the retry and is published on ``outcome_topic`` (``std_msgs/Bool``) for
the node's live agreement and capture; an answer whose message starts with ``unknown``
is not published. The retry policy is ``retry_logic.py`` (ROS-free, unit-tested).
Exit code: 0 held, 1 not held, 3 could not be verified.
"""

from __future__ import annotations

import sys
from typing import Any

import rclpy
from rclpy.node import Node
from retry_logic import grasp_with_retries, RetryPolicy  # beside this script
from std_msgs.msg import Bool
from std_srvs.srv import Trigger


class GraspRetryClient(Node):
    """Calls the controller's grasp service and the classifier's ``~/check``."""

    def __init__(self) -> None:
        super().__init__('grasp_retry_client')
        self.grasp_service = self.declare_parameter('grasp_service', '/gripper/grasp').value
        self.release_service = self.declare_parameter('release_service', '').value
        check = self.declare_parameter('check_service', '/grasp_classifier/check').value
        self.outcome_service = self.declare_parameter('outcome_service', '').value
        topic = self.declare_parameter('outcome_topic', '/grasp/outcome').value
        self.outcomes = self.create_publisher(Bool, topic, 10)
        self.policy = RetryPolicy(
            max_attempts=self.declare_parameter('max_attempts', 3).value,
            max_rechecks=self.declare_parameter('max_rechecks', 1).value,
            settle_s=self.declare_parameter('settle_time', 0.3).value,
        )
        self.timeout_s = float(self.declare_parameter('service_timeout', 10.0).value)
        self._triggers = {  # not `_clients`: rclpy.Node keeps its own list under that name
            name: self.create_client(Trigger, name)
            for name in (self.grasp_service, self.release_service, check, self.outcome_service)
            if name
        }
        self.check_service = check

    def call(self, name: str) -> Any:
        """Call Trigger service ``name``; return its response or raise RuntimeError."""
        client = self._triggers[name]
        if not client.wait_for_service(timeout_sec=self.timeout_s):
            raise RuntimeError(f'service {name} not available after {self.timeout_s} s')
        future = client.call_async(Trigger.Request())
        rclpy.spin_until_future_complete(self, future, timeout_sec=self.timeout_s + 5.0)
        if not future.done() or future.result() is None:
            raise RuntimeError(f'service {name} did not answer')
        return future.result()

    def grasp(self, attempt: int) -> None:
        self.get_logger().info(f'grasp attempt {attempt}/{self.policy.max_attempts}')
        response = self.call(self.grasp_service)
        if not response.success:
            raise RuntimeError(f'grasp failed to execute: {response.message}')

    def release(self) -> None:
        if self.release_service:
            self.call(self.release_service)

    def check(self) -> tuple[bool, str]:
        response = self.call(self.check_service)
        self.get_logger().info(f'check: {response.message}')
        return bool(response.success), str(response.message)

    def confirm(self, attempt: int) -> bool | None:
        """Return the controller's own truth for ``attempt``, or None when it cannot tell."""
        if not self.outcome_service:
            return None
        response = self.call(self.outcome_service)
        if str(response.message).startswith('unknown'):
            return None
        self.get_logger().info(f'attempt {attempt}: the controller says held={response.success}')
        return bool(response.success)

    def publish_outcome(self, held: bool) -> None:
        self.outcomes.publish(Bool(data=held))


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    node = GraspRetryClient()
    try:
        report = grasp_with_retries(
            node.grasp,
            node.check,
            node.policy,
            release=node.release,
            confirm=node.confirm,
            publish_outcome=node.publish_outcome,
        )
        node.get_logger().info(report.summary)
        return 0 if report.held else (1 if report.verified else 3)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    sys.exit(main())
