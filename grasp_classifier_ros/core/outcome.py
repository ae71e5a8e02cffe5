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
Outcome feedback: the controller's truth paired with the node's verdict, scored live.

The grasp controller publishes one outcome per attempt (``outcome_topic``, std_msgs/Bool:
true = the grasp held) once it knows. ``OutcomeTracker.pair`` pairs it with the verdict
the node gave for that attempt:

1. the last completed ``~/check`` (``note_check``) not paired yet and at most
   ``CHECK_MAX_AGE_S`` old: one check answers one attempt;
2. else the verdict over the most recent frames (``note_verdict``: the published
   ``grasp/success`` of the newest fresh frame), when that frame is at most
   ``frame_max_age_s`` old (the node's ``camera_timeout``);
3. else nothing: the outcome is counted as unpaired (with the reason), never dropped
   silently. A ``~/check`` that answered "no verdict" counts as no verdict: the attempt
   falls back to the frames.

``LiveAgreement`` keeps the last ``window`` paired attempts: accuracy, false successes
(the node said held, the grasp failed), false failures and their count; ``assess`` says
WARN once the window holds ``min(window, MIN_LIVE_ATTEMPTS)`` attempts and the accuracy
is below ``min_accuracy``. Every time is the node clock's (``now_ns``). ROS-free, thread-safe.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import threading
from typing import Any

from .stamps import NS

CHECK_MAX_AGE_S = 30.0  # a ~/check older than this at the outcome answers another attempt
MIN_LIVE_ATTEMPTS = 10  # the live accuracy is judged only once the window holds this many
SOURCE_CHECK = 'check'
SOURCE_FRAMES = 'frames'


@dataclass(frozen=True)
class Attempt:
    """One outcome and what the node said about that attempt."""

    held: bool  # the controller's truth
    predicted: bool | None  # the node's verdict; None: unpaired (no recent verdict)
    source: str  # SOURCE_CHECK | SOURCE_FRAMES | '' (unpaired)
    start_ns: int  # when the attempt's verdict was asked for: the ~/check call, else the outcome
    end_ns: int  # the outcome's arrival
    reason: str = ''  # unpaired: why

    @property
    def paired(self) -> bool:
        return self.predicted is not None

    @property
    def agrees(self) -> bool | None:
        return None if self.predicted is None else self.predicted == self.held


@dataclass(frozen=True)
class _Check:
    called_ns: int
    answered_ns: int
    success: bool | None  # None: "no verdict"


class LiveAgreement:
    """The last ``window`` paired attempts: accuracy and the two kinds of error."""

    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError(f'window must be >= 1, got {window}')
        self.window = window
        self._pairs: deque[tuple[bool, bool]] = deque(maxlen=window)  # (predicted, held)

    def add(self, predicted: bool, held: bool) -> None:
        self._pairs.append((predicted, held))

    @property
    def count(self) -> int:
        return len(self._pairs)

    @property
    def false_successes(self) -> int:
        """Count the attempts the node called held that failed (the costly error: no retry)."""
        return sum(1 for p, h in self._pairs if p and not h)

    @property
    def false_failures(self) -> int:
        """Count the attempts the node called failed that held (a needless retry)."""
        return sum(1 for p, h in self._pairs if not p and h)

    @property
    def accuracy(self) -> float | None:
        if not self._pairs:
            return None
        return sum(1 for p, h in self._pairs if p == h) / len(self._pairs)

    @property
    def enough(self) -> int:
        """Return how many attempts the window needs before its accuracy is judged."""
        return min(self.window, MIN_LIVE_ATTEMPTS)

    def assess(self, min_accuracy: float) -> tuple[str, str]:
        """Return ``(level, message)``: 'WARN' when the live accuracy is too low, else 'OK'."""
        acc = self.accuracy
        if acc is None or self.count < self.enough or min_accuracy <= 0 or acc >= min_accuracy:
            return 'OK', ''
        return 'WARN', (
            f'live accuracy {acc:.0%} over the last {self.count} attempts is below '
            f'min_live_accuracy {min_accuracy:.0%} ({self.false_successes} false successes, '
            f'{self.false_failures} false failures): check the camera mount, or capture and '
            'adapt the model (capture_dir, grasp-train adapt)'
        )


class OutcomeTracker:
    """Pairs outcomes with verdicts (see the module docstring); feeds ``LiveAgreement``."""

    def __init__(self, window: int, frame_max_age_s: float = 1.0) -> None:
        self.agreement = LiveAgreement(window)
        self.frame_max_age_s = frame_max_age_s
        self._lock = threading.Lock()
        self._check: _Check | None = None
        self._verdict: tuple[int, bool] | None = None  # (capture time, success) of the newest
        self.outcomes = 0
        self.unpaired = 0
        self.last_unpaired = ''  # why the latest unpaired outcome was not paired
        self.by_source = {SOURCE_CHECK: 0, SOURCE_FRAMES: 0}

    def note_check(self, called_ns: int, answered_ns: int, success: bool | None) -> None:
        """Record a completed ``~/check``: called and answered at these node times."""
        with self._lock:
            self._check = _Check(called_ns, answered_ns, success)

    def note_verdict(self, done_ns: int, success: bool) -> None:
        """Record the verdict of the newest fresh frame, published at node time ``done_ns``."""
        with self._lock:
            self._verdict = (done_ns, success)

    def restart(self) -> None:
        """Forget the verdicts seen so far (the node clock jumped back: they are another time)."""
        with self._lock:
            self._check = None
            self._verdict = None

    def pair(self, now_ns: int, held: bool) -> Attempt:
        """Pair an outcome that arrived at ``now_ns``; return the attempt (paired or not)."""
        with self._lock:
            self.outcomes += 1
            attempt = self._pair_locked(now_ns, held)
            if attempt.predicted is None:
                self.unpaired += 1
                self.last_unpaired = attempt.reason
            else:
                self.by_source[attempt.source] += 1
                self.agreement.add(attempt.predicted, held)
            return attempt

    def _pair_locked(self, now_ns: int, held: bool) -> Attempt:
        check, self._check = self._check, None  # one check answers one attempt
        notes = []
        if check is not None:
            age_s = (now_ns - check.answered_ns) / NS
            if check.success is None:
                notes.append('the last ~/check gave no verdict')
            elif age_s > CHECK_MAX_AGE_S or age_s < 0:
                notes.append(f'the last ~/check answered {age_s:.3g} s before the outcome')
            else:
                return Attempt(held, check.success, SOURCE_CHECK, check.called_ns, now_ns)
        else:
            notes.append('no ~/check since the last outcome')
        start_ns = check.called_ns if check is not None else now_ns
        if self._verdict is not None:
            t, success = self._verdict
            age_s = (now_ns - t) / NS
            if -self.frame_max_age_s <= age_s <= self.frame_max_age_s:
                return Attempt(held, success, SOURCE_FRAMES, start_ns, now_ns)
            notes.append(f'the newest frame verdict is {age_s:.3g} s old')
        else:
            notes.append('no frame verdict yet')
        return Attempt(held, None, '', start_ns, now_ns, reason='; '.join(notes))

    def diagnostic_values(self) -> list[tuple[str, str]]:
        """Return the key/value pairs for /diagnostics."""
        with self._lock:
            a = self.agreement
            acc = a.accuracy
            return [
                ('live attempts (window)', f'{a.count} of {a.window}'),
                ('live accuracy', 'n/a' if acc is None else f'{acc:.3f}'),
                ('live false successes', str(a.false_successes)),
                ('live false failures', str(a.false_failures)),
                ('outcomes received', str(self.outcomes)),
                ('outcomes paired with ~/check', str(self.by_source[SOURCE_CHECK])),
                ('outcomes paired with frames', str(self.by_source[SOURCE_FRAMES])),
                ('outcomes unpaired', str(self.unpaired)),
                ('last unpaired outcome', self.last_unpaired or '-'),
            ]

    def assess(self, min_accuracy: float) -> tuple[str, str]:
        """Return the agreement's ``(level, message)``; see ``LiveAgreement.assess``."""
        with self._lock:
            return self.agreement.assess(min_accuracy)

    def summary(self) -> dict[str, Any]:
        """Return the numbers as a dict (tests, bench)."""
        with self._lock:
            a = self.agreement
            return {
                'count': a.count,
                'accuracy': a.accuracy,
                'false_successes': a.false_successes,
                'false_failures': a.false_failures,
                'outcomes': self.outcomes,
                'unpaired': self.unpaired,
            }
