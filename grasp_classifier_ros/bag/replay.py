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
Drive the node's own ``Pipeline`` / ``NewestFrameWorker`` over recorded frames.

Two modes:

* ``replay_fast``: every frame goes through ``Pipeline.process`` in order, as
  fast as the CPU allows. "Now" for the freshness check is the frame's own
  header stamp plus a nominal latency (default 10 ms), so every properly
  stamped frame is fresh and the run measures the classifier, not the
  replay: transport delay does not exist offline, and using the wall clock
  would make every recorded frame stale. What stays exactly as live: frames
  with a zero stamp are rejected, out-of-order stamps are rejected, and a
  gap between frames longer than ``max_frame_age`` resets smoothing.
* ``replay_realtime``: a feeder thread submits frames to a
  ``NewestFrameWorker`` at their recorded pace (``rate`` times faster), so a
  slow model drops frames exactly as the node would. The worker's clock maps
  wall time onto the bag's log-time axis (``t0 + rate * elapsed``), so the
  pipeline's staleness check sees the same ages as a live node: a frame whose
  classification starts more than ``max_frame_age`` after its stamp is
  reported ``stale`` and never classified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
import threading
import time
from typing import Any

from .io import BagMessage
from ..core.decision import Decision
from ..core.pipeline import FrameResult, NewestFrameWorker, Pipeline
from ..core.stamps import NS, stamp_to_ns

DROPPED = 'dropped'


@dataclass
class FrameRecord:
    """
    One frame of a bag and what became of it: the pipeline's result plus the bag's fields.

    ``result`` is None for a frame that was never processed (status 'dropped').
    """

    index: int
    stamp_ns: int
    log_ns: int
    header: Any = None
    result: FrameResult | None = None
    result_log_ns: int | None = None  # when the result was published, on the bag's clock
    e2e_ms: float | None = None
    label: bool | None = None
    episode: int | None = None

    @property
    def status(self) -> str:
        return DROPPED if self.result is None else self.result.status

    @property
    def probability(self) -> float | None:
        """Calibrated success probability of the frame (fresh frames only)."""
        return None if self.result is None else self.result.success_probability

    @property
    def probabilities(self) -> list[float] | None:
        p = None if self.result is None else self.result.probabilities
        return None if p is None else [float(v) for v in p]

    @property
    def smoothed(self) -> float | None:
        d = self._decision
        return None if d is None else d.smoothed

    @property
    def verdict(self) -> str:
        d = self._decision
        return '' if d is None else d.verdict.value

    @property
    def age_ms(self) -> float | None:
        d = self._decision
        return None if d is None else d.age_s * 1e3

    @property
    def timings_ms(self) -> dict[str, float]:
        return {} if self.result is None else self.result.timings_ms

    @property
    def error(self) -> str:
        return '' if self.result is None else self.result.error or ''

    @property
    def _decision(self) -> Decision | None:
        return None if self.result is None else self.result.decision


@dataclass
class ReplayRun:
    """Records of every frame plus run totals."""

    mode: str
    records: list[FrameRecord]
    wall_s: float
    submitted: int = 0
    processed: int = 0
    dropped: int = 0
    rate: float = 1.0
    nominal_latency_s: float = 0.0


def _stamp(msg: Any) -> int:
    try:
        return stamp_to_ns(msg.header.stamp)
    except (AttributeError, TypeError, ValueError):
        return 0


def replay_fast(
    pipeline: Pipeline,
    frames: Iterable[BagMessage],
    *,
    nominal_latency_s: float = 0.01,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayRun:
    """Run every frame through ``pipeline.process`` with now = stamp + nominal latency."""
    lat_ns = round(nominal_latency_s * NS)
    records: list[FrameRecord] = []
    t0 = time.perf_counter()
    for m in frames:
        stamp = _stamp(m.msg)
        rec = FrameRecord(len(records), stamp, m.log_ns, header=getattr(m.msg, 'header', None))
        records.append(rec)
        result = pipeline.process(m.msg, stamp + lat_ns, m.log_ns + lat_ns)
        rec.result = result
        rec.result_log_ns = m.log_ns + lat_ns + round(result.timings_ms.get('total', 0.0) * 1e6)
        if progress is not None:
            progress(len(records), 0)
    wall = time.perf_counter() - t0
    n = len(records)
    return ReplayRun('fast', records, wall, n, n, 0, 1.0, nominal_latency_s)


class BagClock:
    """Map wall (monotonic) time onto the bag's log-time axis at ``rate`` x speed."""

    def __init__(self, t0_ns: int, rate: float) -> None:
        self.t0_ns = t0_ns
        self.rate = rate
        self.w0_ns = time.monotonic_ns()

    def now_ns(self) -> int:
        return self.t0_ns + round((time.monotonic_ns() - self.w0_ns) * self.rate)

    def wall_deadline_ns(self, bag_ns: int) -> int:
        """Monotonic wall time at which the bag clock reaches ``bag_ns``."""
        return self.w0_ns + round((bag_ns - self.t0_ns) / self.rate)


def replay_realtime(
    pipeline: Pipeline,
    frames: Iterable[BagMessage],
    *,
    rate: float = 1.0,
    t0_ns: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> ReplayRun:
    """
    Feed frames at their recorded pace to a ``NewestFrameWorker`` on a bag-time clock.

    ``t0_ns`` is the bag time the clock starts at (default: the first frame's
    log time). ``progress(submitted, dropped)`` is called from the caller's
    thread about ten times a second. ``stop`` ends the replay early.
    """
    if rate <= 0:
        raise ValueError(f'rate must be > 0, got {rate}')
    stop = stop or threading.Event()
    records: list[FrameRecord] = []
    in_flight: dict[int, FrameRecord] = {}
    lock = threading.Lock()
    clock_box: list[BagClock] = []
    feeder_error: list[BaseException] = []

    def clock_ns() -> int:
        return clock_box[0].now_ns()

    def on_result(result: FrameResult) -> None:
        done = clock_ns()
        with lock:
            rec = in_flight.pop(id(result.header), None)
        if rec is None:
            return
        rec.result = result
        rec.result_log_ns = done
        rec.e2e_ms = (done - rec.stamp_ns) / 1e6 if rec.stamp_ns else None

    worker = NewestFrameWorker(pipeline, on_result, clock_ns=clock_ns, name='grasp-replay')

    def feed() -> None:
        try:
            for m in frames:
                if stop.is_set():
                    return
                if not clock_box:
                    clock_box.append(BagClock(m.log_ns if t0_ns is None else t0_ns, rate))
                    worker.start()
                delay = clock_box[0].wall_deadline_ns(m.log_ns) - time.monotonic_ns()
                if delay > 0 and stop.wait(delay / NS):
                    return
                hdr = getattr(m.msg, 'header', None)
                rec = FrameRecord(len(records), _stamp(m.msg), m.log_ns, header=hdr)
                with lock:
                    records.append(rec)
                    if hdr is not None:
                        in_flight[id(hdr)] = rec  # rec holds hdr, so the id stays unique
                worker.submit(m.msg)
        except BaseException as exc:  # re-raised on the caller's thread
            feeder_error.append(exc)

    t0 = time.perf_counter()
    feeder = threading.Thread(target=feed, name='grasp-replay-feeder', daemon=True)
    feeder.start()
    try:
        while feeder.is_alive():
            feeder.join(0.1)
            if progress is not None:
                progress(worker.submitted, worker.dropped)
    except KeyboardInterrupt:
        stop.set()
        feeder.join()
        raise
    finally:
        if clock_box:
            worker.wait_idle(timeout_s=60.0)
            worker.stop()
    if feeder_error:
        raise feeder_error[0]
    if progress is not None:
        progress(worker.submitted, worker.dropped)
    wall = time.perf_counter() - t0
    return ReplayRun(
        'realtime',
        records,
        wall,
        worker.submitted,
        worker.processed,
        worker.dropped,
        rate,
    )
