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
Rolling counters, rates and latency percentiles for diagnostics and reports.

Times are the caller's clock (the node clock: ROS time, sim time included). That clock
may jump back (a bag loop, a simulation reset) or read 0 (``use_sim_time`` before the
first /clock message): ``StreamStats.restart`` starts the rate window and "seconds since
the last frame" over at a jump; arrivals at time 0 never enter the rate; a clock found
more than ``CLOCK_SLACK_S`` behind the last frame without a restart is treated as one
(less is the race of a snapshot's "now" read just before a frame arrived: 0 s then).
"""

from __future__ import annotations

from collections import Counter, deque
import threading
from typing import Any

import numpy as np

from .stamps import NS

RECENT = 30  # frames the recent statuses (and the diagnostics' fractions) cover
STALE = ('stale', 'future')  # stamp too old or too far ahead: no verdict
REJECTED = ('out_of_order', 'bad_image', 'nonfinite', 'error')  # the other frames without one
CLOCK_SLACK_S = 1.0  # a snapshot's clock this far behind the last frame: the clock went back


def percentiles(values: list[float] | np.ndarray, qs: tuple[float, ...] = (50, 95, 99)) -> dict:
    """Return ``{'p50': .., 'p95': .., ...}`` (NaN-free; empty input gives NaN values)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return {f'p{q:g}': float('nan') for q in qs}
    return {f'p{q:g}': float(np.percentile(arr, q)) for q in qs}


class StreamStats:
    """
    Thread-safe rolling statistics of one camera stream through the pipeline.

    Bounded memory: only the last ``window`` samples are kept, so a node running
    for weeks does not grow.
    """

    def __init__(self, window: int = 300) -> None:
        self._lock = threading.Lock()
        self._arrivals: deque[int] = deque(maxlen=window)
        self._latency_ms: deque[float] = deque(maxlen=window)
        self._e2e_ms: deque[float] = deque(maxlen=window)
        self.counts: Counter[str] = Counter()
        self.dropped = 0
        self.received = 0
        self.last_receive_ns: int | None = None
        self.last_stamp_age_s: float | None = None
        self.last_status: str | None = None
        self.recent_status: deque[str] = deque(maxlen=RECENT)
        self.recent_new_stream: deque[bool] = deque(maxlen=RECENT)  # stamps jumped back
        self.restarts = 0  # restart() calls: clock jumps, activations
        self.new_streams = 0  # frames whose stamps started a new stream
        self._restarted_ns: int | None = None  # the clock at the last restart

    def record_input(self, receive_ns: int) -> None:
        with self._lock:
            self.received += 1
            if self._arrivals and receive_ns < self._arrivals[-1]:
                self._arrivals.clear()  # the clock went back: the old arrivals say nothing
            if receive_ns != 0:  # 0: the node clock has not started (use_sim_time)
                self._arrivals.append(receive_ns)
            self.last_receive_ns = receive_ns

    def restart(self, now_ns: int) -> None:
        """
        Start the stream's timing over at ``now_ns`` (the clock jumped back, or activation).

        The rate window empties and "seconds since the last frame" counts from ``now_ns``
        until a frame arrives (if any frame ever came: before the first one it stays "no
        frames received yet"), so a camera that stays dead after a jump is reported once
        ``camera_timeout`` has passed. Counts, latencies and recent statuses stay.
        """
        with self._lock:
            self._restart_locked(now_ns)
            self.restarts += 1

    def _restart_locked(self, now_ns: int) -> None:
        self._arrivals.clear()
        self.last_receive_ns = None
        self._restarted_ns = now_ns

    def record_drop(self, n: int = 1) -> None:
        with self._lock:
            self.dropped += n

    def record_result(
        self,
        status: str,
        total_ms: float | None,
        age_s: float | None,
        e2e_ms: float | None = None,
        *,
        new_stream: bool = False,
    ) -> None:
        with self._lock:
            self.counts[status] += 1
            self.last_status = status
            self.recent_status.append(status)
            self.recent_new_stream.append(new_stream)
            self.new_streams += new_stream
            if age_s is not None:
                self.last_stamp_age_s = age_s
            if total_ms is not None and status == 'ok':
                self._latency_ms.append(total_ms)
            if e2e_ms is not None and status == 'ok':
                self._e2e_ms.append(e2e_ms)

    def input_rate_hz(self) -> float:
        """Arrival rate over the kept window (0 when fewer than two frames)."""
        with self._lock:
            if len(self._arrivals) < 2:
                return 0.0
            span = (self._arrivals[-1] - self._arrivals[0]) / NS
            return (len(self._arrivals) - 1) / span if span > 0 else 0.0

    def snapshot(self, now_ns: int) -> dict[str, Any]:
        """Everything diagnostics publish, as plain Python values."""
        with self._lock:
            last = self.last_receive_ns
            if last is None and self.received:
                last = self._restarted_ns  # frames came before the restart, none since
            if last is not None and last - now_ns > CLOCK_SLACK_S * NS:  # back, unannounced
                self._restart_locked(now_ns)
                last = now_ns
        rate = self.input_rate_hz()
        with self._lock:
            lat = percentiles(list(self._latency_ms), (50, 95))
            e2e = percentiles(list(self._e2e_ms), (50, 95))
            since = None if last is None else max(0, now_ns - last) / NS
            recent = list(self.recent_status)
            return {
                'received': self.received,
                'processed': sum(self.counts.values()),
                'dropped': self.dropped,
                'counts': dict(self.counts),
                'input_rate_hz': rate,
                'seconds_since_last_frame': since,
                'no_frame_since_restart': self.last_receive_ns is None and last is not None,
                'last_frame_age_s': self.last_stamp_age_s,
                'latency_ms_p50': lat['p50'],
                'latency_ms_p95': lat['p95'],
                'e2e_ms_p50': e2e['p50'],
                'e2e_ms_p95': e2e['p95'],
                'recent_counts': dict(Counter(recent)),
                'recent_stale_fraction': (
                    sum(1 for s in recent if s in STALE) / len(recent) if recent else 0.0
                ),
                'recent_fault_fraction': (
                    sum(1 for s in recent if s in REJECTED) / len(recent) if recent else 0.0
                ),
                'recent_new_streams': sum(self.recent_new_stream),
                'restarts': self.restarts,
                'new_streams': self.new_streams,
            }


def assess(snapshot: dict[str, Any], camera_timeout_s: float) -> tuple[str, str]:
    """Map a ``StreamStats.snapshot`` to a diagnostic level ('OK'/'WARN'/'ERROR') and message."""
    since = snapshot['seconds_since_last_frame']
    if since is None:
        return 'ERROR', 'no frames received yet: is the camera publishing on image_topic?'
    if since > camera_timeout_s:
        restarted = ' since the stream restarted' if snapshot.get('no_frame_since_restart') else ''
        return (
            'ERROR',
            f'camera stopped: no frame for {since:.2f} s{restarted} '
            f'(camera_timeout={camera_timeout_s} s)',
        )
    if snapshot['recent_stale_fraction'] >= 1.0:
        return 'ERROR', 'all recent frames are stale or future-stamped: no verdicts are published'
    recent = snapshot.get('recent_counts', {})
    if recent and not recent.get('ok'):  # e.g. every frame NaN or out of order: not 'classifying'
        why = ', '.join(f'{n} {status}' for status, n in sorted(recent.items()))
        return 'ERROR', f'no verdict from any of the last {sum(recent.values())} frames ({why})'
    new_streams = snapshot.get('recent_new_streams', 0)
    if new_streams >= 2:  # one is a camera restart or a bag loop; more, several clocks
        return (
            'WARN',
            f'frame stamps jumped back {new_streams} times in the last {RECENT} frames, each '
            'starting a new stream: several publishers on different clocks?',
        )
    if snapshot['recent_stale_fraction'] > 0:
        return 'WARN', f'{snapshot["recent_stale_fraction"]:.0%} of recent frames stale'
    if snapshot['recent_fault_fraction'] > 0:
        rejected = ', '.join(f'{n} {s}' for s, n in sorted(recent.items()) if s in REJECTED)
        return (
            'WARN',
            f'{snapshot["recent_fault_fraction"]:.0%} of recent frames rejected ({rejected})',
        )
    return 'OK', 'classifying'
