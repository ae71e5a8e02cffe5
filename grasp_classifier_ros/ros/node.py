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
``grasp_classifier_node``: run the grasp classifier node until Ctrl-C.

``--lifecycle`` starts the managed variant (``lifecycle:=true`` in the launch file). The
node itself is ``ros/adapter.py``; this module imports nothing but the standard library
at first, so that ``main`` can say in one line what is missing (ROS 2, a ROS package,
torch or OpenCV) or too old (torch), and so that a Ctrl-C at any point (while torch or
the model loads, while a frame is in flight, twice from a terminal and ``ros2 launch``)
ends the node with exit code 0 and no traceback: the first SIGINT stops it, later ones
are ignored while it cleans up.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
import threading
from typing import Any

NO_ROS_MESSAGE = (
    'ROS 2 (rclpy) is not installed: source /opt/ros/<distro>/setup.bash; '
    'for ROS-free evaluation use evaluate_bag'
)
# Python packages the node imports -> what to install (see README, ROS 2).
PIP_PACKAGES = {
    'torch': "'torch>=2.13' (pip, not the distribution's python3-torch)",
    'cv2': 'opencv-python-headless (pip) or python3-opencv (apt)',
    'numpy': 'numpy (pip) or python3-numpy (apt)',
    'yaml': 'pyyaml (pip) or python3-yaml (apt)',
}


def missing_ros_message(exc: ImportError) -> str:
    """Return the one-line explanation for a failed ROS import."""
    top = (exc.name or '').split('.')[0]
    if top and top != 'rclpy' and importlib.util.find_spec('rclpy') is not None:
        return (
            f"ROS 2 package '{top}' is not installed: "
            f'apt install ros-$ROS_DISTRO-{top.replace("_", "-")} '
            '(or rosdep install --from-paths src --ignore-src)'
        )
    return NO_ROS_MESSAGE


def missing_module_message(exc: ImportError) -> str:
    """Return the one-line explanation for a failed import: a Python package or ROS."""
    top = (exc.name or '').split('.')[0]
    if top in PIP_PACKAGES:
        return (
            f"the grasp classifier node needs the Python package '{top}', which is not "
            f'installed for {sys.executable}: install {PIP_PACKAGES[top]}'
        )
    return missing_ros_message(exc)


class FirstInterrupt:
    """SIGINT handler: the first Ctrl-C raises KeyboardInterrupt; later ones are ignored."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum: int, frame: Any) -> None:
        if not self.seen:
            self.seen = True
            raise KeyboardInterrupt


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the node's own arguments (those before or without ``--ros-args``)."""
    parser = argparse.ArgumentParser(prog='grasp_classifier_node', description=__doc__)
    parser.add_argument(
        '--lifecycle',
        action='store_true',
        help='start a managed (lifecycle) node: unconfigured until told to configure',
    )
    return parser.parse_args(argv)


def main(args: list[str] | None = None) -> int:
    """Run the node: 0 after Ctrl-C, 1 on a configuration fault, 2 if anything is missing."""
    interrupt = FirstInterrupt()
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        signal.signal(signal.SIGINT, interrupt)  # before anything slow: imports, model load
    try:
        return _run(args, interrupt)
    except KeyboardInterrupt:  # Ctrl-C before the node was up (importing torch, ...)
        return 0
    finally:
        interrupt.seen = True
        if main_thread:
            # Python restores the default SIGINT action (die, exit code -2) for a Python
            # handler when the interpreter finalises, but keeps "ignore": a late Ctrl-C
            # (ros2 launch's second one) must not kill the exiting node.
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run(args: list[str] | None, interrupt: FirstInterrupt) -> int:
    try:
        import rclpy
        from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
        from rclpy.utilities import remove_ros_args
    except ImportError as exc:  # no sourced ROS 2
        print(missing_ros_message(exc), file=sys.stderr)
        return 2
    argv = remove_ros_args(args=sys.argv if args is None else ['grasp_classifier_node', *args])
    options = parse_args(argv[1:])
    try:
        import torch

        from ..core.torch_version import torch_version_problem

        problem = torch_version_problem(torch.__version__)
        if problem:
            print(problem, file=sys.stderr)
            return 1
        from . import adapter
        from ..core.errors import GraspClassifierError
    except ImportError as exc:
        print(missing_module_message(exc), file=sys.stderr)
        return 2

    rclpy.init(args=args)
    node = None
    try:
        try:
            node = adapter.make_node(lifecycle=options.lifecycle)
        except GraspClassifierError:
            return 1  # the node logged why
        executor = MultiThreadedExecutor(num_threads=adapter.EXECUTOR_THREADS)
        executor.add_node(node)
        try:
            executor.spin()
        finally:
            interrupt.seen = True
            node.shutdown()  # stop the inference thread before the executor and publishers go
            executor.shutdown()
        return 0
    except (KeyboardInterrupt, ExternalShutdownException):
        return 0
    finally:
        interrupt.seen = True
        if node is not None:
            node.shutdown()
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    sys.exit(main())
