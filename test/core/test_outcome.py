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
"""Outcome pairing and the live agreement window (core/outcome.py), without ROS."""

from grasp_classifier_ros.core.outcome import (
    CHECK_MAX_AGE_S,
    LiveAgreement,
    OutcomeTracker,
    SOURCE_CHECK,
    SOURCE_FRAMES,
)
import pytest

S = 1_000_000_000


def test_outcome_pairs_with_the_last_check_once():
    t = OutcomeTracker(window=5)
    t.note_check(10 * S, 11 * S, True)
    a = t.pair(12 * S, held=True)
    assert (a.predicted, a.source, a.start_ns, a.end_ns, a.agrees) == (
        True,
        SOURCE_CHECK,
        10 * S,
        12 * S,
        True,
    )
    # the same check never answers a second attempt; no frame verdict either: unpaired
    b = t.pair(13 * S, held=False)
    assert not b.paired and 'no ~/check since the last outcome' in b.reason
    assert t.summary() == {
        'count': 1,
        'accuracy': 1.0,
        'false_successes': 0,
        'false_failures': 0,
        'outcomes': 2,
        'unpaired': 1,
    }


def test_without_a_check_the_recent_frame_verdict_is_used():
    t = OutcomeTracker(window=5, frame_max_age_s=1.0)
    t.note_verdict(20 * S, False)
    a = t.pair(20 * S + S // 2, held=True)
    assert (a.predicted, a.source, a.start_ns) == (False, SOURCE_FRAMES, 20 * S + S // 2)
    assert t.agreement.false_failures == 1


def test_stale_frame_verdict_and_old_or_empty_checks_leave_the_outcome_unpaired():
    t = OutcomeTracker(window=5, frame_max_age_s=1.0)
    assert 'no frame verdict yet' in t.pair(1 * S, True).reason
    t.note_verdict(2 * S, True)
    t.note_check(2 * S, 3 * S, None)  # "no verdict"
    a = t.pair(5 * S, True)
    assert not a.paired
    assert 'no verdict' in a.reason and '3 s old' in a.reason
    assert a.start_ns == 2 * S  # the check's call still anchors the attempt
    t.note_check(10 * S, 10 * S, True)
    late = 10 * S + round((CHECK_MAX_AGE_S + 1) * S)
    assert 'answered 31 s before' in t.pair(late, True).reason
    assert t.unpaired == 3 and t.agreement.count == 0
    values = dict(t.diagnostic_values())
    assert values['outcomes unpaired'] == '3' and values['live accuracy'] == 'n/a'


def test_a_check_with_no_verdict_falls_back_to_recent_frames():
    t = OutcomeTracker(window=5)
    t.note_verdict(9 * S, True)
    t.note_check(9 * S, 9 * S, None)
    a = t.pair(9 * S + 1, False)
    assert (a.predicted, a.source, a.start_ns) == (True, SOURCE_FRAMES, 9 * S)
    assert t.agreement.false_successes == 1


def test_restart_forgets_verdicts():
    t = OutcomeTracker(window=5)
    t.note_check(1 * S, 1 * S, True)
    t.note_verdict(1 * S, True)
    t.restart()
    assert not t.pair(1 * S, True).paired


def test_window_keeps_the_last_n_attempts():
    w = LiveAgreement(window=3)
    for predicted, held in [(True, False), (False, True), (True, True), (True, True)]:
        w.add(predicted, held)
    assert w.count == 3
    assert (w.false_successes, w.false_failures) == (0, 1)
    assert w.accuracy == pytest.approx(2 / 3)


def test_warn_only_with_enough_attempts_and_low_accuracy():
    w = LiveAgreement(window=20)
    assert w.enough == 10
    for _ in range(9):
        w.add(True, False)
    assert w.assess(0.8) == ('OK', '')  # 9 attempts: not judged yet
    w.add(True, False)
    level, message = w.assess(0.8)
    assert level == 'WARN'
    assert 'live accuracy 0% over the last 10 attempts' in message
    assert '10 false successes' in message
    assert w.assess(0.0) == ('OK', '')  # 0: never
    small = LiveAgreement(window=4)
    for _ in range(3):
        small.add(True, True)
    small.add(False, True)
    assert small.enough == 4 and small.assess(0.8) == ('WARN', small.assess(0.8)[1])
    assert small.assess(0.75) == ('OK', '')


def test_window_must_be_positive():
    with pytest.raises(ValueError):
        LiveAgreement(0)
