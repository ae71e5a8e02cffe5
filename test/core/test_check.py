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

from dataclasses import dataclass
import threading

from grasp_classifier_ros.core.check import CheckCollector
import pytest

S = 1_000_000_000


@dataclass
class R:
    status: str
    stamp_ns: int
    receive_ns: int
    success_probability: float | None


def test_check_uses_only_frames_after_the_call():
    c = CheckCollector()
    req = c.request(k=2, timeout_s=1.0, now_ns=10 * S, threshold=0.6)
    c.offer(R('ok', 10 * S - 1, 10 * S, 0.0))  # captured before the call: ignored
    c.offer(R('stale', 10 * S + 1, 10 * S, None))
    c.offer(R('ok', 10 * S + 2, 10 * S, 0.7))
    assert not req.done
    c.offer(R('ok', 10 * S + 3, 10 * S, 0.6))
    assert req.done and c.pending == 0
    out = req.wait()
    assert out.success is True and out.frames_used == 2
    assert out.mean_probability == pytest.approx(0.65)
    assert out.message == (
        'grasp holds: confidence 0.650 over 2 frames (threshold 0.600) (1 stale frames ignored)'
    )


def test_check_failure_and_timeouts():
    c = CheckCollector()
    req = c.request(k=1, timeout_s=0.01, now_ns=S, threshold=0.5)
    c.offer(R('ok', S, S, 0.2))
    out = req.wait()
    assert (out.success, out.frames_used) == (False, 1)
    assert out.message.startswith('grasp failed: confidence 0.200 over 1 frames')
    none = c.run_check(k=3, timeout_s=0.01, now_ns=S, threshold=0.5)
    assert none.success is False and none.frames_used == 0
    assert none.message == 'no verdict: no fresh frames within 0.01 s'
    assert c.pending == 0
    part = c.request(k=3, timeout_s=0.01, now_ns=S, threshold=0.5)
    c.offer(R('ok', 2 * S, 2 * S, 0.9))
    out = part.wait()
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
        out['r'] = c.run_check(k=1, timeout_s=5.0, now_ns=S, threshold=0.5)

    th = threading.Thread(target=caller)
    th.start()
    while c.pending == 0:
        pass
    c.offer(R('ok', 2 * S, 2 * S, 0.8))
    th.join(5.0)
    assert out['r'].success and out['r'].frames_used == 1
