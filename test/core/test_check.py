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
"""~/check: a verdict over the next fresh frames captured after the call (core/check.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import itertools
import threading
import time

from grasp_classifier_ros.core.check import CheckCollector, CLOCK_NOT_STARTED, STALL_MIN_S
import pytest

S = 1_000_000_000
MS = 1_000_000


@dataclass
class R:
    status: str
    stamp_ns: int
    receive_ns: int
    success_probability: float | None


def ticking(start_ns: int, step_ns: int = MS) -> Iterator[int]:
    """Return a node clock that moves ``step_ns`` every time it is read."""
    return itertools.count(start_ns, step_ns)


def test_check_uses_only_frames_after_the_call():
    c = CheckCollector()
    req = c.request(k=2, timeout_s=1.0, now_ns=10 * S, threshold=0.6)
    c.offer(R('ok', 10 * S - 1, 10 * S, 0.0))  # captured before the call: ignored
    c.offer(R('stale', 10 * S + 1, 10 * S, None))
    c.offer(R('ok', 10 * S + 2, 10 * S, 0.7))
    assert not req.done
    c.offer(R('ok', 10 * S + 3, 10 * S, 0.6))
    assert req.done and c.pending == 0
    out = req.outcome()
    assert out.success is True and out.frames_used == 2
    assert out.mean_probability == pytest.approx(0.65)
    assert out.message == (
        'grasp holds: confidence 0.650 over 2 frames (threshold 0.600) '
        '(1 stale frames ignored; 1 frames captured before the call ignored)'
    )


def test_check_failure_and_timeouts():
    c = CheckCollector()
    req = c.request(k=1, timeout_s=0.01, now_ns=S, threshold=0.5)
    c.offer(R('ok', S, S, 0.2))
    out = req.outcome()
    assert (out.success, out.frames_used) == (False, 1)
    assert out.message.startswith('grasp failed: confidence 0.200 over 1 frames')
    clock = ticking(S)
    none = c.run_check(3, 0.01, clock.__next__, 0.5, poll_s=0)
    assert none.success is False and none.frames_used == 0
    assert none.message == 'no verdict: no fresh frames within 0.01 s'
    assert c.pending == 0
    part = c.request(k=3, timeout_s=0.01, now_ns=S, threshold=0.5)
    c.offer(R('ok', 2 * S, 2 * S, 0.9))
    out = part.wait(ticking(S).__next__, poll_s=0)
    assert out.success is False and out.mean_probability is None
    assert out.message == 'no verdict: timeout: only 1 of 3 fresh frames within 0.01 s'


def test_check_unstamped_frames_use_receive_time():
    c = CheckCollector()
    req = c.request(k=1, timeout_s=1.0, now_ns=5 * S, threshold=0.5)
    c.offer(R('ok', 0, 4 * S, 0.9))  # received before the call
    assert not req.done
    c.offer(R('ok', 0, 6 * S, 0.9))
    assert req.done and req.outcome().success


def test_check_wakes_a_waiting_thread():
    c = CheckCollector()
    out = {}

    def caller():
        out['r'] = c.run_check(1, 5.0, lambda: S, 0.5)  # the clock stands still: no timeout

    th = threading.Thread(target=caller)
    th.start()
    while c.pending == 0:
        time.sleep(0.001)
    c.offer(R('ok', 2 * S, 2 * S, 0.8))
    th.join(5.0)
    assert out['r'].success and out['r'].frames_used == 1


# -- the node clock: sim time, a stopped /clock, a clock at 0 (issue 18 items 6 and 8) ----------


def test_the_timeout_runs_on_the_node_clock_not_the_wall_clock():
    # A simulation at a fifth of real time: 1 s of check_timeout takes 5 s of wall time.
    c = CheckCollector()
    req = c.request(k=3, timeout_s=1.0, now_ns=100 * S, threshold=0.5)
    for i in range(50):  # the node clock moves 20 ms per 100 ms of wall time
        assert req.poll(100 * S + i * 20 * MS, i * 100 * MS) is False
    assert req.poll(101 * S, 5 * S) is True
    assert req.outcome().message == 'no verdict: no fresh frames within 1 s'


@pytest.mark.parametrize(('timeout_s', 'stall_s'), [(0.3, STALL_MIN_S), (2.5, 2.5)])
def test_a_node_clock_that_stands_still_ends_the_wait(timeout_s, stall_s):
    c = CheckCollector()
    req = c.request(k=3, timeout_s=timeout_s, now_ns=100 * S, threshold=0.5)
    c.offer(R('ok', 100 * S, 100 * S, 0.9))
    assert req.poll(100 * S, 0) is False
    assert req.poll(100 * S + MS, 10 * S) is False  # it moved: the wall time starts again
    assert req.poll(100 * S + MS, 10 * S + round(stall_s * S) - 1) is False
    assert req.poll(100 * S + MS, 10 * S + round(stall_s * S)) is True
    assert req.outcome().message == (
        f'no verdict: only 1 of 3 fresh frames: the node clock stood still for {stall_s:g} s '
        '(use_sim_time: is /clock still published?)'
    )


def test_a_check_before_the_first_clock_message_is_answered_at_once():
    c = CheckCollector()
    out = c.run_check(3, 60.0, lambda: 0, 0.5)
    assert (out.success, out.frames_used, out.message) == (False, 0, CLOCK_NOT_STARTED)
    assert out.message.startswith('no verdict: ') and c.pending == 0


# -- clock jumps (issue 18 item 1) ----------------------------------------------------------------


def test_a_clock_jump_back_restarts_the_collection_with_the_time_left():
    c = CheckCollector()
    req = c.request(k=2, timeout_s=1.0, now_ns=100 * S, threshold=0.5)
    c.offer(R('ok', 100 * S + 100 * MS, 0, 0.1))  # the old timeline: dropped at the jump
    c.offer(R('stale', 100 * S + 200 * MS, 0, None))
    # The bag looped at 100.4 s back to 20 s: 0.6 s of the wait are left.
    c.restart(20 * S, 100 * S + 400 * MS)
    assert (req.since_ns, req.deadline_ns) == (20 * S, 20 * S + 600 * MS)
    assert req.poll(20 * S, 0) is False
    c.offer(R('ok', 20 * S + 50 * MS, 0, 0.9))
    c.offer(R('ok', 20 * S + 100 * MS, 0, 0.8))
    assert req.done
    assert req.outcome().message == (
        'grasp holds: confidence 0.850 over 2 frames (threshold 0.500) '
        '(restarted once: the node clock jumped back)'
    )


def test_a_jump_back_nobody_reported_restarts_the_collection_too():
    c = CheckCollector()
    req = c.request(k=2, timeout_s=1.0, now_ns=100 * S, threshold=0.5)
    c.offer(R('ok', 100 * S + MS, 0, 0.2))
    assert req.poll(100 * S + 300 * MS, 0) is False
    # The clock went back, unannounced (a system clock step): 0.7 s were left at the last
    # reading, and the frame of the old timeline is dropped.
    assert req.poll(7 * S, MS) is False
    assert (req.since_ns, req.deadline_ns, req.clock_jumps) == (7 * S, 7 * S + 700 * MS, 1)
    assert req.probabilities == []
    assert req.poll(7 * S + 700 * MS, 2 * MS) is True
    assert req.outcome().message == (
        'no verdict: no fresh frames within 1 s (restarted once: the node clock jumped back)'
    )


# -- frames captured before the call (issue 18 item 3) ------------------------------------------


def test_frames_captured_before_the_call_are_counted_and_a_clock_offset_is_named():
    # A bag's old stamps against a node on wall time (max_frame_age 0: nothing else rejects
    # them): every frame predates the call, by far more than a frame in flight would.
    c = CheckCollector()
    call = 1_700_000_000 * S
    req = c.request(k=3, timeout_s=1.0, now_ns=call, threshold=0.5)
    for i in range(3):
        c.offer(R('ok', 100 * S + i * 33 * MS, call + i * 33 * MS, 0.9))
    assert req.poll(call + S, 0) is True
    assert req.outcome().message == (
        'no verdict: no fresh frames within 1 s (3 frames captured before the call ignored, '
        'the newest 1.7e+09 s before it: are the camera and the node on different clocks? '
        '(use_sim_time:=true with ros2 bag play --clock))'
    )


def test_a_frame_in_flight_at_the_call_is_counted_without_a_clock_hint():
    c = CheckCollector()
    req = c.request(k=1, timeout_s=1.0, now_ns=100 * S, threshold=0.5)
    c.offer(R('ok', 100 * S - 30 * MS, 100 * S + MS, 0.9))  # captured 30 ms before the call
    c.offer(R('out_of_order', 100 * S - 40 * MS, 100 * S + MS, None))
    assert req.poll(101 * S, 0) is True
    assert req.outcome().message == (
        'no verdict: no fresh frames within 1 s (2 frames captured before the call ignored)'
    )
