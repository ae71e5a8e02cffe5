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
Self-labelled capture: each grasp attempt's frames, labelled by the controller's outcome.

``CaptureWriter`` runs on its own thread. The node hands it, without ever blocking:

* every frame as received (``offer_frame``, the subscription's thread) and every result
  the node published (``offer_result``, the inference thread): both only append to a
  bounded queue; when it is full the item is counted as dropped, inference never waits;
* a ``~/check`` call (``mark_check``) and each paired outcome (``end_attempt``, a
  ``core.outcome.Attempt``): these always enter the queue.

The thread keeps the frames of the last ``before_s`` seconds (and, while a ``~/check``
is open, every frame since ``before_s`` before it). When an attempt ends and the policy
wants it (``all``; ``disagreements``: verdict and outcome differ, or no verdict;
``sample``: the 1st, (N+1)th, ... attempt), it writes to a rosbag2 mcap bag, after a short
grace for the last results: the frames from ``before_s`` before the ``~/check`` (or the
outcome) until the outcome, serialised exactly as received, on the camera topic;
``/grasp/label`` (std_msgs/Bool, the outcome) once at the attempt's start; the node's
``/grasp/result`` for those frames; ``/grasp/label_info``. The bag's ``episodes.yaml`` holds
one interval per attempt, on the node clock (frame stamps and log times alike), so readers
keep attempts apart even when two in a row have the same label.

Bags lie under ``root`` (``capture_dir/<node>``) as ``<date>/<date>T<time>``; a bag is
closed (and readable) after ``max_attempts`` attempts, after ``ROTATE_S`` of wall time, and
when the writer stops. The quota (``max_bytes``, counting what ``root`` already holds)
is checked before each attempt: an attempt that would pass it, or leave less than
``MIN_FREE_BYTES`` free on the disk, stops capture with a warning; capture never fills the
disk. A write error stops capture too (logged once).
A capture folder is read as is by ``recordings`` (grasp-train) and ``evaluate_bag``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
import datetime
import logging
import os
from pathlib import Path
import shutil
import threading
import time
from typing import Any

from .io import BagWriter, bool_msg, classification_msg, header, label_info_msg, typestore
from .labels import Episode, EPISODES_FILE, episodes_yaml
from ..core.interfaces import BOOL_TYPE, CLASSIFICATION_TYPE, LABEL, LABEL_INFO, RESULT
from ..core.outcome import Attempt
from ..core.params import CAPTURE_POLICIES
from ..core.stamps import NS

_LOG = logging.getLogger(__name__)
QUEUE_FRAMES = (
    1024  # frames and results waiting for the writer thread (~15 s at 30 fps); more are dropped
)
MAX_HOLD_S = 120.0  # frames held for an open ~/check at most this long
MAX_BUFFER_BYTES = 512 << 20  # frames held in memory at most (oldest dropped first)
ROTATE_S = 3600.0  # a bag is closed after this much wall time
RESULT_GRACE_S = 0.3  # wall time an ended attempt waits for its last frames' results
POLL_S = 0.02  # the writer looks for new items this often
RESULTS_SLACK = 64  # results kept beyond the held frames (theirs dropped) before a sweep
MIN_FREE_BYTES = 256 << 20  # capture stops before the disk's free space would fall below this
MB = 1 << 20

Serialize = Callable[[Any], bytes]


def node_folder(fully_qualified_name: str) -> str:
    """Return a node's capture sub-folder: ``/ns/grasp_classifier`` -> ``ns.grasp_classifier``."""
    return fully_qualified_name.strip('/').replace('/', '.') or 'node'


def folder_bytes(root: Path) -> int:
    """Return the bytes of the files under ``root`` (0 when it does not exist)."""
    total = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                total += os.stat(os.path.join(dirpath, f)).st_size
            except OSError:  # removed meanwhile
                continue
    return total


def serialize_rosbags(msg: Any) -> bytes:
    """Serialise a ``rosbags`` message (tests, tools): what rclpy's ``serialize_message`` does."""
    return bytes(typestore().serialize_cdr(msg, msg.__msgtype__))


@dataclass(frozen=True)
class CaptureConfig:
    """Where and what to capture (the node's capture_* parameters)."""

    root: Path  # capture_dir/<node>
    image_topic: str  # the camera topic as the bag names it
    image_type: str  # sensor_msgs/msg/Image or CompressedImage
    policy: str = 'all'
    every: int = 10
    before_s: float = 2.0
    max_bytes: int = 1024 * MB
    max_attempts: int = 100

    def __post_init__(self) -> None:
        if self.policy not in CAPTURE_POLICIES:
            raise ValueError(f'capture policy {self.policy!r}: one of {CAPTURE_POLICIES}')

    def wants(self, attempt: Attempt, index: int) -> bool:
        """Whether the policy captures the ``index``-th attempt (0-based) of this run."""
        if self.policy == 'disagreements':
            return attempt.agrees is not True
        if self.policy == 'sample':
            return index % self.every == 0
        return True


@dataclass
class _Frame:
    rx_ns: int
    stamp_ns: int
    msg: Any
    size: int


@dataclass
class _Pending:
    attempt: Attempt
    threshold: float
    due_wall: float  # monotonic seconds: write once this has passed
    start_ns: int  # the window: frames received in start_ns .. end_ns
    end_ns: int


@dataclass
class CaptureStats:
    """What capture did; ``stopped`` is why it stopped ('' while it runs)."""

    frames_offered: int = 0
    frames_dropped: int = 0  # the queue was full
    results_offered: int = 0
    results_dropped: int = 0
    held_dropped: int = 0  # frames held past the memory bound (MAX_BUFFER_BYTES)
    attempts: int = 0  # outcomes seen
    written: int = 0  # attempts written
    skipped: int = 0  # not wanted by the policy
    empty: int = 0  # wanted, but no frame in their window
    frames_written: int = 0
    bags: int = 0
    bytes_used: int = 0  # under root, as last measured
    stopped: str = ''
    last_bag: str = ''

    @property
    def offered(self) -> int:
        return self.frames_offered + self.results_offered

    @property
    def dropped(self) -> int:
        """Frames and results never written: the queue was full, or memory bound."""
        return self.frames_dropped + self.results_dropped + self.held_dropped


@dataclass
class _OpenBag:
    writer: BagWriter
    path: Path
    opened_wall: float
    attempts: int = 0
    episodes: list[Episode] = field(default_factory=list)
    start_ns: int | None = None


class CaptureWriter:
    """Writes attempts to rotated mcap bags on its own thread (see the module docstring)."""

    def __init__(
        self,
        config: CaptureConfig,
        *,
        serialize: Serialize = serialize_rosbags,
        wall_s: Callable[[], float] = time.time,
        monotonic_s: Callable[[], float] = time.monotonic,
        queue_frames: int = QUEUE_FRAMES,
        grace_s: float = RESULT_GRACE_S,
        free_bytes: Callable[[Path], int] = lambda p: shutil.disk_usage(p).free,
    ) -> None:
        self.config = config
        self.free_bytes = free_bytes
        self.serialize = serialize
        self.wall_s = wall_s
        self.monotonic_s = monotonic_s
        self.queue_frames = queue_frames
        self.grace_s = grace_s
        self.stats = CaptureStats()
        self._items: deque[tuple[str, Any]] = deque()
        self._busy = True  # the writer thread is handling items (until it next waits)
        self._wake = threading.Event()  # set by stop() only
        self._stop = False
        self._thread = threading.Thread(target=self._run, name='grasp-capture', daemon=True)
        # writer-thread state
        self._frames: deque[_Frame] = deque()
        self._held_bytes = 0
        self._results: dict[tuple[int, int], Any] = {}  # (rx_ns, stamp_ns) -> FrameResult
        self._check_ns: int | None = None
        self._last_end_ns: int | None = None
        self._pending: list[_Pending] = []
        self._bag: _OpenBag | None = None
        self.stats.bytes_used = folder_bytes(config.root)

    # -- the node's side: never blocks ---------------------------------------------------

    def start(self) -> CaptureWriter:
        self._thread.start()
        return self

    def set_policy(self, policy: str, every: int) -> None:
        """Change the policy from the next attempt on (a parameter change)."""
        self.config = replace(self.config, policy=policy, every=every)

    def _put(self, kind: str, item: Any) -> bool:
        # No lock, no wake-up: a deque append is atomic in CPython and the writer polls
        # (POLL_S), so the caller (the inference thread) never waits for the writer.
        if self._stop or self.stats.stopped:
            return False
        self._items.append((kind, item))
        return True

    def _full(self) -> bool:
        return len(self._items) >= self.queue_frames

    def offer_frame(self, msg: Any, rx_ns: int) -> bool:
        """Hand over a frame as received at node time ``rx_ns``; False when dropped."""
        st = self.stats  # each counter has one writing thread: no update is lost
        st.frames_offered += 1
        if self._full():
            st.frames_dropped += 1
            return False
        return self._put('frame', (msg, rx_ns))

    def offer_result(self, result: Any) -> bool:
        """Hand over a processed frame (a ``FrameResult``); only published ones are kept."""
        if result.decision is None or result.probabilities is None:
            return False
        st = self.stats
        st.results_offered += 1
        if self._full():
            st.results_dropped += 1
            return False
        return self._put('result', result)

    def mark_check(self, called_ns: int) -> None:
        """Note a ``~/check`` called at node time ``called_ns``: hold frames from before it."""
        self._put('check', called_ns)

    def end_attempt(self, attempt: Attempt, threshold: float) -> None:
        """Close an attempt (its outcome arrived): write it if the policy wants it."""
        self._put('outcome', (attempt, threshold))

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is pending (no grace), close the bag, end the thread."""
        self._stop = True
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        elif not self._thread.is_alive() and self._items:  # never started: nothing to write
            self._items.clear()

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Block until the queue is empty and no attempt waits (tests); False on timeout."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if not self._items and not self._pending and not self._busy:
                return True
            time.sleep(0.01)
        return False

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self.stats.stopped

    def diagnostic_values(self) -> list[tuple[str, str]]:
        """Return the key/value pairs for /diagnostics."""
        s, c = self.stats, self.config
        state = f'stopped: {s.stopped}' if s.stopped else f'on ({c.policy}) into {c.root}'
        return [
            ('capture', state),
            ('capture attempts written', str(s.written)),
            ('capture attempts skipped (policy)', str(s.skipped)),
            ('capture frames written', str(s.frames_written)),
            ('capture frames dropped', str(s.dropped)),
            ('capture disk use (MB)', f'{s.bytes_used / MB:.1f} of {c.max_bytes / MB:.0f}'),
        ]

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._busy = True
            stopping = self._stop
            items = []
            while self._items:  # only this thread pops
                items.append(self._items.popleft())
            try:
                for kind, item in items:
                    self._handle(kind, item)
                self._write_due(flush=stopping)
                self._rotate_if_old()
            except Exception as exc:  # never let a capture fault reach the node
                self._fail(f'capture failed: {type(exc).__name__}: {exc}')
            if stopping:
                self._close_bag()
                self._busy = False
                return
            if not items:
                self._busy = False
                self._wake.wait(POLL_S)

    def _handle(self, kind: str, item: Any) -> None:
        if kind == 'frame':
            msg, rx = item
            self._hold(msg, rx)
        elif kind == 'result':
            self._results[(item.receive_ns, item.stamp_ns)] = item
        elif kind == 'check':
            self._check_ns = item
        else:
            attempt, threshold = item
            self._check_ns = None
            index = self.stats.attempts
            self.stats.attempts += 1
            if self.stats.stopped:
                return
            start, end = self._window(attempt)
            self._last_end_ns = max(end, self._last_end_ns or end)
            if not self.config.wants(attempt, index):
                self.stats.skipped += 1
                return
            due = self.monotonic_s() + self.grace_s
            self._pending.append(_Pending(attempt, threshold, due, start, end))

    def _hold(self, msg: Any, rx_ns: int) -> None:
        frames = self._frames
        if frames and rx_ns < frames[-1].rx_ns - NS:  # the node clock went back: a new stream
            frames.clear()
            self._results.clear()
            self._held_bytes = 0
            self._last_end_ns = None
        data = getattr(msg, 'data', b'')
        size = len(data) if hasattr(data, '__len__') else 0
        stamp = _stamp_ns(msg)
        frames.append(_Frame(rx_ns, stamp, msg, size))
        self._held_bytes += size
        self._prune(rx_ns)

    def _prune(self, newest_ns: int) -> None:
        keep_from = newest_ns - round(self.config.before_s * NS)
        if self._check_ns is not None:
            keep_from = min(keep_from, self._check_ns - round(self.config.before_s * NS))
        for p in self._pending:
            keep_from = min(keep_from, p.start_ns)
        keep_from = max(keep_from, newest_ns - round(MAX_HOLD_S * NS))
        frames = self._frames
        while frames and (
            frames[0].rx_ns < keep_from
            or (self._held_bytes > MAX_BUFFER_BYTES and len(frames) > 1)
        ):
            old = frames.popleft()
            self._held_bytes -= old.size
            self._results.pop((old.rx_ns, old.stamp_ns), None)
            if old.rx_ns >= keep_from:
                self.stats.held_dropped += 1  # over the memory bound
        if len(self._results) > len(frames) + RESULTS_SLACK:  # results of frames never held
            oldest = frames[0].rx_ns if frames else newest_ns
            self._results = {k: r for k, r in self._results.items() if k[0] >= oldest}

    def _window(self, attempt: Attempt) -> tuple[int, int]:
        start = attempt.start_ns - round(self.config.before_s * NS)
        if self._last_end_ns is not None and self._last_end_ns >= start:
            start = self._last_end_ns + 1  # a frame belongs to one attempt only
        return start, attempt.end_ns

    def _write_due(self, flush: bool) -> None:
        now = self.monotonic_s()
        while self._pending and (flush or self._pending[0].due_wall <= now):
            p = self._pending.pop(0)
            if not self.stats.stopped:
                self._write_attempt(p)

    def _write_attempt(self, p: _Pending) -> None:
        attempt, threshold, start, end = p.attempt, p.threshold, p.start_ns, p.end_ns
        frames = [f for f in self._frames if start <= f.rx_ns <= end]
        if not frames:
            self.stats.empty += 1
            return
        raw = []
        for f in frames:
            raw.append(self.serialize(f.msg))
            time.sleep(0)  # hand the GIL to inference between frames: never hold it long
        results = [self._results.get((f.rx_ns, f.stamp_ns)) for f in frames]
        need = sum(len(r) for r in raw) + 200 * len(frames) + 4096
        if self.stats.bytes_used + need > self.config.max_bytes:
            self._stop_capture(
                f'disk quota reached: {self.stats.bytes_used / MB:.1f} MB used under '
                f'{self.config.root}, the next attempt needs {need / MB:.2f} MB more and '
                f'capture_max_mb is {self.config.max_bytes / MB:g}; free space or raise '
                'capture_max_mb, then restart the node'
            )
            return
        free = self._free()
        if free is not None and free - need < MIN_FREE_BYTES:
            self._stop_capture(
                f'the disk holding {self.config.root} is nearly full ({free / MB:.0f} MB free, '
                f'capture keeps {MIN_FREE_BYTES / MB:.0f} MB free); free space, then restart '
                'the node'
            )
            return
        bag = self._open_bag()
        w = bag.writer
        first_ns = min(min(f.rx_ns, f.stamp_ns or f.rx_ns) for f in frames)
        last_ns = max(
            max(f.rx_ns, f.stamp_ns, 0 if r is None else r.done_ns)
            for f, r in zip(frames, results)
        )
        if bag.start_ns is None:
            bag.start_ns = first_ns
        names = next((tuple(r.class_names) for r in results if r is not None), ())
        if names:
            w.write(LABEL_INFO.in_bag, first_ns, label_info_msg(first_ns, names, threshold))
        w.write(LABEL.in_bag, first_ns, bool_msg(attempt.held))
        for f, data, r in zip(frames, raw, results):
            w.write_raw(self.config.image_topic, f.rx_ns, data)
            if r is not None:
                hdr = header(r.stamp_ns, str(getattr(r.header, 'frame_id', '') or ''))
                msg = classification_msg(hdr, r.class_names, r.probabilities.tolist())
                w.write(RESULT.in_bag, max(r.done_ns, f.rx_ns), msg)
            time.sleep(0)  # as above
        bag.episodes.append(
            Episode(len(bag.episodes), first_ns, last_ns, attempt.held, _episode_name(attempt))
        )
        bag.attempts += 1
        self.stats.written += 1
        self.stats.frames_written += len(frames)
        self.stats.bytes_used += need
        if bag.attempts >= self.config.max_attempts:
            self._close_bag()

    def _free(self) -> int | None:
        """Return the free bytes of the capture folder's disk (None: cannot tell)."""
        try:
            self.config.root.mkdir(parents=True, exist_ok=True)
            return int(self.free_bytes(self.config.root))
        except OSError:
            return None

    def _open_bag(self) -> _OpenBag:
        if self._bag is not None:
            return self._bag
        now = datetime.datetime.fromtimestamp(self.wall_s(), tz=datetime.timezone.utc)
        folder = self.config.root / now.strftime('%Y-%m-%d')
        path = folder / now.strftime('%Y%m%dT%H%M%S')
        n = 1
        while path.exists() or path.with_name(path.name + '.labels.yaml').exists():
            n += 1
            path = folder / f'{now.strftime("%Y%m%dT%H%M%S")}_{n}'
        writer = BagWriter(path, 'mcap').create()
        writer.add_topic(self.config.image_topic, self.config.image_type)
        writer.add_topic(LABEL.in_bag, BOOL_TYPE)
        writer.add_topic(RESULT.in_bag, CLASSIFICATION_TYPE)
        self._bag = _OpenBag(writer, path, self.monotonic_s())
        self.stats.bags += 1
        return self._bag

    def _close_bag(self) -> None:
        bag, self._bag = self._bag, None
        if bag is None:
            return
        try:
            bag.writer.close()
            if bag.episodes and bag.start_ns is not None:
                (bag.path / EPISODES_FILE).write_text(
                    episodes_yaml(
                        bag.episodes,
                        bag.start_ns,
                        'grasp attempts captured by grasp_classifier_node; labels: the '
                        "controller's outcomes; times on the node clock (stamps and log "
                        'times alike)',
                        {'log_time': True},
                    )
                )
        except Exception as exc:
            self._fail(f"capture could not close bag '{bag.path}': {type(exc).__name__}: {exc}")
            return
        self.stats.last_bag = str(bag.path)
        self.stats.bytes_used = folder_bytes(self.config.root)
        _LOG.info(f"capture: wrote {bag.attempts} attempts to '{bag.path}'")

    def _rotate_if_old(self) -> None:
        bag = self._bag
        if bag is not None and self.monotonic_s() - bag.opened_wall >= ROTATE_S:
            self._close_bag()

    def _stop_capture(self, reason: str) -> None:
        if self.stats.stopped:
            return
        self.stats.stopped = reason
        _LOG.warning(f'capture stopped: {reason}')
        self._close_bag()
        self._frames.clear()
        self._results.clear()
        self._held_bytes = 0

    def _fail(self, reason: str) -> None:
        bag, self._bag = self._bag, None
        if bag is not None:
            try:
                bag.writer.close()
            except Exception:  # the bag is lost either way
                pass
        self._stop_capture(reason)


def _stamp_ns(msg: Any) -> int:
    try:
        s = msg.header.stamp
        return int(s.sec) * NS + int(s.nanosec)
    except (AttributeError, TypeError, ValueError):
        return 0


def _episode_name(attempt: Attempt) -> str:
    said = {None: 'no verdict', True: 'said held', False: 'said failed'}[attempt.predicted]
    return f'{"held" if attempt.held else "failed"} ({said})'
