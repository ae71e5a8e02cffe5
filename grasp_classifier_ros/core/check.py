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
``CheckOutcome`` whose message explains itself: which frames were ignored and why
(rejected, or captured before the call), and why the wait ended.

Time is the node clock's (ROS time: it follows ``use_sim_time``), for the call's
instant, the frames' stamps and the timeout alike, so a simulation running slower
than real time waits ``check_timeout`` of simulated time. Two things bound the wait
in wall time too: a node clock that stands still (a paused simulation, a /clock
publisher gone) for ``check_timeout``, at least ``STALL_MIN_S``, ends it; a node clock
at 0 (``use_sim_time`` before the first /clock message) answers at once. When the
node clock jumps back (a bag loop, a simulation reset), ``CheckCollector.restart``
restarts the collection at the new time with the time that was left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
import threading
import time
from typing import Protocol

from .stamps import NS

STALL_MIN_S = 1.0  # wall seconds a node clock must stand still before a check gives up on it
CLOCK_HINT_S = 1.0  # frames captured this long before the call: the clocks likely differ
POLL_S = 0.01  # how often a waiting check reads the node clock
CLOCK_NOT_STARTED = (
    'no verdict: the node clock is at 0 (use_sim_time is true and no /clock message has '
    'arrived yet): publish /clock, e.g. ros2 bag play --clock'
)


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


def _times(n: int) -> str:
    return 'once' if n == 1 else f'{n} times'


class CheckRequest:
    """
    One pending ``~/check``: waits for the next ``k`` fresh frames captured after ``since_ns``.

    ``since_ns`` and the deadline (``since_ns + timeout_s``) are node-clock times. A frame's
    capture time is its stamp, or its receive time when it is unstamped.
    """

    def __init__(self, k: int, timeout_s: float, since_ns: int, threshold: float) -> None:
        self.k = k
        self.timeout_s = timeout_s
        self.since_ns = since_ns
        self.deadline_ns = since_ns + round(timeout_s * NS)
        self.threshold = threshold
        self.probabilities: list[float] = []
        self.rejected: dict[str, int] = {}
        self.before_call = 0  # frames captured before the call (ignored)
        self.newest_before_ns: int | None = None  # the latest capture time among them
        self.clock_jumps = 0  # restarts after the node clock jumped back
        self.stalled_s = 0.0  # > 0: the wait ended because the node clock stood still
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._seen_now_ns: int | None = None  # the node clock at the last poll ...
        self._seen_wall_ns = 0  # ... and the wall (monotonic) time it last changed

    def _offer(self, result: _ResultLike) -> None:
        stamp = result.stamp_ns if result.stamp_ns != 0 else result.receive_ns
        with self._lock:
            if stamp < self.since_ns:
                # Frames captured before the call show the scene before the grasp finished.
                self.before_call += 1
                if self.newest_before_ns is None or stamp > self.newest_before_ns:
                    self.newest_before_ns = stamp
                return
            if result.status != 'ok' or result.success_probability is None:
                self.rejected[result.status] = self.rejected.get(result.status, 0) + 1
                return
            self.probabilities.append(result.success_probability)
            if len(self.probabilities) >= self.k:
                self._done.set()

    def restart(self, now_ns: int, before_ns: int) -> None:
        """
        Collect afresh from ``now_ns``: the node clock jumped back from ``before_ns`` to it.

        Frames gathered so far belong to the old timeline and are dropped; the time that
        was left (deadline - ``before_ns``) is kept, so the wait stays as long as asked.
        """
        with self._lock:
            self._restart_locked(now_ns, before_ns)

    def _restart_locked(self, now_ns: int, before_ns: int) -> None:
        left = max(0, self.deadline_ns - before_ns)
        self.since_ns = now_ns
        self.deadline_ns = now_ns + left
        self.probabilities.clear()
        self.rejected.clear()
        self.before_call = 0
        self.newest_before_ns = None
        self.clock_jumps += 1
        self._seen_now_ns = now_ns

    def poll(self, now_ns: int, wall_ns: int) -> bool:
        """
        Return True when the wait is over at node time ``now_ns`` and monotonic ``wall_ns``.

        Over: ``k`` frames arrived, the deadline passed on the node clock, or the node clock
        has not moved for ``timeout_s`` (at least ``STALL_MIN_S``) of wall time. A node clock
        that went back before the call without a ``restart`` restarts the collection here.
        """
        if self._done.is_set():
            return True
        with self._lock:
            seen = self._seen_now_ns
            if now_ns < self.since_ns:  # a jump back nobody reported
                self._restart_locked(now_ns, self.since_ns if seen is None else seen)
                seen = None
            if seen is None or now_ns != seen:
                self._seen_now_ns, self._seen_wall_ns = now_ns, wall_ns
            if now_ns >= self.deadline_ns:
                return True
            stall_ns = round(max(self.timeout_s, STALL_MIN_S) * NS)
            if wall_ns - self._seen_wall_ns >= stall_ns:
                self.stalled_s = stall_ns / NS
                return True
        return False

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(
        self,
        clock_ns: Callable[[], int],
        *,
        wall_ns: Callable[[], int] = time.monotonic_ns,
        poll_s: float = POLL_S,
    ) -> CheckOutcome:
        """Block until ``k`` frames arrived or ``poll`` says the wait is over; give the verdict."""
        while not self.poll(clock_ns(), wall_ns()):
            self._done.wait(poll_s)
        return self.outcome()

    def outcome(self) -> CheckOutcome:
        with self._lock:
            probs = list(self.probabilities[: self.k])
            notes = self._notes()
            stalled = self.stalled_s
        n = len(probs)
        suffix = ' (' + '; '.join(notes) + ')' if notes else ''
        if n < self.k:
            if stalled:
                found = 'no fresh frames' if n == 0 else f'only {n} of {self.k} fresh frames'
                why = (
                    f'{found}: the node clock stood still for {stalled:g} s '
                    '(use_sim_time: is /clock still published?)'
                )
            elif n == 0:
                why = f'no fresh frames within {self.timeout_s:g} s'
            else:
                why = f'timeout: only {n} of {self.k} fresh frames within {self.timeout_s:g} s'
            return CheckOutcome(False, f'no verdict: {why}{suffix}', n, None)
        mean = math.fsum(probs) / n
        holds = mean >= self.threshold
        word = 'grasp holds' if holds else 'grasp failed'
        return CheckOutcome(
            holds,
            f'{word}: confidence {mean:.3f} over {n} frames '
            f'(threshold {self.threshold:.3f}){suffix}',
            n,
            mean,
        )

    def _notes(self) -> list[str]:
        """Return what the answer adds in parentheses: frames ignored, clock jumps."""
        notes = []
        if self.rejected:
            skipped = ', '.join(f'{c} {s}' for s, c in sorted(self.rejected.items()))
            notes.append(f'{skipped} frames ignored')
        if self.before_call:
            note = f'{self.before_call} frames captured before the call ignored'
            assert self.newest_before_ns is not None
            lag = (self.since_ns - self.newest_before_ns) / NS
            if lag > CLOCK_HINT_S:
                note += (
                    f', the newest {lag:.3g} s before it: are the camera and the node on '
                    'different clocks? (use_sim_time:=true with ros2 bag play --clock)'
                )
            notes.append(note)
        if self.clock_jumps:
            notes.append(f'restarted {_times(self.clock_jumps)}: the node clock jumped back')
        return notes


class CheckCollector:
    """Thread-safe hub feeding processed frames to pending ``~/check`` requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[CheckRequest] = []

    def request(self, k: int, timeout_s: float, now_ns: int, threshold: float) -> CheckRequest:
        """Register a request made at node time ``now_ns``."""
        req = CheckRequest(k, timeout_s, now_ns, threshold)
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

    def restart(self, now_ns: int, before_ns: int) -> None:
        """Restart every request: the node clock jumped back from ``before_ns`` to ``now_ns``."""
        with self._lock:
            for req in self._pending:
                req.restart(now_ns, before_ns)

    def run_check(
        self,
        k: int,
        timeout_s: float,
        clock_ns: Callable[[], int],
        threshold: float,
        *,
        wall_ns: Callable[[], int] = time.monotonic_ns,
        poll_s: float = POLL_S,
    ) -> CheckOutcome:
        """Register a request, block until it completes or its wait is over, and answer it."""
        now = clock_ns()
        if now == 0:
            return CheckOutcome(False, CLOCK_NOT_STARTED, 0, None)
        req = self.request(k, timeout_s, now, threshold)
        try:
            return req.wait(clock_ns, wall_ns=wall_ns, poll_s=poll_s)
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
