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
"""The package's Python logging reaches the node's ROS logger (ros/log_bridge.py; no ROS)."""

from __future__ import annotations

import logging

from grasp_classifier_ros.ros import log_bridge


class FakeRosLogger:
    """What rclpy's RcutilsLogger offers the bridge."""

    def __init__(self, level: int = 20) -> None:
        self.level = level
        self.lines: list[tuple[str, str]] = []

    def get_effective_level(self) -> int:
        return self.level

    def __getattr__(self, severity: str):
        levels = {'debug': 10, 'info': 20, 'warning': 30, 'error': 40, 'fatal': 50}
        if severity not in levels:
            raise AttributeError(severity)

        def log(text: str) -> None:
            if levels[severity] >= self.level:  # as rcutils filters
                self.lines.append((severity, text))

        return log


def test_records_are_forwarded_at_their_severity_exceptions_in_one_line() -> None:
    ros = FakeRosLogger()
    handler = log_bridge.attach(ros)
    child = logging.getLogger('grasp_classifier_ros.core.pipeline')
    try:
        child.info('now serving %s', 'm')
        child.warning('careful')
        try:
            raise RuntimeError('boom')
        except RuntimeError:
            child.exception('unexpected error while processing a frame')
        logging.getLogger('somebody_else').error('not ours')
    finally:
        log_bridge.detach(handler)
        logging.getLogger('grasp_classifier_ros').setLevel(logging.NOTSET)
    assert ros.lines == [
        ('info', 'now serving m'),
        ('warning', 'careful'),
        ('error', 'unexpected error while processing a frame: RuntimeError: boom'),
    ]  # the traceback goes to debug, below this logger's level


def test_the_ros_level_sets_what_is_passed_on_and_children_propagate() -> None:
    child = logging.getLogger('grasp_classifier_ros.some_module')
    child.propagate = False  # as launch.logging's logger class leaves new loggers
    ros = FakeRosLogger(level=10)
    handler = log_bridge.attach(ros)
    try:
        child.debug('fine detail')
    finally:
        log_bridge.detach(handler)
        logging.getLogger('grasp_classifier_ros').setLevel(logging.NOTSET)
    assert ros.lines == [('debug', 'fine detail')]
    child.debug('after detach')
    assert len(ros.lines) == 1
