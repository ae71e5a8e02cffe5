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
The in-process harness of the node tests: node under test + helper node + executor thread.

Each harness has its own rclpy context, a unique namespace (so topics of different tests
never meet) and a MultiThreadedExecutor spinning the node under test plus a helper node on a
background thread. The default model is the closed-form ``BrightnessModel``
(test/model_factory.py). ``start(sim_time=True)`` runs the node with ``use_sim_time`` on the
harness's own /clock topic (remapped into its namespace, so tests never share a clock), which
a ``SimClock`` drives as ``ros2 bag play --clock`` does. Import only where rclpy is importable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
import threading
import time
from typing import Any
import uuid

from grasp_classifier_ros.ros.adapter import (
    ClassifierAdapter,
    EXECUTOR_THREADS,
    make_node,
)
from grasp_classifier_ros.ros.conversions import bgr8_image_msg
from model_factory import write_model
import numpy as np
import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image
from std_msgs.msg import Header

TIMEOUT = 15.0
BRIGHT, DARK = 230, 20  # success probability ~0.98 / ~0.02
LATCHED = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)


def wait_for(predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = '') -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    pytest.fail(f'timed out after {timeout} s waiting for {what or predicate}')


class Harness:
    """Node under test + helper node + executor thread, in a private context."""

    def __init__(self, tmp_path: Path) -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        self.ns = '/t' + uuid.uuid4().hex[:10]
        self.clock_topic = f'{self.ns}/clock'  # the node's /clock when started with sim_time
        self.model = write_model(tmp_path / 'model.pt')
        self.node: Any = None  # GraspClassifierNode or GraspClassifierLifecycleNode
        self.helper = Node('helper', namespace=self.ns, context=self.context)
        # the node's threads (as main runs it) + 2 for the helper node
        self.executor = MultiThreadedExecutor(
            num_threads=EXECUTOR_THREADS + 2, context=self.context
        )
        self.executor.add_node(self.helper)
        self._spinning = threading.Event()
        self._spinning.set()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()
        self._stamp_ns = 0
        self.inbox: dict[str, list[Any]] = {}
        self.sent: list[Any] = []

    # -- setup -------------------------------------------------------------------------------

    def overrides(self, **values: Any) -> list[Parameter]:
        base = {
            'model_path': str(self.model),
            'device': 'cpu',
            'warmup_runs': 0,
            'image_topic': 'camera/image_raw',
            'smoothing': 'none',
            'max_frame_age': 0.0,  # no wall-clock freshness: tests never race the clock
        }
        base.update(values)
        return [Parameter(name, value=value) for name, value in base.items()]

    def start(self, lifecycle: bool = False, sim_time: bool = False, **values: Any) -> Any:
        """
        Start the node under test (``lifecycle``: the managed one, unconfigured).

        ``sim_time``: with ``use_sim_time`` and /clock remapped to ``clock_topic``.
        """
        extra: dict[str, Any] = {}
        if sim_time:
            values['use_sim_time'] = True
            extra['cli_args'] = ['--ros-args', '-r', f'/clock:={self.clock_topic}']
        node: ClassifierAdapter = make_node(
            lifecycle,
            context=self.context,
            namespace=self.ns,
            parameter_overrides=self.overrides(**values),
            **extra,
        )
        self.node = node
        self.executor.add_node(node)
        return node

    def listen(self, msg_type: Any, topic: str, qos: QoSProfile | int = 10) -> list[Any]:
        box: list[Any] = []
        self.inbox[topic] = box
        self.helper.create_subscription(msg_type, topic, box.append, qos)
        return box

    def image_publisher(self, reliability: ReliabilityPolicy = ReliabilityPolicy.RELIABLE) -> Any:
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5, reliability=reliability)
        return self.helper.create_publisher(Image, 'camera/image_raw', qos)

    # -- frames ------------------------------------------------------------------------------

    def frame(
        self,
        value: int,
        frame_id: str = 'hand_cam',
        size: tuple[int, int] = (48, 64),
        stamp_ns: int | None = None,
    ):
        """Return a flat frame; stamped ``stamp_ns``, else the wall clock, always increasing."""
        if stamp_ns is None:
            now = self.helper.get_clock().now().nanoseconds
            self._stamp_ns = max(self._stamp_ns + 1_000_000, now)
        else:
            self._stamp_ns = stamp_ns
        header = Header(frame_id=frame_id)
        header.stamp.sec, header.stamp.nanosec = divmod(self._stamp_ns, 1_000_000_000)
        pixels = np.full((*size, 3), value, np.uint8)
        return bgr8_image_msg(Image, header, pixels)

    def publish_until(
        self, publisher: Any, value: int, done: Callable[[], Any], frame_id: str = 'hand_cam'
    ) -> Any:
        """Publish frames (20 ms apart) until ``done`` is truthy; the sent ones go to ``sent``."""
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            msg = self.frame(value, frame_id=frame_id)
            self.sent.append(msg)
            publisher.publish(msg)
            result = done()
            if result:
                return result
            time.sleep(0.02)
        pytest.fail(f'no result after publishing for {TIMEOUT} s')

    def _spin(self) -> None:
        while self._spinning.is_set() and self.context.ok():
            self.executor.spin_once(timeout_sec=0.05)

    def close(self) -> None:
        if self.node is not None:
            self.node.shutdown()  # stop the inference thread before its publishers go
        # Stop spinning and join the thread before shutting the executor down: shutting it
        # down under a spinning thread raised InvalidHandle ("destruction was requested").
        self._spinning.clear()
        self._thread.join(5.0)
        assert not self._thread.is_alive(), 'executor thread did not stop'
        self.executor.shutdown()
        if self.node is not None:
            self.node.destroy_node()
        self.helper.destroy_node()
        rclpy.try_shutdown(context=self.context)


class SimClock:
    """
    Simulated time on the harness's clock topic, as ``ros2 bag play --clock`` publishes it.

    Runs at the wall clock's pace from ``start_ns``, published at ``rate_hz`` from a thread;
    ``jump(to_ns)`` sets it (a bag loop, a simulation reset) and publishes at once.
    """

    def __init__(self, harness: Harness, start_ns: int, rate_hz: float = 100.0) -> None:
        self._publisher = harness.helper.create_publisher(Clock, harness.clock_topic, 10)
        self._lock = threading.Lock()
        self._base_ns, self._wall_ns = start_ns, time.monotonic_ns()
        self._period = 1.0 / rate_hz
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now_ns(self) -> int:
        with self._lock:
            return self._now_ns()

    def _now_ns(self) -> int:
        return self._base_ns + time.monotonic_ns() - self._wall_ns

    def jump(self, to_ns: int) -> None:
        with self._lock:
            self._base_ns, self._wall_ns = to_ns, time.monotonic_ns()
            self._publish_locked()

    def _publish(self) -> None:
        with self._lock:  # read and publish together: /clock never goes back by accident
            self._publish_locked()

    def _publish_locked(self) -> None:
        msg = Clock()
        msg.clock.sec, msg.clock.nanosec = divmod(self._now_ns(), 1_000_000_000)
        self._publisher.publish(msg)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self._publish()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)


@pytest.fixture
def ros(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()
