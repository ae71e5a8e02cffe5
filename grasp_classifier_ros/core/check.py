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
The ``~/check`` logic: a verdict over the next ``k`` fresh frames captured after the call.

``CheckCollector`` is fed every processed frame (``Pipeline`` does it); each pending
``CheckRequest`` keeps the frames captured after its call and answers with a
``CheckOutcome`` whose message explains itself.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import threading
import time
from typing import Protocol


class _ResultLike(Protocol):
    status: str
    stamp_ns: int
    receive_ns: int
    success_probability: float | None


@dataclass(frozen=True)
class CheckOutcome:
    """Answer to a ``~/check`` call: ``success`` is True only when the grasp holds."""

    success: bool
    message: str
    frames_used: int
    mean_probability: float | None


class CheckRequest:
    """One pending ``~/check``: waits for the next ``k`` fresh frames after ``since_ns``."""

    def __init__(self, k: int, timeout_s: float, since_ns: int, threshold: float) -> None:
        self.k = k
        self.timeout_s = timeout_s
        self.since_ns = since_ns
        self.threshold = threshold
        self.probabilities: list[float] = []
        self.rejected: dict[str, int] = {}
        self._done = threading.Event()

    def _offer(self, result: _ResultLike) -> None:
        # Frames stamped before the call show the scene before the grasp finished.
        stamp = result.stamp_ns if result.stamp_ns != 0 else result.receive_ns
        if stamp < self.since_ns:
            return
        if result.status != 'ok' or result.success_probability is None:
            self.rejected[result.status] = self.rejected.get(result.status, 0) + 1
            return
        self.probabilities.append(result.success_probability)
        if len(self.probabilities) >= self.k:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout_s: float | None = None) -> CheckOutcome:
        """Block until ``k`` frames arrived or the timeout passed; then give the verdict."""
        self._done.wait(self.timeout_s if timeout_s is None else timeout_s)
        return self.outcome()

    def outcome(self) -> CheckOutcome:
        probs = list(self.probabilities[: self.k])
        n = len(probs)
        skipped = ', '.join(f'{c} {s}' for s, c in sorted(self.rejected.items()))
        skipped = f' ({skipped} frames ignored)' if skipped else ''
        if n < self.k:
            if n == 0:
                why = f'no fresh frames within {self.timeout_s:g} s{skipped}'
            else:
                why = (
                    f'timeout: only {n} of {self.k} fresh frames within '
                    f'{self.timeout_s:g} s{skipped}'
                )
            return CheckOutcome(False, f'no verdict: {why}', n, None)
        mean = math.fsum(probs) / n
        holds = mean >= self.threshold
        word = 'grasp holds' if holds else 'grasp failed'
        return CheckOutcome(
            holds,
            f'{word}: confidence {mean:.3f} over {n} frames '
            f'(threshold {self.threshold:.3f}){skipped}',
            n,
            mean,
        )


class CheckCollector:
    """Thread-safe hub feeding processed frames to pending ``~/check`` requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[CheckRequest] = []

    def request(
        self, k: int, timeout_s: float, now_ns: int | None = None, threshold: float = 0.5
    ) -> CheckRequest:
        req = CheckRequest(k, timeout_s, time.time_ns() if now_ns is None else now_ns, threshold)
        with self._lock:
            self._pending.append(req)
        return req

    def offer(self, result: _ResultLike) -> None:
        with self._lock:
            if not self._pending:  # the common case: called per frame, nobody waiting
                return
            for req in self._pending:
                req._offer(result)
            self._pending = [r for r in self._pending if not r.done]

    def run_check(
        self, k: int, timeout_s: float, now_ns: int | None = None, threshold: float = 0.5
    ) -> CheckOutcome:
        """Register a request, block until it completes or times out, and answer it."""
        req = self.request(k, timeout_s, now_ns, threshold)
        try:
            return req.wait()
        finally:
            self.cancel(req)

    def cancel(self, req: CheckRequest) -> None:
        with self._lock:
            if req in self._pending:
                self._pending.remove(req)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)
