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
Helpers of the real-ROS tests in test/ros: a probe node, demo-bag frames, ``ros2 launch``.

Importable without ROS: ``SKIP_REASON`` then names what is missing and the tests skip with
it (``make ros-test`` counts such a skip as a failure). Frames are the demo bag's synthetic
JPEGs (data/demo/grasp_demo); the expected scores come from the same ``Pipeline`` the node
runs, loaded here with the same model and parameters, so the node's outputs are checked
exactly rather than against the model's accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any
import uuid

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEMO_BAG = REPO / 'data' / 'demo' / 'grasp_demo'
DEMO_TOPIC = '/camera/image_raw/compressed'
TIMEOUT = 30.0  # generous: a node start loads torch, and the machine may be busy
NS = 1_000_000_000

try:
    from ament_index_python.packages import get_package_share_directory
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import CompressedImage, Image
    from std_msgs.msg import Header

    SHARE = Path(get_package_share_directory('grasp_classifier_ros'))
    SKIP_REASON = ''
except ImportError as exc:
    SKIP_REASON = f'ROS 2 is not available ({exc}): `make ros-test` runs these tests'
except LookupError:
    SKIP_REASON = (
        'grasp_classifier_ros is not installed in a sourced colcon workspace: '
        '`make ros-test` builds and runs it'
    )


def wait_for(predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = '') -> Any:
    """
    Poll ``predicate`` until it returns something truthy; AssertionError after ``timeout``.

    AssertionError rather than pytest.fail: launch_testing runs its cases with unittest.
    """
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f'timed out after {timeout:g} s waiting for {what or predicate}')


class Probe:
    """A test node in its own rclpy context, spun by an executor on a background thread."""

    def __init__(self, name: str = 'probe') -> None:
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = Node(f'{name}_{uuid.uuid4().hex[:8]}', context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=2, context=self.context)
        self.executor.add_node(self.node)
        self._spinning = threading.Event()
        self._spinning.set()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self._spinning.is_set() and self.context.ok():
            self.executor.spin_once(timeout_sec=0.05)

    def listen(self, msg_type: Any, topic: str, qos: Any = 10) -> list[Any]:
        """Subscribe ``topic``; return the list the messages are appended to."""
        box: list[Any] = []
        self.node.create_subscription(msg_type, topic, box.append, qos)
        return box

    def call(self, srv_type: Any, name: str, request: Any, timeout: float = TIMEOUT) -> Any:
        client = self.node.create_client(srv_type, name)
        try:
            if not client.wait_for_service(timeout_sec=timeout):
                raise AssertionError(f'service {name} not available within {timeout:g} s')
            future = client.call_async(request)
            return wait_for(future.done, timeout, f'{name} response') and future.result()
        finally:
            self.node.destroy_client(client)

    def now_ns(self) -> int:
        return int(self.node.get_clock().now().nanoseconds)

    def close(self) -> None:
        self._spinning.clear()
        self._thread.join(5.0)
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


# -- frames -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One demo frame: the JPEG as recorded and its decoded BGR pixels."""

    jpeg: bytes
    pixels: np.ndarray


@lru_cache(maxsize=1)
def demo_frames() -> tuple[Frame, ...]:
    """Return the demo bag's 600 frames (synthetic renderer; never ../shared images)."""
    import cv2
    from grasp_classifier_ros.bag.io import BagReader

    frames = []
    with BagReader(DEMO_BAG) as bag:
        for item in bag.messages([DEMO_TOPIC]):
            jpeg = bytes(item.msg.data)
            pixels = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            frames.append(Frame(jpeg, pixels))
    return tuple(frames)


def header(stamp_ns: int, frame_id: str = 'hand_camera') -> Any:
    sec, nanosec = divmod(stamp_ns, NS)
    hdr = Header(frame_id=frame_id)
    hdr.stamp.sec, hdr.stamp.nanosec = sec, nanosec
    return hdr


def image_msg(frame: Frame, stamp_ns: int, frame_id: str = 'hand_camera') -> Any:
    from grasp_classifier_ros.ros.conversions import bgr8_image_msg

    return bgr8_image_msg(Image, header(stamp_ns, frame_id), frame.pixels)


def compressed_msg(frame: Frame, stamp_ns: int, frame_id: str = 'hand_camera') -> Any:
    msg = CompressedImage(header=header(stamp_ns, frame_id), format='jpeg')
    msg.data = frame.jpeg
    return msg


def stamp_of(hdr: Any) -> tuple[int, int, str]:
    return (int(hdr.stamp.sec), int(hdr.stamp.nanosec), str(hdr.frame_id))


class Reference:
    """The node's pipeline, run here on the same frames: the exact scores to expect."""

    def __init__(self, compressed: bool = False, model_path: str = '') -> None:
        from grasp_classifier_ros.core.configure import build_pipeline
        from grasp_classifier_ros.core.params import validate_all

        params = validate_all(
            {
                'model_path': model_path,
                'device': 'cpu',
                'compressed': compressed,
                'max_frame_age': 0.0,
                'smoothing': 'none',
                'warmup_runs': 0,
            }
        )
        self.compressed = compressed
        self.pipeline = build_pipeline(params)
        self.class_names = list(self.pipeline.metadata.class_names)
        self.success_index = self.pipeline.metadata.success_index
        self.threshold = float(self.pipeline.threshold)
        self._stamp_ns = 0

    def scores(self, frame: Frame) -> list[float]:
        """Class probabilities the node must publish for ``frame``."""
        self._stamp_ns += 1  # stamps must increase (out-of-order frames are refused)
        stamp = self._stamp_ns
        msg = compressed_msg(frame, stamp) if self.compressed else image_msg(frame, stamp)
        result = self.pipeline.process(msg, now_ns=stamp)
        assert result.probabilities is not None, result.error
        return [float(p) for p in result.probabilities]

    def clear_frames(self, n: int = 8) -> tuple[list[Frame], list[Frame]]:
        """
        Return the ``n`` demo frames most clearly held and the ``n`` most clearly failed.

        Chosen by this model's own scores, so a retrained shipped model keeps the test
        meaningful; fails if the model does not separate them around its threshold.
        """
        frames = demo_frames()
        p = np.array([self.scores(f)[self.success_index] for f in frames[::5]])
        order = np.argsort(p)
        low, high = order[:n], order[-n:]
        margin = 0.05  # the default hysteresis
        assert p[high].min() >= self.threshold + margin, (p[high], self.threshold)
        assert p[low].max() <= self.threshold - margin, (p[low], self.threshold)
        pick = frames[::5]
        return [pick[i] for i in high], [pick[i] for i in low]


# -- ros2 launch ------------------------------------------------------------------------------

# exec argv with SIGINT at its default: an ignored SIGINT survives exec, a handler does not
_SIGINT_DEFAULT_EXEC = (
    'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); '
    'os.execvp(sys.argv[1], sys.argv[1:])'
)


def spawn_like_a_terminal(argv: list[str], **popen: Any) -> subprocess.Popen:
    """
    Start ``argv`` as a terminal starts a command: its own process group, SIGINT at default.

    The test run may have inherited an ignored SIGINT (background jobs of non-interactive
    shells, some CI runners); ignored signals stay ignored across exec, and a Python that
    starts with SIGINT ignored (``ros2 launch``) never installs its handler, so it would
    ignore Ctrl-C. Resetting it in the child (a Python shim that execs ``argv``; no
    ``preexec_fn``, which is unsafe with threads) makes ``sigint`` mean what it does in a
    terminal, whatever the test run's disposition. The pid is ``argv``'s (exec keeps it).
    """
    return subprocess.Popen(
        [sys.executable, '-c', _SIGINT_DEFAULT_EXEC, *argv], start_new_session=True, **popen
    )


class Launch:
    """
    ``ros2 launch grasp_classifier_ros classify.launch.py ARGS`` as a user types it.

    It runs in its own process group with SIGINT at its default (``spawn_like_a_terminal``),
    so ``sigint(group=True)`` is a terminal's Ctrl-C (SIGINT to ``ros2 launch`` and the node
    together). Output goes to a file, read back with ``output()``.
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self._log = tempfile.NamedTemporaryFile(  # closed in close()
            prefix='ros2_launch_', suffix='.log', delete=False
        )
        self.proc = spawn_like_a_terminal(
            ['ros2', 'launch', 'grasp_classifier_ros', 'classify.launch.py', *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def output(self) -> str:
        return Path(self._log.name).read_text(errors='replace')

    def wait_for_output(self, text: str, timeout: float = TIMEOUT) -> bool:
        """Wait until ``text`` appears in the output; False if the launch exits first."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.output():
                return True
            if self.proc.poll() is not None:
                return text in self.output()
            time.sleep(0.05)
        return False

    def wait_ready(self, timeout: float = TIMEOUT) -> None:
        """Wait for the node's start line ("classifying '<topic>' ...")."""
        if not self.wait_for_output("classifying '", timeout):
            raise AssertionError(f'node did not start ({self.args}):\n{self.output()}')

    def sigint(self, group: bool = False) -> None:
        if group:
            os.killpg(self.proc.pid, signal.SIGINT)
        else:
            self.proc.send_signal(signal.SIGINT)

    def wait(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f'ros2 launch still running after {timeout:g} s') from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)

    def close(self) -> None:
        """Stop it (one SIGINT, then SIGKILL) and remove the log file."""
        if self.proc.poll() is None:
            self.sigint()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)


def env_without_pydeps() -> dict[str, str]:
    """Return this environment minus the venv that provides torch/OpenCV (tools/ros/test.sh)."""
    env = dict(os.environ)
    parts = env.get('PYTHONPATH', '').split(os.pathsep)
    env['PYTHONPATH'] = os.pathsep.join(p for p in parts if '/pydeps-' not in p)
    return env


def publish_until(
    publish: Callable[[int], None], done: Callable[[], Any], what: str, period: float = 0.03
) -> Any:
    """Call ``publish(i)`` every ``period`` s until ``done()`` is truthy."""
    end = time.monotonic() + TIMEOUT
    i = 0
    while time.monotonic() < end:
        publish(i)
        i += 1
        value = done()
        if value:
            return value
        time.sleep(period)
    raise AssertionError(f'timed out after {TIMEOUT:g} s publishing frames, waiting for {what}')


def cycle(items: list[Any]) -> Iterator[Any]:
    while True:
        yield from items
