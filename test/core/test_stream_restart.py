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
New streams, exactly (issue 18): the node clock jumps back, stamps jump back, activation.

A bag played with ``ros2 bag play --loop --clock`` restarts both the node clock (sim time)
and the frames' stamps earlier; a simulation reset does the same; a camera restart or a
bag loop without /clock restarts only the stamps. None of them may stop the node: the
stream starts over. Also the statistics diagnostics read across such jumps.
"""

from __future__ import annotations

import threading

from grasp_classifier_ros.core.decision import DecisionConfig, Verdict
from grasp_classifier_ros.core.model import load_model
from grasp_classifier_ros.core.pipeline import Pipeline
from grasp_classifier_ros.core.stats import assess, StreamStats
from grasp_classifier_ros.core.streams import ClockJump, stamp_jump_message
from model_factory import brightness_metadata, flat_probability, write_model
from msg_factory import make_image
import numpy as np
import pytest

S = 1_000_000_000
MS = 1_000_000
HELD, UNSURE = 200, 128  # p ~0.94: SUCCESS; p ~0.505: inside the band, the last verdict holds
CFG = DecisionConfig(threshold=0.5, hysteresis=0.1, smoothing='none', window=1)
LOOP_START = 1_000 * S  # the bag's first stamp; the loop comes back to it


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp('m') / 'm.pt'
    return load_model(write_model(path, meta=brightness_metadata(16)), device='cpu', warmup_runs=0)


def image(grey: int, stamp_ns: int) -> object:
    return make_image(np.full((16, 16, 3), grey, np.uint8), 'bgr8', stamp_ns=stamp_ns)


def play(pl: Pipeline, grey: int, start_ns: int, n: int, period_ns: int = 66 * MS) -> list:
    """Frames stamped ``start_ns + i * period``, each processed 1 ms after its stamp."""
    return [
        pl.process(image(grey, start_ns + i * period_ns), now_ns=start_ns + i * period_ns + MS)
        for i in range(n)
    ]


def test_probe_values():
    assert flat_probability(HELD) > CFG.on_level
    assert CFG.off_level < flat_probability(UNSURE) < CFG.on_level


# -- the node clock jumps back (ros2 bag play --loop --clock, a simulation reset) ---------------


def test_a_loop_nobody_reported_is_a_new_stream_from_the_stamps(model):
    # What the issue found: once the stamps restart earlier, every frame was out of order,
    # forever. The clock went back with them, but no restart_stream came: stamps ~3 s
    # behind the last verdict (more than max_frame_age + max_future_skew) start a new stream.
    pl = Pipeline(model, decision=CFG)
    end = play(pl, HELD, LOOP_START, 45)[-1].stamp_ns
    again = play(pl, HELD, LOOP_START, 5)
    assert [r.status for r in again] == ['ok'] * 5  # the stamp rule starts a new stream
    assert again[0].decision.new_stream_after_s == pytest.approx((end - LOOP_START) / S)


def test_restart_stream_after_a_clock_jump_forgets_stamp_smoothing_and_hysteresis(model):
    pl = Pipeline(model, decision=CFG)
    assert play(pl, HELD, LOOP_START, 3)[-1].decision.verdict is Verdict.SUCCESS
    last = LOOP_START + 2 * 66 * MS
    # The clock jumped back by 0.1 s only: too little for the stamp rule, but reported.
    pl.restart_stream(last - 100 * MS + MS, jumped_from_ns=last + MS)
    r = pl.process(image(UNSURE, last - 100 * MS), now_ns=last - 99 * MS)
    assert r.status == 'ok'  # not out_of_order: the last stamp is forgotten
    assert r.decision.verdict is Verdict.UNCERTAIN  # and the SUCCESS with it
    assert r.decision.new_stream_after_s == 0.0


def test_restart_stream_never_waits_for_the_frame_in_progress(model):
    pl = Pipeline(model, decision=CFG)
    play(pl, HELD, LOOP_START, 3)
    holding, release = threading.Event(), threading.Event()

    def inference() -> None:  # the worker thread, inside Pipeline.process
        with pl._lock:
            holding.set()
            release.wait(10.0)

    worker = threading.Thread(target=inference)
    worker.start()
    try:
        assert holding.wait(10.0)
        pl.restart_stream(LOOP_START, jumped_from_ns=LOOP_START + S)  # returns at once
        assert pl.decider._last_stamp_ns is not None  # not yet: the worker holds the lock
    finally:
        release.set()
        worker.join(10.0)
    r = pl.process(image(UNSURE, LOOP_START + MS), now_ns=LOOP_START + 2 * MS)
    assert (r.status, r.decision.verdict) == ('ok', Verdict.UNCERTAIN)  # applied first


def test_restart_stream_restarts_pending_checks_only_after_a_jump(model):
    pl = Pipeline(model, decision=CFG)
    req = pl.check.request(2, 1.0, now_ns=LOOP_START + 5 * S, threshold=0.5)
    play(pl, HELD, LOOP_START + 5 * S, 1)
    pl.restart_stream(LOOP_START + 6 * S)  # activation: the clock did not jump
    assert (req.since_ns, len(req.probabilities), req.clock_jumps) == (LOOP_START + 5 * S, 1, 0)
    pl.restart_stream(LOOP_START + MS, jumped_from_ns=LOOP_START + 5 * S + 500 * MS)
    assert (req.since_ns, req.deadline_ns) == (LOOP_START + MS, LOOP_START + MS + 500 * MS)
    assert req.probabilities == []
    play(pl, HELD, LOOP_START + 10 * MS, 2)
    out = req.outcome()
    assert out.success and out.frames_used == 2
    assert out.message.endswith('(restarted once: the node clock jumped back)')


def test_a_loop_with_its_restart_gives_verdicts_from_the_first_frame(model):
    # ros2 bag play --loop --clock with the staleness guard on: the clock and the stamps
    # come back to the bag's start together; the node's jump callback restarts the stream.
    pl = Pipeline(model, decision=DecisionConfig(threshold=0.5, max_frame_age=0.5))
    first = play(pl, HELD, LOOP_START, 45)
    pl.restart_stream(LOOP_START, jumped_from_ns=first[-1].stamp_ns + MS)
    second = play(pl, HELD, LOOP_START, 45)
    assert [r.status for r in first + second] == ['ok'] * 90
    assert all(r.success for r in first[1:] + second[1:])
    assert pl.stats.restarts == 1 and pl.stats.new_streams == 0


# -- statistics across jumps (issue 18 item 5) ----------------------------------------------------


def test_the_input_rate_ignores_arrivals_before_the_clock_started():
    st = StreamStats()
    st.record_input(0)  # use_sim_time, before the first /clock message
    for i in range(10):
        st.record_input(LOOP_START + i * 66 * MS)
    assert st.input_rate_hz() == pytest.approx(1 / 0.066)


def test_the_input_rate_starts_over_when_the_clock_goes_back():
    st = StreamStats()
    for i in range(45):
        st.record_input(LOOP_START + 5 * S + i * 66 * MS)
    for i in range(3):  # a loop nobody reported: the arrivals go back 5 s
        st.record_input(LOOP_START + i * 66 * MS)
    assert st.input_rate_hz() == pytest.approx(1 / 0.066)  # was 0 Hz (negative span)
    st.restart(LOOP_START + S)
    assert st.input_rate_hz() == 0.0  # a reported jump empties the window at once


def test_a_dead_camera_after_a_jump_is_reported_after_camera_timeout():
    st = StreamStats()
    st.record_input(LOOP_START + 5 * S)
    st.record_result('ok', 1.0, 0.01)
    st.restart(LOOP_START)  # the simulation reset: the clock is 5 s earlier
    snap = st.snapshot(LOOP_START + 500 * MS)
    assert snap['seconds_since_last_frame'] == 0.5  # counted from the restart, not negative
    assert assess(snap, 1.0) == ('OK', 'classifying')
    assert assess(st.snapshot(LOOP_START + 1_500 * MS), 1.0) == (
        'ERROR',
        'camera stopped: no frame for 1.50 s since the stream restarted (camera_timeout=1.0 s)',
    )
    st.record_input(LOOP_START + 1_600 * MS)
    assert st.snapshot(LOOP_START + 1_700 * MS)['seconds_since_last_frame'] == pytest.approx(0.1)


def test_a_clock_behind_the_last_frame_without_a_restart_counts_from_now():
    st = StreamStats()
    for i in range(3):
        st.record_input(LOOP_START + 5 * S + i * 66 * MS)
    # A snapshot whose "now" was read just before a frame arrived: 0 s, nothing restarts.
    snap = st.snapshot(LOOP_START + 5 * S + 132 * MS - 10 * MS)
    assert snap['seconds_since_last_frame'] == 0.0
    assert snap['input_rate_hz'] == pytest.approx(1 / 0.066)
    # More than CLOCK_SLACK_S (1 s) behind: the clock went back, unannounced. Before, this
    # read -5 s, and a dead camera was never reported.
    snap = st.snapshot(LOOP_START)
    assert (snap['seconds_since_last_frame'], snap['input_rate_hz']) == (0.0, 0.0)
    level, message = assess(st.snapshot(LOOP_START + 2 * S), 1.0)
    assert level == 'ERROR' and message.startswith('camera stopped: no frame for 2.00 s')


def test_out_of_order_frames_count_as_rejected():
    # Two publishers interleaved, one behind the other: half the frames are dropped as out
    # of order. Diagnostics stayed OK; now they warn and say why.
    st = StreamStats()
    st.record_input(LOOP_START)
    for _ in range(15):
        st.record_result('ok', 1.0, 0.01)
        st.record_result('out_of_order', None, None)
    snap = st.snapshot(LOOP_START)
    assert snap['recent_fault_fraction'] == 0.5
    assert assess(snap, 1.0) == ('WARN', '50% of recent frames rejected (15 out_of_order)')


def test_stamps_that_keep_jumping_back_warn_once_not_once_per_loop():
    st = StreamStats()
    st.record_input(LOOP_START)
    st.record_result('ok', 1.0, 0.01, new_stream=True)  # a bag loop: expected
    for _ in range(20):
        st.record_result('ok', 1.0, 0.01)
    assert assess(st.snapshot(LOOP_START), 1.0) == ('OK', 'classifying')
    st.record_result('ok', 1.0, 0.01, new_stream=True)
    assert assess(st.snapshot(LOOP_START), 1.0) == (
        'WARN',
        'frame stamps jumped back 2 times in the last 30 frames, each starting a new stream: '
        'several publishers on different clocks?',
    )
    assert st.snapshot(LOOP_START)['new_streams'] == 2


def test_interleaved_publishers_on_different_clocks_warn(model):
    pl = Pipeline(model, decision=DecisionConfig(threshold=0.5, max_frame_age=0.0))
    a, b = 1_000 * S, 5_000 * S  # two cameras, their own clocks 4000 s apart
    results = []
    for i in range(10):
        pl.stats.record_input(i * 33 * MS)
        stamp = (b if i % 2 else a) + i * 33 * MS
        results.append(pl.process(image(HELD, stamp), now_ns=i * 33 * MS))
    assert [r.decision.new_stream_after_s > 0 for r in results].count(True) == 4
    level, message = assess(pl.stats.snapshot(10 * 33 * MS), 1.0)
    assert (level, message.split(',')[0]) == (
        'WARN',
        'frame stamps jumped back 4 times in the last 30 frames',
    )


# -- activation and a long gap start fresh (issue 18 item 4) --------------------------------------


def test_before_any_frame_a_restart_still_says_no_frames_received_yet():
    st = StreamStats()
    st.restart(LOOP_START)  # the node's activation
    assert assess(st.snapshot(LOOP_START + 10 * MS), 1.0) == (
        'ERROR',
        'no frames received yet: is the camera publishing on image_topic?',
    )


def test_activation_starts_a_new_stream(model):
    pl = Pipeline(model, decision=DecisionConfig(threshold=0.5, hysteresis=0.1, max_frame_age=0.0))
    assert play(pl, HELD, LOOP_START, 3)[-1].success
    pl.restart_stream(LOOP_START + 600 * S)  # deactivate ... activate 10 minutes later
    r = pl.process(image(UNSURE, LOOP_START + S), now_ns=LOOP_START + 600 * S)
    assert (r.status, r.decision.verdict) == ('ok', Verdict.UNCERTAIN)


# -- one clock for every time a result carries (issue 18 item 6) ----------------------------------


def test_done_ns_is_on_the_callers_clock(model):
    pl = Pipeline(model, decision=CFG)
    r = pl.process(image(HELD, 5 * S), now_ns=5 * S + MS, receive_ns=5 * S)
    # sim time 5 s: done_ns is 5 s plus the processing time, not the wall clock's 1.7e18
    assert r.done_ns - (5 * S + MS) == pytest.approx(r.timings_ms['total'] * MS, abs=MS / 1000)
    assert 0 < r.done_ns - r.receive_ns < S


# -- what the node logs (core/streams.py) ----------------------------------------------------


@pytest.mark.parametrize(
    ('change', 'delta_ns', 'text'),
    [
        (
            'ROS_TIME_NO_CHANGE',
            -5 * S - 250 * MS,
            'the node clock jumped back 5.250 s to 1000.000 s (a bag loop or a simulation reset)',
        ),
        (
            'ROS_TIME_ACTIVATED',
            -1_700_000_000 * S,
            'use_sim_time is now true: the node clock follows /clock (1000.000 s)',
        ),
        (
            'ROS_TIME_DEACTIVATED',
            1_700_000_000 * S,
            'use_sim_time is now false: the node clock is the system clock again',
        ),
    ],
)
def test_a_clock_jump_is_one_log_line(change, delta_ns, text):
    jump = ClockJump(LOOP_START, delta_ns, change)
    assert jump.before_ns == LOOP_START - delta_ns
    assert jump.message() == (
        f'{text}: new stream (the last stamp, smoothing and hysteresis state, pending ~/check '
        'frames and input rate cleared)'
    )


def test_a_stamp_jump_is_one_log_line():
    assert stamp_jump_message(95.0) == (
        'frame stamps jumped back 95.000 s (a camera restart, or a bag looped without /clock): '
        'new stream (the last stamp, smoothing and hysteresis state cleared)'
    )
