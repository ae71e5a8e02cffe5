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
"""The example grasp controller's retry policy (examples/retry_logic.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys

from grasp_classifier_ros.core.check import CheckRequest
import pytest

_PATH = Path(__file__).resolve().parents[2] / 'examples' / 'retry_logic.py'
_spec = importlib.util.spec_from_file_location('retry_logic', _PATH)
retry_logic = importlib.util.module_from_spec(_spec)
sys.modules['retry_logic'] = retry_logic  # dataclasses look their module up by name
_spec.loader.exec_module(retry_logic)
CheckResult = retry_logic.CheckResult
RetryPolicy = retry_logic.RetryPolicy

HELD = (True, 'grasp holds: confidence 0.930 over 3 frames (threshold 0.500)')
DROPPED = (False, 'grasp failed: confidence 0.120 over 3 frames (threshold 0.500)')
NO_FRAMES = (False, 'no verdict: no fresh frames within 1 s')


class Robot:
    """Records the calls the policy makes; ``check`` answers from a script."""

    def __init__(self, answers: list[tuple[bool, str]]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []
        self.sleeps: list[float] = []

    def grasp(self, attempt: int) -> None:
        self.calls.append(f'grasp {attempt}')

    def release(self) -> None:
        self.calls.append('release')

    def check(self) -> tuple[bool, str]:
        self.calls.append('check')
        return self.answers.pop(0)

    def run(self, policy, truths=None):
        truths = list(truths) if truths is not None else None
        self.published: list[bool] = []

        def confirm(attempt: int):
            self.calls.append(f'confirm {attempt}')
            return truths.pop(0)

        return retry_logic.grasp_with_retries(
            self.grasp,
            self.check,
            policy,
            release=self.release,
            sleep=self.sleeps.append,
            confirm=confirm if truths is not None else None,
            publish_outcome=self.published.append,
        )


def test_interpret_matches_the_node_messages() -> None:
    # The node's own answers, from check.CheckRequest, not hand-written strings.
    held = CheckRequest(2, 1.0, 0, 0.5)
    held.probabilities = [0.9, 0.8]
    dropped = CheckRequest(2, 1.0, 0, 0.5)
    dropped.probabilities = [0.1, 0.2]
    partial = CheckRequest(2, 1.0, 0, 0.5)
    partial.probabilities = [0.9]
    for req, expected in [
        (held, CheckResult.HELD),
        (dropped, CheckResult.DROPPED),
        (partial, CheckResult.NO_VERDICT),
        (CheckRequest(2, 1.0, 0, 0.5), CheckResult.NO_VERDICT),
    ]:
        out = req.outcome()
        assert retry_logic.interpret(out.success, out.message) is expected


def test_held_first_time() -> None:
    robot = Robot([HELD])
    report = robot.run(RetryPolicy(max_attempts=3, settle_s=0.25))
    assert robot.calls == ['grasp 1', 'check']
    assert robot.sleeps == [0.25]
    assert report.held and report.verified
    assert report.summary == 'object held after 1 grasp(s)'


def test_retries_after_a_drop_and_releases_between() -> None:
    robot = Robot([DROPPED, HELD])
    report = robot.run(RetryPolicy(max_attempts=3))
    assert robot.calls == ['grasp 1', 'check', 'release', 'grasp 2', 'check']
    assert report.held
    assert [a.result for a in report.attempts] == [CheckResult.DROPPED, CheckResult.HELD]


def test_gives_up_after_max_attempts_without_final_release() -> None:
    robot = Robot([DROPPED] * 3)
    report = robot.run(RetryPolicy(max_attempts=3))
    assert robot.calls == [
        'grasp 1',
        'check',
        'release',
        'grasp 2',
        'check',
        'release',
        'grasp 3',
        'check',
    ]
    assert not report.held and report.verified
    assert report.summary == 'object not held after 3 grasp(s); giving up'


def test_no_verdict_is_rechecked_not_regrasped() -> None:
    robot = Robot([NO_FRAMES, HELD])
    report = robot.run(RetryPolicy(max_attempts=3, max_rechecks=1))
    assert robot.calls == ['grasp 1', 'check', 'check']
    assert report.held
    assert [r for r, _ in report.attempts[0].answers] == [CheckResult.NO_VERDICT, CheckResult.HELD]


def test_persistent_no_verdict_stops_unverified() -> None:
    robot = Robot([NO_FRAMES, NO_FRAMES])
    report = robot.run(RetryPolicy(max_attempts=3, max_rechecks=1))
    assert robot.calls == ['grasp 1', 'check', 'check']
    assert not report.held and not report.verified
    assert report.summary == (
        'grasp 1 could not be verified (no verdict: no fresh frames within 1 s); stopped'
    )


def test_grasp_errors_propagate() -> None:
    def broken(attempt: int) -> None:
        raise RuntimeError('gripper fault')

    with pytest.raises(RuntimeError, match='gripper fault'):
        retry_logic.grasp_with_retries(broken, lambda: HELD, RetryPolicy(), sleep=lambda s: None)


@pytest.mark.parametrize('kwargs', [{'max_attempts': 0}, {'max_rechecks': -1}, {'settle_s': -0.1}])
def test_invalid_policy(kwargs) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)


CONFIRMED_RETRY = ['grasp 1', 'check', 'confirm 1', 'release', 'grasp 2', 'check', 'confirm 2']


def test_the_controllers_truth_decides_the_retry_and_is_published() -> None:
    # the classifier says held, the lift says otherwise: retry; then both agree
    robot = Robot([HELD, HELD])
    report = robot.run(RetryPolicy(max_attempts=3), truths=[False, True])
    assert robot.calls == CONFIRMED_RETRY
    assert robot.published == [False, True]
    assert report.held and [a.outcome for a in report.attempts] == [False, True]


def test_an_unknown_truth_is_not_published_and_the_verdict_decides() -> None:
    robot = Robot([DROPPED, HELD])
    report = robot.run(RetryPolicy(max_attempts=3), truths=[None, None])
    assert robot.published == [] and report.held
    assert robot.calls == CONFIRMED_RETRY


def test_no_verdict_is_not_confirmed() -> None:
    robot = Robot([NO_FRAMES, NO_FRAMES])
    report = robot.run(RetryPolicy(max_attempts=3, max_rechecks=1), truths=[True])
    assert robot.calls == ['grasp 1', 'check', 'check'] and robot.published == []
    assert not report.verified
