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
"""Decision logic: hysteresis, smoothing and staleness, exactly."""

from __future__ import annotations

from grasp_classifier_ros.core.configure import decision_config
from grasp_classifier_ros.core.decision import Decider, DecisionConfig, Verdict
from grasp_classifier_ros.core.params import validate_all
import pytest

S = 1_000_000_000
MS = 1_000_000


def run(decider: Decider, probs: list[float], start_ns: int = 100 * S, dt_ns: int = 33 * MS):
    out = []
    for i, p in enumerate(probs):
        stamp = start_ns + i * dt_ns
        assert decider.check_stamp(stamp, stamp + MS).ok
        out.append(decider.update(p, stamp, stamp + MS).verdict)
    return out


def test_hysteresis_no_smoothing():
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, smoothing='none', window=1))
    verdicts = run(d, [0.5, 0.59, 0.6, 0.45, 0.41, 0.4, 0.55, 0.59, 0.6])
    u, s, f = Verdict.UNCERTAIN, Verdict.SUCCESS, Verdict.FAILURE
    assert verdicts == [u, u, s, s, s, f, f, f, s]


def test_zero_hysteresis_is_a_plain_threshold():
    d = Decider(DecisionConfig(threshold=0.7, hysteresis=0.0, smoothing='none', window=1))
    assert run(d, [0.7, 0.69, 0.71]) == [Verdict.SUCCESS, Verdict.FAILURE, Verdict.SUCCESS]


def test_ema_smoothing_values():
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.0, smoothing='ema', window=3))
    stamps = [100 * S + i * 33 * MS for i in range(3)]
    r = [d.update(p, s, s + MS) for p, s in zip([1.0, 0.0, 0.0], stamps)]
    # alpha = 2 / (3 + 1) = 0.5
    assert [x.smoothed for x in r] == [1.0, 0.5, 0.25]
    assert [x.verdict for x in r] == [Verdict.SUCCESS, Verdict.SUCCESS, Verdict.FAILURE]
    assert [x.probability for x in r] == [1.0, 0.0, 0.0]


def test_vote_majority_and_abstain():
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, smoothing='vote', window=3))
    # votes: yes, abstain, no, yes, yes
    verdicts = run(d, [0.9, 0.5, 0.1, 0.8, 0.7])
    # [y] -> S; [y,a] -> 1 yes of 2 not > half -> holds S; [y,a,n] -> holds S;
    # [a,n,y] -> holds; [n,y,y] -> 2 of 3 yes -> S
    assert verdicts == [Verdict.SUCCESS] * 5
    d2 = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, smoothing='vote', window=3))
    assert run(d2, [0.1, 0.9, 0.9, 0.1, 0.1]) == [
        Verdict.FAILURE,
        Verdict.FAILURE,  # 1 yes 1 no of 2: no majority, holds
        Verdict.SUCCESS,  # 2 yes of 3
        Verdict.SUCCESS,  # [y, y, n]
        Verdict.FAILURE,  # [y, n, n]
    ]


def test_stale_zero_future_and_out_of_order_stamps():
    cfg = DecisionConfig(threshold=0.5, max_frame_age=0.5, max_future_skew=0.1)
    d = Decider(cfg)
    now = 100 * S
    assert d.check_stamp(now - 500 * MS, now).status == 'ok'
    stale = d.check_stamp(now - 501 * MS, now)
    assert stale.status == 'stale' and 'max_frame_age=0.5' in stale.reason
    zero = d.check_stamp(0, now)
    assert zero.status == 'stale' and 'unstamped' in zero.reason
    assert d.check_stamp(now + 100 * MS, now).status == 'ok'
    fut = d.check_stamp(now + 101 * MS, now)
    assert fut.status == 'future' and 'use_sim_time' in fut.reason
    d.update(0.9, now - 10 * MS, now)
    assert d.check_stamp(now - 10 * MS, now).status == 'out_of_order'
    assert d.check_stamp(now - 20 * MS, now).status == 'out_of_order'
    assert d.check_stamp(now - 9 * MS, now).status == 'ok'


def test_freshness_checks_disabled_with_zero_age():
    d = Decider(DecisionConfig(max_frame_age=0.0))
    assert d.check_stamp(0, 100 * S).ok
    assert d.check_stamp(1, 100 * S).ok  # 100 s old, still accepted
    assert d.check_stamp(200 * S, 100 * S).ok  # 100 s in the future, accepted
    d.update(0.9, 0, 100 * S)
    assert d.check_stamp(0, 100 * S).ok  # zero stamps never count as out of order


def test_gap_longer_than_max_age_resets_smoothing_and_state():
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, smoothing='ema', window=9))
    t = 100 * S
    assert d.update(1.0, t, t).verdict is Verdict.SUCCESS
    # 0.55 after a 1 s gap: history is forgotten, and inside the band there is no prior verdict
    r = d.update(0.55, t + S, t + S)
    assert r.smoothed == 0.55 and r.verdict is Verdict.UNCERTAIN


def test_set_config_restarts_state():
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, smoothing='none'))
    assert d.update(0.9, S, S).verdict is Verdict.SUCCESS
    d.set_config(DecisionConfig(threshold=0.5, hysteresis=0.2, smoothing='none'))
    # 10 ms later (no gap reset): only the new config's fresh state explains UNCERTAIN
    assert d.update(0.6, S + 10 * MS, S + 10 * MS).verdict is Verdict.UNCERTAIN


def test_config_levels_clamped_and_from_params():
    cfg = DecisionConfig(threshold=0.95, hysteresis=0.1)
    assert cfg.on_level == 1.0 and cfg.off_level == pytest.approx(0.85)
    values = {
        'threshold': -1.0,
        'hysteresis': 0.02,
        'smoothing': 'vote',
        'window': 5,
        'max_frame_age': 0.25,
        'max_future_skew': 0.05,
    }
    c = decision_config(validate_all(values), model_threshold=0.62)
    assert c == DecisionConfig(0.62, 0.02, 'vote', 5, 0.25, 0.05)
    assert decision_config(validate_all({**values, 'threshold': 0.3}), 0.62).threshold == 0.3


# -- new streams: clock jumps, camera restarts, long gaps (issue 18 items 1 and 4) ---------------


def test_a_stamp_far_behind_the_last_starts_a_new_stream():
    # max_frame_age 0.5 + max_future_skew 0.1: a stamp more than 0.6 s behind the last one
    # cannot come from a node clock that only moves forward: the clock jumped back.
    cfg = DecisionConfig(threshold=0.5, hysteresis=0.1, smoothing='ema', window=9)
    assert (cfg.gap_s, cfg.jump_back_s) == (0.5, pytest.approx(0.6))
    d = Decider(cfg)
    t = 100 * S
    assert d.update(0.9, t, t).verdict is Verdict.SUCCESS
    assert d.check_stamp(t - 600 * MS, t - 600 * MS).status == 'out_of_order'  # exactly 0.6 s
    back = t - 600 * MS - 1
    assert d.check_stamp(back, back).ok
    r = d.update(0.55, back, back)
    # all evidence forgotten: inside the band there is no prior verdict
    assert (r.verdict, r.smoothed) == (Verdict.UNCERTAIN, 0.55)
    assert r.new_stream_after_s == pytest.approx(0.6 + 1e-9)
    # and the new stream's order holds from its own first frame
    assert d.check_stamp(back, back).status == 'out_of_order'
    assert d.update(0.9, back + 33 * MS, back + 33 * MS).new_stream_after_s == 0.0


def test_without_freshness_checks_a_camera_restart_is_a_new_stream_after_camera_timeout():
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, max_frame_age=0.0))
    assert DecisionConfig(max_frame_age=0.0, camera_timeout=2.5).jump_back_s == 2.5
    now = 1_700_000_000 * S  # the node's wall clock; the camera counts from its own start
    assert d.update(0.9, 100 * S, now).verdict is Verdict.SUCCESS
    assert d.check_stamp(99 * S, now).status == 'out_of_order'  # 1 s back: = camera_timeout
    assert d.check_stamp(5 * S, now + S).ok  # the camera restarted its clock
    r = d.update(0.55, 5 * S, now + S)
    assert (r.verdict, r.new_stream_after_s) == (Verdict.UNCERTAIN, 95.0)


def test_a_rejected_new_stream_frame_changes_nothing():
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, smoothing='none'))
    t = 100 * S
    d.update(0.9, t, t)
    assert d.check_stamp(t - 5 * S, t - 5 * S).ok  # checking is not accepting
    assert d.update(0.55, t + 10 * MS, t + 10 * MS).verdict is Verdict.SUCCESS  # state kept


@pytest.mark.parametrize('stamped', [True, False])
def test_without_freshness_checks_a_long_gap_still_forgets_the_verdict(stamped):
    # max_frame_age 0 used to keep a SUCCESS across any gap: now camera_timeout bounds it,
    # measured between stamps, or between the frames' ``now`` when they are unstamped.
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, max_frame_age=0.0))
    t = 1_000 * S

    def stamp(ns: int) -> int:
        return ns if stamped else 0

    assert d.update(0.9, stamp(t), t).verdict is Verdict.SUCCESS
    # exactly camera_timeout (1 s) later: the verdict holds inside the band
    assert d.update(0.55, stamp(t + S), t + S).verdict is Verdict.SUCCESS
    # 10 minutes later: the SUCCESS is forgotten
    later = t + S + 600 * S
    assert d.update(0.55, stamp(later), later).verdict is Verdict.UNCERTAIN


def test_an_unstamped_frame_after_the_clock_went_back_forgets_the_verdict():
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, max_frame_age=0.0))
    assert d.update(0.9, 0, 1_000 * S).verdict is Verdict.SUCCESS
    assert d.update(0.55, 0, 10 * S).verdict is Verdict.UNCERTAIN


def test_restart_forgets_the_last_stamp_and_all_evidence():
    d = Decider(DecisionConfig(threshold=0.5, hysteresis=0.1, smoothing='ema', window=5))
    t = 100 * S
    d.update(0.9, t, t)
    assert d.check_stamp(t - 100 * MS, t).status == 'out_of_order'
    d.restart()  # the node clock jumped back by 0.1 s, or the node was (re)activated
    assert d.check_stamp(t - 100 * MS, t - 90 * MS).ok
    r = d.update(0.55, t - 100 * MS, t - 90 * MS)
    assert (r.verdict, r.smoothed, r.new_stream_after_s) == (Verdict.UNCERTAIN, 0.55, 0.0)
