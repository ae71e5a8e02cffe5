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
What self-labelled capture costs the verdict (``make bench``; ``bag/capture.py``).

Frames arrive at ``rate_hz`` (a camera) and go through what the node does per frame:
the subscription thread's ``offer_frame``, ``Pipeline.process`` on the inference
thread, then ``offer_result``. With capture on, a ``CaptureWriter`` (policy ``all``,
``capture_before`` 1 s) writes every attempt (a ``~/check`` every second, its outcome
half a second later) to mcap bags in a temporary folder on its own thread, so
everything it does (serialising, writing, the GIL it holds meanwhile) competes with
inference, as in the node. Rounds alternate off/on so machine load touches both alike.
Reported per arm: ``Pipeline.process`` total ms (p50/p95/p99), and with capture the
hand-over calls themselves (``offer_frame`` + ``offer_result``, microseconds), frames
written and dropped, MB written.
"""

from __future__ import annotations

from pathlib import Path
import tempfile
import time
from typing import Any

import frames as bench_frames
from grasp_classifier_ros.bag.capture import CaptureConfig, CaptureWriter, folder_bytes, MB
from grasp_classifier_ros.core.decision import DecisionConfig
from grasp_classifier_ros.core.interfaces import COMPRESSED_TYPE, IMAGE_TYPE, input_kind
from grasp_classifier_ros.core.metrics import latency_summary
from grasp_classifier_ros.core.model import LoadedModel
from grasp_classifier_ros.core.outcome import OutcomeTracker
from grasp_classifier_ros.core.pipeline import Pipeline

S = 1_000_000_000


def _arm(
    pipeline: Pipeline,
    msgs: list[Any],
    n: int,
    rate_hz: float,
    writer: CaptureWriter | None,
    process_ms: list[float],
    handover_us: list[float],
) -> None:
    tracker = OutcomeTracker(window=20)
    period = 1.0 / rate_hz
    t0 = time.perf_counter()
    called = None
    for i in range(n):
        due = t0 + i * period
        while (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        now = time.time_ns()
        msg = bench_frames.restamped(msgs[i % len(msgs)], now)
        h0 = time.perf_counter_ns()
        if writer is not None:
            writer.offer_frame(msg, now)
        h1 = time.perf_counter_ns()
        result = pipeline.process(msg, now, now)
        h2 = time.perf_counter_ns()
        if writer is not None:
            writer.offer_result(result)
        h3 = time.perf_counter_ns()
        process_ms.append(result.timings_ms['total'])
        if writer is not None:
            handover_us.append(((h1 - h0) + (h3 - h2)) / 1e3)
            k = i % round(rate_hz)  # one attempt a second
            if k == 0:
                called = now
                writer.mark_check(now)
                tracker.note_check(now, now, True)
            elif k == round(rate_hz / 2) and called is not None:
                writer.end_attempt(tracker.pair(now, True), 0.5)


def measure(
    model: LoadedModel,
    msgs: list[Any],
    compressed: bool,
    *,
    rate_hz: float = 30.0,
    seconds: float = 8.0,
    rounds: int = 2,
) -> dict[str, Any]:
    """Return the per-frame cost of capture, off vs on (see the module docstring)."""
    pipeline = Pipeline(model, input_kind=input_kind(compressed), decision=DecisionConfig())
    n = max(1, round(rate_hz * seconds / rounds))
    off_ms: list[float] = []
    on_ms: list[float] = []
    handover_us: list[float] = []
    stats: dict[str, float] = {'frames_written': 0, 'dropped': 0, 'attempts_written': 0, 'mb': 0}
    with tempfile.TemporaryDirectory(prefix='grasp-capture-bench-') as tmp:
        for r in range(rounds):
            _arm(pipeline, msgs, n, rate_hz, None, off_ms, [])
            cfg = CaptureConfig(
                root=Path(tmp) / f'round{r}',
                image_topic='/camera/image_raw',
                image_type=COMPRESSED_TYPE if compressed else IMAGE_TYPE,
                before_s=1.0,
                max_bytes=64 * 1024 * MB,
            )
            writer = CaptureWriter(cfg).start()
            _arm(pipeline, msgs, n, rate_hz, writer, on_ms, handover_us)
            writer.stop()
            stats['frames_written'] += writer.stats.frames_written
            stats['dropped'] += writer.stats.dropped
            stats['attempts_written'] += writer.stats.written
            stats['mb'] += folder_bytes(cfg.root) / MB
    off, on = latency_summary(off_ms), latency_summary(on_ms)
    return {
        'rate_hz': rate_hz,
        'frames_per_arm': n * rounds,
        'process_ms_off': off,
        'process_ms_on': on,
        'process_p50_delta_ms': on['p50'] - off['p50'],
        'process_p95_delta_ms': on['p95'] - off['p95'],
        'handover_us': latency_summary(handover_us),
        **stats,
    }


def line(label: str, c: dict[str, Any]) -> str:
    """Return the one-line summary ``make bench`` prints."""
    off, on, h = c['process_ms_off'], c['process_ms_on'], c['handover_us']
    return (
        f'capture cost [{label}, {c["rate_hz"]:g} Hz, {c["frames_per_arm"]} frames/arm]: '
        f'Pipeline.process p50/p95 {off["p50"]:.2f}/{off["p95"]:.2f} ms off -> '
        f'{on["p50"]:.2f}/{on["p95"]:.2f} ms on; hand-over (offer_frame + offer_result) '
        f'p50/p99 {h["p50"]:.1f}/{h["p99"]:.1f} us; {c["frames_written"]:.0f} frames '
        f'({c["mb"]:.0f} MB) written by the capture thread, {c["dropped"]:.0f} dropped'
    )
