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
The node under sim time, as ``ros2 bag play --loop --clock`` and simulators drive it (issue 18).

The tests drive /clock themselves (``node_harness.SimClock``, 100 Hz, starting at 1000 s: far
from the wall clock, so a frame judged against the wall clock would be stale or future) and
run the staleness guard at its default ``max_frame_age``. Covered: verdicts under sim time;
a loop (clock and stamps restart earlier) after which verdicts resume within the loop's first
second and ``~/check`` gives a verdict, one call even pending across the jump; a model reload
that keeps sim time flowing; a jump of the frame stamps without /clock; the node before the
first /clock message. Runs where ROS 2 is sourced (``make ros-test``); skips elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
import re
import time
from typing import Any

import pytest

try:
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from grasp_classifier_ros.core import params as param_specs
    from grasp_classifier_ros.core.check import CLOCK_NOT_STARTED
    from grasp_classifier_ros.ros.health import WAITING_FOR_CLOCK
    from model_factory import SlowModel, write_model
    from node_harness import BRIGHT, Harness, ros, SimClock, TIMEOUT, wait_for
    from rcl_interfaces.msg import Log
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter
    from std_srvs.srv import Trigger
    from vision_msgs.msg import Classification
except ImportError as exc:  # not where ROS 2 is sourced
    pytest.skip(
        f'ROS 2 (rclpy) not installed ({exc}): make ros-test runs these', allow_module_level=True
    )

__all__ = ['Harness', 'ros']  # the fixture is used by name
S = 1_000_000_000
MS = 1_000_000
SIM_T0 = 1_000 * S  # where the simulated clock starts (and a bag loop comes back to)
DEFAULT_MAX_AGE = param_specs.SPECS['max_frame_age'].default
CAMERA_DELAY_NS = 30 * MS  # frames are stamped this long before they are published
PERIOD_S = 1 / 15  # a 15 Hz camera


@pytest.fixture
def sim(ros) -> Iterator[SimClock]:
    clock = SimClock(ros, SIM_T0)
    try:
        yield clock
    finally:
        clock.stop()  # before the harness closes the helper node


def start(ros, **values: Any) -> Any:
    """Start the node on sim time with the default staleness guard; wait for its clock."""
    assert DEFAULT_MAX_AGE > 0
    node = ros.start(sim_time=True, max_frame_age=DEFAULT_MAX_AGE, **values)
    wait_for(lambda: node.now_ns() >= SIM_T0, what='the node clock to follow /clock')
    return node


def camera(ros, sim: SimClock) -> Any:
    """Return ``publish()``: one bright frame stamped by the simulated clock; its stamp."""
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0, what='node subscription')

    def publish() -> int:
        stamp = sim.now_ns() - CAMERA_DELAY_NS
        pub.publish(ros.frame(BRIGHT, stamp_ns=stamp))
        return stamp

    return publish


def publish_for(publish, seconds: float) -> list[int]:
    """Publish at 15 Hz for ``seconds`` of wall (= simulated) time; return the stamps."""
    stamps = []
    for _ in range(round(seconds / PERIOD_S)):
        stamps.append(publish())
        time.sleep(PERIOD_S)
    return stamps


def publish_until(publish, done, what: str) -> Any:
    """Publish at 15 Hz until ``done()`` is truthy; fail after the harness's TIMEOUT."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        publish()
        value = done()
        if value:
            return value
        time.sleep(PERIOD_S)
    pytest.fail(f'timed out after {TIMEOUT} s publishing frames, waiting for {what}')


def stamp_ns(msg: Any) -> int:
    return msg.header.stamp.sec * S + msg.header.stamp.nanosec


def logged(logs: list, text: str) -> list[str]:
    return [m.msg for m in logs if text in m.msg]


def test_verdicts_under_sim_time_with_the_default_staleness_guard(ros, sim) -> None:
    node = start(ros)
    results = ros.listen(Classification, 'grasp/result')
    publish = camera(ros, sim)
    sent = set(publish_for(publish, 1.0))
    wait_for(lambda: len(results) >= 5, what='5 results')
    assert {stamp_ns(r) for r in results} <= sent  # sim-time stamps, judged fresh
    assert all(SIM_T0 - CAMERA_DELAY_NS <= stamp_ns(r) < SIM_T0 + 600 * S for r in results)
    # The guard runs against the node's clock, i.e. sim time: a frame stamped with the wall
    # clock is 1.7e9 s in the future of it.
    counts = node.pipeline.stats.counts
    wall = ros.image_publisher()
    wait_for(lambda: wall.get_subscription_count() > 0, what='second publisher matched')
    ros.publish_until(wall, BRIGHT, lambda: counts.get('future', 0) >= 1)
    assert counts.get('stale', 0) == 0


def test_a_bag_loop_restarts_the_stream_and_check_answers(ros, sim) -> None:
    node = start(ros, check_frames=3, check_timeout=3.0)
    results = ros.listen(Classification, 'grasp/result')
    logs = ros.listen(Log, '/rosout')
    publish = camera(ros, sim)
    publish_for(publish, 2.0)
    wait_for(lambda: len(results) >= 5, what='results before the loop')
    # ~/check called at the loop's end, before any frame of the next loop: pending across it
    client = ros.helper.create_client(Trigger, f'{ros.ns}/grasp_classifier/check')
    assert client.wait_for_service(timeout_sec=TIMEOUT)
    pending = client.call_async(Trigger.Request())
    wait_for(lambda: node.pipeline.check.pending == 1, what='~/check waiting for frames')
    # The loop: /clock and the frame stamps start again at the bag's start.
    sim.jump(SIM_T0)
    first_second = set(publish_for(publish, 1.0))
    wait_for(
        lambda: any(stamp_ns(r) in first_second for r in results),
        what="a verdict on a frame of the loop's first second",
    )
    answer = wait_for(lambda: pending.done() and pending.result(), what='the pending ~/check')
    assert answer.success is True, answer.message
    assert answer.message.startswith('grasp holds: confidence ')
    # (the first frame of the loop, stamped just before the clock's new start, may show as
    # captured before the call)
    assert 'restarted once: the node clock jumped back)' in answer.message, answer.message
    jumped = wait_for(lambda: logged(logs, 'the node clock jumped back'), what='the jump log')
    assert jumped[0].endswith('pending ~/check frames and input rate cleared)'), jumped
    assert len(jumped) == 1 and node.pipeline.stats.restarts == 2  # activation + the loop
    # A new call after the loop gets a verdict too.
    fresh = client.call_async(Trigger.Request())
    publish_until(publish, fresh.done, 'a ~/check answer after the loop')
    assert fresh.result().message.startswith('grasp holds: confidence '), fresh.result().message
    assert node.pipeline.stats.counts.get('out_of_order', 0) == 0


def test_a_model_reload_keeps_sim_time_flowing(ros, sim, tmp_path) -> None:
    node = start(ros, warmup_runs=3)
    results = ros.listen(Classification, 'grasp/result')
    arrays = ros.listen(DiagnosticArray, '/diagnostics')
    publish = camera(ros, sim)
    publish_until(publish, lambda: results, 'results before the reload')
    slow = write_model(tmp_path / 'slow.pt', SlowModel())  # ~1 s a run: 4 runs to load
    client = ros.helper.create_client(SetParameters, f'{ros.ns}/grasp_classifier/set_parameters')
    check = ros.helper.create_client(Trigger, f'{ros.ns}/grasp_classifier/check')
    assert client.wait_for_service(timeout_sec=10) and check.wait_for_service(timeout_sec=10)
    request = SetParameters.Request(
        parameters=[Parameter('model_path', value=str(slow)).to_parameter_msg()]
    )
    before, arrays_before, futures_before = len(results), len(arrays), future_count(node)
    clock_before = node.now_ns()
    start_s = time.monotonic()
    future = client.call_async(request)
    answered: list[float] = []
    check_future = check.call_async(Trigger.Request())
    check_future.add_done_callback(lambda _: answered.append(time.monotonic()))
    clock_during: list[int] = []
    while not future.done():
        publish()
        clock_during.append(node.now_ns())
        time.sleep(0.02)
    reload_s = time.monotonic() - start_s
    assert future.result().results[0].successful, future.result().results[0].reason
    assert reload_s > 2.0, f'the reload took only {reload_s:.2f} s: too short to tell'
    # Sim time kept flowing at the node while the parameter callback loaded the model: its
    # clock advanced (before the fix it stood still at the reload's start) ...
    advanced_s = (clock_during[-1] - clock_before) / S
    assert advanced_s > reload_s / 2, (advanced_s, reload_s)
    # ... so the frames, stamped by sim time, stayed fresh and were classified ...
    during = len(results) - before
    assert during >= 10 * reload_s, f'{during} results during a {reload_s:.1f} s reload'
    assert future_count(node) - futures_before < during, 'frames turned future'
    # ... diagnostics kept their 1 Hz, and ~/check was answered long before the reload ended.
    assert len(arrays) - arrays_before >= int(reload_s) - 1, (len(arrays), arrays_before)
    assert answered and answered[0] - start_s < reload_s - 1.0, (answered, reload_s)
    assert check_future.result().message.startswith('grasp holds'), check_future.result()


def future_count(node) -> int:
    return node.pipeline.stats.counts.get('future', 0)


def test_a_stamp_jump_without_clock_starts_a_new_stream(ros) -> None:
    # A camera that restarts its own clock, or a bag looping without /clock; the node runs on
    # the wall clock and max_frame_age 0 (stamps on another clock cannot be judged fresh).
    node = ros.start()  # the harness's default: max_frame_age 0
    results = ros.listen(Classification, 'grasp/result')
    logs = ros.listen(Log, '/rosout')
    pub = ros.image_publisher()
    wait_for(lambda: pub.get_subscription_count() > 0, what='node subscription')
    ros.publish_until(pub, BRIGHT, lambda: len(results) >= 3)
    last = max(stamp_ns(r) for r in results)
    restarted = last - 100 * S  # the camera counts from its restart
    sent: set[int] = set()

    def after_the_jump() -> bool:
        return any(stamp_ns(r) in sent for r in results)

    i = 0
    while not after_the_jump():
        assert i < round(TIMEOUT / 0.02), 'no verdict after the stamps jumped back'
        stamp = restarted + i * 20 * MS
        sent.add(stamp)
        pub.publish(ros.frame(BRIGHT, stamp_ns=stamp))
        i += 1
        time.sleep(0.02)
    line = wait_for(lambda: logged(logs, 'frame stamps jumped back'), what='the new-stream log')
    back = re.fullmatch(r'frame stamps jumped back (\d+\.\d{3}) s \(a camera restart.*', line[0])
    assert back and 100.0 <= float(back.group(1)) < 101.0, line  # + frames still in flight
    assert node.pipeline.stats.counts.get('out_of_order', 0) <= 1  # a frame in flight at most


def test_before_the_first_clock_message_diagnostics_say_so_and_check_answers(ros) -> None:
    ros.start(sim_time=True, max_frame_age=DEFAULT_MAX_AGE)  # nothing publishes its /clock
    arrays = ros.listen(DiagnosticArray, '/diagnostics')

    def waiting() -> Any:
        for array in arrays:
            for status in array.status:
                if status.name == f'{ros.ns}/grasp_classifier: grasp classifier':
                    return status
        return None

    status = wait_for(waiting, what='diagnostics before the first /clock message')
    assert (status.level, status.message) == (DiagnosticStatus.ERROR, WAITING_FOR_CLOCK)
    client = ros.helper.create_client(Trigger, f'{ros.ns}/grasp_classifier/check')
    assert client.wait_for_service(timeout_sec=TIMEOUT)
    future = client.call_async(Trigger.Request())
    answer = wait_for(lambda: future.done() and future.result(), what='the ~/check answer')
    assert (answer.success, answer.message) == (False, CLOCK_NOT_STARTED)
