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
Turn per-frame success probabilities into verdicts a grasp controller can trust.

Rules (documented in the README, tested exactly):

* Staleness: a frame whose header stamp is older than ``max_frame_age`` seconds
  (relative to ``now``), zero (unstamped), more than ``max_future_skew`` seconds
  in the future, or not newer than the last accepted frame never yields a
  verdict. ``max_frame_age = 0`` disables the age, zero-stamp and future checks.
* A new stream: a stamp more than ``DecisionConfig.jump_back_s`` before the last
  accepted one (``max_frame_age + max_future_skew``, which a node clock that never
  goes back cannot produce; ``camera_timeout`` when ``max_frame_age`` is 0) is not
  out of order but the first frame of a new stream (a camera restart, a bag loop
  without /clock): all state is forgotten, as ``restart`` does on a clock jump.
* A gap longer than ``DecisionConfig.gap_s`` between accepted frames
  (``max_frame_age``, or ``camera_timeout`` when that is 0; between their stamps,
  or between their ``now`` when a frame is unstamped) resets smoothing and the
  hysteresis state, so evidence from before the gap never carries over.
* Smoothing over the last ``window`` frames: ``none`` (the frame itself),
  ``ema`` (alpha = 2 / (window + 1)) or ``vote`` (each frame votes success if
  p >= on-level, failure if p <= off-level, else abstains).
* Hysteresis: on-level = threshold + hysteresis, off-level = threshold -
  hysteresis. SUCCESS needs the smoothed score >= on-level, FAILURE needs it
  <= off-level; inside the band the previous verdict holds, or UNCERTAIN if
  there is none yet. Only SUCCESS reports ``success = True``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import enum

from .stamps import NS


class Verdict(str, enum.Enum):
    SUCCESS = 'success'
    FAILURE = 'failure'
    UNCERTAIN = 'uncertain'
    STALE = 'stale'
    NO_DATA = 'no_data'


@dataclass(frozen=True)
class DecisionConfig:
    """Decision parameters; ``threshold`` is already resolved (``params.resolve_threshold``)."""

    threshold: float = 0.5
    hysteresis: float = 0.05
    smoothing: str = 'ema'
    window: int = 3
    max_frame_age: float = 0.5
    max_future_skew: float = 0.1
    camera_timeout: float = 1.0  # only the stream rules below use it (max_frame_age = 0)

    @property
    def on_level(self) -> float:
        return min(1.0, self.threshold + self.hysteresis)

    @property
    def off_level(self) -> float:
        return max(0.0, self.threshold - self.hysteresis)

    @property
    def gap_s(self) -> float:
        """Return the gap between accepted frames after which evidence is forgotten."""
        return self.max_frame_age if self.max_frame_age > 0 else self.camera_timeout

    @property
    def jump_back_s(self) -> float:
        """Return how far a stamp must lie before the last one to start a new stream."""
        if self.max_frame_age > 0:
            return self.max_frame_age + self.max_future_skew
        return self.camera_timeout


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    probability: float
    smoothed: float
    age_s: float
    new_stream_after_s: float = 0.0  # > 0: this frame's stamp jumped back that far (new stream)

    @property
    def success(self) -> bool:
        return self.verdict is Verdict.SUCCESS


@dataclass(frozen=True)
class StampCheck:
    """Outcome of the freshness check; ``status`` is 'ok', 'stale', 'future' or 'out_of_order'."""

    status: str
    age_s: float
    reason: str = ''

    @property
    def ok(self) -> bool:
        return self.status == 'ok'


class Decider:
    """Stateful hysteresis + smoothing + staleness logic for one camera stream."""

    def __init__(self, config: DecisionConfig) -> None:
        self.config = config
        self._history: deque[float] = deque(maxlen=config.window)
        self._ema: float | None = None
        self._state: Verdict | None = None
        self._last_stamp_ns: int | None = None  # of the last accepted frame with a stamp
        self._last_now_ns: int | None = None  # ``now`` of the last accepted frame

    def set_config(self, config: DecisionConfig) -> None:
        """Apply new parameters; smoothing state restarts so old evidence is not reinterpreted."""
        self.config = config
        self._history = deque(maxlen=config.window)
        self._ema = None
        self._state = None

    def reset(self) -> None:
        """Forget all evidence (after a gap, a model swap, or on request)."""
        self._history.clear()
        self._ema = None
        self._state = None

    def restart(self) -> None:
        """Start a new stream: forget the evidence and the last stamp (clock jump, activation)."""
        self.reset()
        self._last_stamp_ns = None
        self._last_now_ns = None

    def _jumped_back_s(self, stamp_ns: int) -> float:
        """Return how far ``stamp_ns`` lies before the last stamp if that starts a new stream."""
        last = self._last_stamp_ns
        if stamp_ns == 0 or last is None:
            return 0.0
        back = (last - stamp_ns) / NS
        return back if back > self.config.jump_back_s else 0.0

    def check_stamp(self, stamp_ns: int, now_ns: int) -> StampCheck:
        """Decide whether a frame is fresh enough to be classified at all."""
        cfg = self.config
        age = (now_ns - stamp_ns) / NS
        if cfg.max_frame_age > 0:
            if stamp_ns == 0:
                return StampCheck(
                    'stale',
                    age,
                    'header.stamp is zero (unstamped frame); fix the camera driver or set '
                    'max_frame_age:=0 to disable freshness checks',
                )
            if age > cfg.max_frame_age:
                return StampCheck(
                    'stale', age, f'frame is {age:.3f} s old (max_frame_age={cfg.max_frame_age} s)'
                )
            if -age > cfg.max_future_skew:
                return StampCheck(
                    'future',
                    age,
                    f'frame stamp is {-age:.3f} s in the future (max_future_skew='
                    f'{cfg.max_future_skew} s); camera and node clocks disagree '
                    '(check use_sim_time / clock sync)',
                )
        if (
            stamp_ns != 0
            and self._last_stamp_ns is not None
            and stamp_ns <= self._last_stamp_ns
            and not self._jumped_back_s(stamp_ns)
        ):
            return StampCheck(
                'out_of_order',
                age,
                f'stamp {stamp_ns} ns is not newer than the last frame ({self._last_stamp_ns} ns)',
            )
        return StampCheck('ok', age)

    def update(self, probability: float, stamp_ns: int, now_ns: int) -> Decision:
        """
        Fold one fresh frame's calibrated success probability into a verdict.

        Call only after ``check_stamp`` returned ok for the same frame.
        """
        cfg = self.config
        age = (now_ns - stamp_ns) / NS
        jumped_back = self._jumped_back_s(stamp_ns)
        if jumped_back:
            self.restart()
        last, last_now = self._last_stamp_ns, self._last_now_ns
        if stamp_ns != 0 and last is not None:
            gap = (stamp_ns - last) / NS
        elif last_now is not None:
            gap = abs(now_ns - last_now) / NS
        else:
            gap = 0.0
        if gap > cfg.gap_s:
            self.reset()
        if stamp_ns != 0:
            self._last_stamp_ns = stamp_ns
        self._last_now_ns = now_ns
        p = float(probability)
        on, off = cfg.on_level, cfg.off_level
        if cfg.smoothing == 'vote':
            vote = 1.0 if p >= on else (0.0 if p <= off else 0.5)
            self._history.append(vote)
            n = len(self._history)
            yes = sum(1 for v in self._history if v == 1.0)
            no = sum(1 for v in self._history if v == 0.0)
            smoothed = yes / n
            new_state = Verdict.SUCCESS if yes * 2 > n else Verdict.FAILURE if no * 2 > n else None
        else:
            if cfg.smoothing == 'ema' and self._ema is not None:
                alpha = 2.0 / (cfg.window + 1)
                smoothed = alpha * p + (1.0 - alpha) * self._ema
            else:
                smoothed = p
            self._ema = smoothed
            new_state = (
                Verdict.SUCCESS if smoothed >= on else Verdict.FAILURE if smoothed <= off else None
            )
        if new_state is not None:
            self._state = new_state
        verdict = self._state if self._state is not None else Verdict.UNCERTAIN
        return Decision(verdict, p, smoothed, age, jumped_back)
