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
The one frame pipeline shared by the node and the bag evaluator.

``Pipeline.process`` = freshness check -> decode -> preprocess -> infer ->
decide, with per-stage timings. It never raises for a per-frame fault: bad
images, non-finite model outputs and stale frames come back as a
``FrameResult`` with a status and no verdict. ``NewestFrameWorker`` runs it on
its own thread, keeping only the newest pending frame.

Every time here is on one clock, the caller's ("now"): the node clock (ROS time,
which follows ``use_sim_time``) in the node, the bag's clock in evaluation.
``restart_stream`` starts a new stream when that clock jumps back (a bag loop, a
simulation reset) or the node is activated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import logging
import threading
import time
from typing import Any

import numpy as np

from .check import CheckCollector, CheckOutcome
from .decision import Decider, Decision, DecisionConfig
from .errors import ImageConversionError
from .familiarity import FamiliarityMonitor, REFERENCE_WINDOW
from .image_codec import DecodedImage, DEFAULT_MAX_PIXELS, to_color_order
from .interfaces import InputKind, RAW
from .metadata import ModelMetadata
from .model import LoadedModel
from .mount import Mount, UPRIGHT
from .preprocess import Preprocessor
from .roi import FULL_FRAME, Roi
from .stamps import stamp_to_ns
from .stats import StreamStats

_LOG = logging.getLogger(__name__)
STATUSES = ('ok', 'stale', 'future', 'out_of_order', 'bad_image', 'nonfinite', 'error')


@dataclass
class FrameResult:
    """What the pipeline made of one frame. ``decision`` is None unless status is 'ok'."""

    header: Any
    stamp_ns: int
    receive_ns: int
    status: str
    decision: Decision | None = None
    probabilities: np.ndarray | None = None
    success_probability: float | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    preview: np.ndarray | None = None
    done_ns: int = 0  # "now" + the processing time: the caller's clock, like receive_ns
    class_names: tuple[str, ...] = ()  # of the model that made ``probabilities``

    @property
    def success(self) -> bool:
        """Return True only for a fresh frame whose verdict is SUCCESS."""
        return self.decision is not None and self.decision.success


class Pipeline:
    """
    Decode -> preprocess -> infer -> decide for one camera stream.

    What a caller needs besides ``process``: ``metadata``, ``decision``,
    ``threshold``, ``roi``, ``model``; ``run_check`` (the ``~/check`` answer), ``snapshot``
    (diagnostics), ``keep_previews`` (debug images); ``configure`` and
    ``swap_model`` via ``configure.apply_params`` / ``configure.reload_model``.
    """

    def __init__(
        self,
        model: LoadedModel,
        *,
        decision: DecisionConfig | None = None,
        roi: Roi = FULL_FRAME,
        mount: Mount = UPRIGHT,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        input_kind: InputKind = RAW,
        familiarity: tuple[int, float] = (REFERENCE_WINDOW, 1.0),
    ) -> None:
        self._lock = threading.RLock()
        self.model = model
        self.input_kind = input_kind
        self.max_pixels = max_pixels
        self.preprocessor = Preprocessor(model.metadata, model.device, model.dtype, roi, mount)
        cfg = decision or DecisionConfig(threshold=model.metadata.threshold)
        self.decider = Decider(cfg)
        self.check = CheckCollector()
        self.stats = StreamStats()
        self.familiarity = self._monitor(model, familiarity, mount)
        self._keep_previews = False
        self._restart = threading.Event()  # set: the decider starts a new stream

    @property
    def metadata(self) -> ModelMetadata:
        return self.model.metadata

    @property
    def decision(self) -> DecisionConfig:
        """Return the decision rules in force (threshold resolved)."""
        return self.decider.config

    @property
    def threshold(self) -> float:
        return self.decider.config.threshold

    @property
    def roi(self) -> Roi:
        return self.preprocessor.roi

    @property
    def mount(self) -> Mount:
        return self.preprocessor.mount

    @property
    def previews(self) -> bool:
        """Whether results carry the frame (``FrameResult.preview``, BGR) for a debug image."""
        return self._keep_previews

    def keep_previews(self, wanted: bool) -> None:
        """Attach each frame's pixels to its result from the next frame on (or stop)."""
        self._keep_previews = wanted

    def run_check(self, k: int, timeout_s: float, clock_ns: Callable[[], int]) -> CheckOutcome:
        """
        Answer ``~/check``: the verdict over the next ``k`` fresh frames at the threshold.

        Blocks the calling thread (never the worker) until they arrived or ``timeout_s``
        passed on ``clock_ns`` (the node clock; see ``check`` for the wall-time bounds).
        """
        return self.check.run_check(k, timeout_s, clock_ns, self.threshold)

    def restart_stream(self, now_ns: int, jumped_from_ns: int | None = None) -> None:
        """
        Start a new stream at ``now_ns``: the clock jumped back, or the node was activated.

        The decider forgets its last stamp, smoothing and hysteresis state (before the next
        frame; at once when no frame is in progress), the rate statistics start over and,
        when the clock jumped back from ``jumped_from_ns``, pending ``~/check`` requests
        collect afresh from ``now_ns``. Never blocks: a clock's jump callback calls it.
        """
        self._restart.set()
        if self._lock.acquire(blocking=False):
            try:
                self._apply_restart()
            finally:
                self._lock.release()
        self.stats.restart(now_ns)
        if jumped_from_ns is not None:
            self.check.restart(now_ns, jumped_from_ns)

    def _apply_restart(self) -> None:
        if self._restart.is_set():
            self._restart.clear()
            self.decider.restart()

    @staticmethod
    def _monitor(
        model: LoadedModel, settings: tuple[int, float], mount: Mount
    ) -> FamiliarityMonitor:
        """Return the out-of-depth monitor for ``model`` (window, threshold factor)."""
        return FamiliarityMonitor(
            model.familiarity,
            window=settings[0],
            scale=settings[1],
            color_order=model.metadata.color_order,
            mount=mount,
        )

    def snapshot(self, now_ns: int) -> dict[str, Any]:
        """Return rolling stream statistics for diagnostics (``StreamStats.snapshot``)."""
        return self.stats.snapshot(now_ns)

    def configure(
        self,
        decision: DecisionConfig,
        roi: Roi,
        max_pixels: int,
        mount: Mount = UPRIGHT,
        familiarity: tuple[int, float] | None = None,
    ) -> None:
        """
        Serve with new settings from the next frame on (``configure.apply_params``).

        Smoothing restarts only when the decision rules or the camera mount change; the
        out-of-depth monitor's window when the mount or the ROI change (``familiarity``:
        its window and threshold factor, None: unchanged).
        """
        with self._lock:
            if decision != self.decider.config or mount != self.preprocessor.mount:
                self.decider.set_config(decision)
            if mount != self.preprocessor.mount or tuple(roi) != tuple(self.preprocessor.roi):
                self.familiarity.reset()
            window, scale = familiarity or (None, None)
            self.familiarity.configure(window, scale, mount)
            self.preprocessor.roi = roi
            self.preprocessor.mount = mount
            self.max_pixels = max_pixels

    def swap_model(self, model: LoadedModel, decision: DecisionConfig) -> None:
        """
        Serve ``model`` with ``decision`` from the next frame on (``configure.reload_model``).

        Load the model first; this cannot fail.
        """
        with self._lock:
            pre = self.preprocessor
            self.model = model
            self.preprocessor = Preprocessor(
                model.metadata, model.device, model.dtype, pre.roi, pre.mount
            )
            monitor = self.familiarity
            self.familiarity = self._monitor(model, (monitor.window, monitor.scale), pre.mount)
            self.decider.set_config(decision)

    def decode(self, msg: Any) -> DecodedImage:
        """Decode a message of the configured input kind."""
        return self.input_kind.decode(msg, self.max_pixels, self.preprocessor.decode_min_size())

    def process(self, msg: Any, now_ns: int, receive_ns: int | None = None) -> FrameResult:
        """Classify one frame; never raises for per-frame faults."""
        t0 = time.perf_counter_ns()
        rx = now_ns if receive_ns is None else receive_ns
        header = getattr(msg, 'header', None)
        try:
            stamp_ns = stamp_to_ns(header.stamp)  # type: ignore[union-attr]
        except (AttributeError, TypeError, ValueError, OverflowError):  # int(inf) overflows
            result = FrameResult(header, 0, rx, 'bad_image', error='message has no header.stamp')
            return self._finish(result, t0, now_ns)
        with self._lock:
            try:
                self._apply_restart()
                result = self._process_locked(msg, header, stamp_ns, now_ns, rx, t0)
            except Exception as exc:  # a per-frame fault must never kill the worker
                _LOG.exception('unexpected error while processing a frame')
                result = FrameResult(
                    header, stamp_ns, rx, 'error', error=f'{type(exc).__name__}: {exc}'
                )
        return self._finish(result, t0, now_ns)

    def _process_locked(
        self, msg: Any, header: Any, stamp_ns: int, now_ns: int, rx: int, t0: int
    ) -> FrameResult:
        chk = self.decider.check_stamp(stamp_ns, now_ns)
        if not chk.ok:
            return FrameResult(header, stamp_ns, rx, chk.status, error=chk.reason)
        try:
            img = self.decode(msg)
        except ImageConversionError as exc:
            return FrameResult(header, stamp_ns, rx, 'bad_image', error=str(exc))
        t1 = time.perf_counter_ns()
        small = self.preprocessor.resize(img)
        x = self.preprocessor.to_tensor(small)
        t2 = time.perf_counter_ns()
        pred = self.model.classify(x)  # .cpu() inside synchronises CUDA: timings are true
        probs = pred.probabilities[0]
        t3 = time.perf_counter_ns()
        timings = {
            'decode': (t1 - t0) / 1e6,
            'preprocess': (t2 - t1) / 1e6,
            'inference': (t3 - t2) / 1e6,
        }
        if not np.all(np.isfinite(probs)):
            return FrameResult(
                header,
                stamp_ns,
                rx,
                'nonfinite',
                probabilities=probs,
                timings_ms=timings,
                error='model output is NaN/inf; frame skipped (check the model file)',
                class_names=tuple(self.model.metadata.class_names),
            )
        p = float(pred.success[0])
        decision = self.decider.update(p, stamp_ns, now_ns)
        t4 = time.perf_counter_ns()
        timings['decision'] = (t4 - t3) / 1e6
        self.familiarity.observe(small)
        timings['familiarity'] = (time.perf_counter_ns() - t4) / 1e6
        preview = None
        if self._keep_previews:
            preview = np.ascontiguousarray(to_color_order(img, 'bgr'))
        return FrameResult(
            header,
            stamp_ns,
            rx,
            'ok',
            decision=decision,
            probabilities=probs,
            success_probability=p,
            timings_ms=timings,
            preview=preview,
            class_names=tuple(self.model.metadata.class_names),
        )

    def _finish(self, result: FrameResult, t0: int, now_ns: int) -> FrameResult:
        elapsed = time.perf_counter_ns() - t0
        result.timings_ms['total'] = elapsed / 1e6
        result.done_ns = now_ns + elapsed
        decision = result.decision
        self.stats.record_result(
            result.status,
            result.timings_ms['total'],
            decision.age_s if decision is not None else None,
            new_stream=decision is not None and decision.new_stream_after_s > 0,
        )
        self.check.offer(result)
        return result


class NewestFrameWorker:
    """
    Run a pipeline on its own thread over the newest submitted frame only.

    ``submit`` never blocks: a frame arriving while another waits replaces it
    (the replaced one is counted as dropped). ``clock_ns`` gives "now" for the
    freshness check — the node clock (ROS time) in the node, replayed bag time in
    evaluation, wall time by default.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        on_result: Callable[[FrameResult], None],
        clock_ns: Callable[[], int] = time.time_ns,
        name: str = 'grasp-inference',
    ) -> None:
        self.pipeline = pipeline
        self.on_result = on_result
        self.clock_ns = clock_ns
        self._cond = threading.Condition()
        self._pending: tuple[Any, int] | None = None
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.submitted = 0
        self.dropped = 0
        self.processed = 0
        self.callback_errors = 0

    def start(self) -> NewestFrameWorker:
        self._thread.start()
        return self

    def submit(self, msg: Any, receive_ns: int | None = None) -> bool:
        """Queue ``msg`` as the newest frame; return True if it replaced an unprocessed one."""
        rx = self.clock_ns() if receive_ns is None else receive_ns
        self.pipeline.stats.record_input(rx)
        with self._cond:
            replaced = self._pending is not None
            if replaced:
                self.dropped += 1
                self.pipeline.stats.record_drop()
            self._pending = (msg, rx)
            self.submitted += 1
            self._cond.notify()
        return replaced

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Block until nothing is pending or running; return False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._pending is None and not self._busy, timeout=timeout_s
            )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the frame in progress; wait for that unless called from ``on_result``."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._stop)
                if self._stop:
                    return
                assert self._pending is not None
                msg, rx = self._pending
                self._pending = None
                self._busy = True
            try:
                result = self.pipeline.process(msg, self.clock_ns(), rx)
                self.processed += 1
                try:
                    self.on_result(result)
                except Exception:  # a publisher error must not stop inference
                    self.callback_errors += 1
                    _LOG.exception('result callback failed')
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
