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
Route the package's Python ``logging`` records to a node's ROS logger (and so to /rosout).

The core logs with plain ``logging`` (it runs without ROS); inside the node those records
would only reach stderr. ``attach`` forwards every record of the ``grasp_classifier_ros``
loggers to the node's logger at the matching severity, exceptions as one line (the
traceback at debug level). No rclpy import: the ROS logger is passed in.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

PACKAGE_LOGGER = 'grasp_classifier_ros'


class RosLogHandler(logging.Handler):
    """A ``logging.Handler`` writing to an rclpy logger (``debug``/``info``/.../``fatal``)."""

    def __init__(self, ros_logger: Any) -> None:
        super().__init__()
        self.ros_logger = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                text += f': {type(exc).__name__}: {exc}'
            self._method(record.levelno)(text)
            if exc is not None and record.exc_info is not None:
                self.ros_logger.debug(''.join(traceback.format_exception(*record.exc_info)))
        except Exception:  # logging must never raise into the caller
            self.handleError(record)

    def _method(self, level: int) -> Any:
        if level >= logging.CRITICAL:
            return self.ros_logger.fatal
        if level >= logging.ERROR:
            return self.ros_logger.error
        if level >= logging.WARNING:
            return self.ros_logger.warning
        if level >= logging.INFO:
            return self.ros_logger.info
        return self.ros_logger.debug


def attach(ros_logger: Any, name: str = PACKAGE_LOGGER) -> RosLogHandler:
    """
    Forward the records of logger ``name`` (and its children) to ``ros_logger``.

    The Python logger passes records from the ROS logger's own level on (rcutils and
    ``logging`` share the numbers 10..50), so ``--log-level debug`` reaches the core too.
    """
    handler = RosLogHandler(ros_logger)
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.setLevel(int(ros_logger.get_effective_level()))
    # Where the launch package is loaded (launch_testing, a component in a launch process)
    # new loggers do not propagate (launch.logging.LaunchLogger): ours must reach this one.
    for child, obj in logging.root.manager.loggerDict.items():
        if child.startswith(name + '.') and isinstance(obj, logging.Logger):
            obj.propagate = True
    return handler


def detach(handler: RosLogHandler, name: str = PACKAGE_LOGGER) -> None:
    """Stop forwarding (the node is going away)."""
    logging.getLogger(name).removeHandler(handler)
