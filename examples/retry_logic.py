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
Grasp-and-verify retry policy for a grasp controller, free of ROS.

After each grasp the controller asks the classifier (``~/check``) whether the
object is held. The answer is one of three things:

* ``held``: done;
* ``dropped``: release and grasp again, up to ``max_attempts`` grasps;
* ``no verdict`` (no fresh frames: camera stopped, stale stamps, timeout):
  ask again up to ``max_rechecks`` times *without* re-grasping, since
  grasping again cannot fix a camera problem; if it persists, stop and report
  that the grasp could not be verified.

If the controller can tell for itself whether the grasp held a moment later (it lifts and
feels the weight, or looks at the gripper width), ``confirm`` gives that truth: it decides
the retry in place of the classifier's verdict, and ``publish_outcome`` sends it to the
node's ``grasp/outcome`` topic, so the node can score itself live and capture the attempt.

``grasp_retry_client.py`` wires this to ROS 2 services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import enum
import time

NO_VERDICT_PREFIX = 'no verdict'


class CheckResult(str, enum.Enum):
    HELD = 'held'
    DROPPED = 'dropped'
    NO_VERDICT = 'no_verdict'


def interpret(success: bool, message: str) -> CheckResult:
    """Map a ``std_srvs/Trigger`` answer of ``~/check`` to held / dropped / no verdict."""
    if success:
        return CheckResult.HELD
    if message.startswith(NO_VERDICT_PREFIX):
        return CheckResult.NO_VERDICT
    return CheckResult.DROPPED


@dataclass(frozen=True)
class RetryPolicy:
    """How often to grasp and re-check, and how long to let the scene settle."""

    max_attempts: int = 3
    max_rechecks: int = 1
    settle_s: float = 0.3

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f'max_attempts must be >= 1, got {self.max_attempts}')
        if self.max_rechecks < 0:
            raise ValueError(f'max_rechecks must be >= 0, got {self.max_rechecks}')
        if self.settle_s < 0:
            raise ValueError(f'settle_s must be >= 0, got {self.settle_s}')


@dataclass(frozen=True)
class Attempt:
    """One grasp and the check answers it got (several when re-checked)."""

    number: int
    answers: tuple[tuple[CheckResult, str], ...]
    outcome: bool | None = None  # the controller's own truth (True = held), when it has one

    @property
    def result(self) -> CheckResult:
        return self.answers[-1][0]

    @property
    def held(self) -> bool:
        """Return the controller's truth when it has one, else the classifier's verdict."""
        return self.result is CheckResult.HELD if self.outcome is None else self.outcome


@dataclass
class GraspReport:
    """What happened over all attempts."""

    held: bool = False
    verified: bool = True
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def summary(self) -> str:
        n = len(self.attempts)
        if self.held:
            return f'object held after {n} grasp(s)'
        if not self.verified:
            last = self.attempts[-1].answers[-1][1] if self.attempts else ''
            return f'grasp {n} could not be verified ({last}); stopped'
        return f'object not held after {n} grasp(s); giving up'


def grasp_with_retries(
    grasp: Callable[[int], None],
    check: Callable[[], tuple[bool, str]],
    policy: RetryPolicy,
    *,
    release: Callable[[], None] = lambda: None,
    sleep: Callable[[float], None] = time.sleep,
    confirm: Callable[[int], bool | None] | None = None,
    publish_outcome: Callable[[bool], None] = lambda held: None,
) -> GraspReport:
    """
    Grasp, verify, and retry per ``policy``; return the report.

    ``grasp(attempt)`` performs grasp number ``attempt`` (1-based), ``check()``
    calls ``~/check`` and returns its ``(success, message)``, ``release()``
    opens the gripper before a retry. ``confirm(attempt)``, when given, is called after a
    verdict and returns the controller's own truth (``None``: it cannot tell this time);
    each truth is passed to ``publish_outcome`` and decides the retry. Without a verdict
    nothing is confirmed: the camera problem is reported. Exceptions propagate.
    """
    report = GraspReport()
    for number in range(1, policy.max_attempts + 1):
        grasp(number)
        sleep(policy.settle_s)
        answers: list[tuple[CheckResult, str]] = []
        for _ in range(policy.max_rechecks + 1):
            success, message = check()
            answers.append((interpret(success, message), message))
            if answers[-1][0] is not CheckResult.NO_VERDICT:
                break
        if answers[-1][0] is CheckResult.NO_VERDICT:
            report.attempts.append(Attempt(number, tuple(answers)))
            report.verified = False
            return report
        truth = confirm(number) if confirm is not None else None
        if truth is not None:
            publish_outcome(truth)
        attempt = Attempt(number, tuple(answers), truth)
        report.attempts.append(attempt)
        if attempt.held:
            report.held = True
            return report
        if number < policy.max_attempts:
            release()
    return report
