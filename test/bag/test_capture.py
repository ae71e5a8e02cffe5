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
"""The capture writer (bag/capture.py) without ROS: windows, labels, rotation, quota, policy."""

from pathlib import Path

from grasp_classifier_ros.bag.capture import (
    CaptureConfig,
    CaptureWriter,
    folder_bytes,
    MB,
    node_folder,
    ROTATE_S,
)
from grasp_classifier_ros.bag.io import BagReader, compressed_msg, image_msg
from grasp_classifier_ros.bag.labels import EPISODES_FILE
from grasp_classifier_ros.core.decision import Decision, Verdict
from grasp_classifier_ros.core.interfaces import COMPRESSED_TYPE, IMAGE_TYPE
from grasp_classifier_ros.core.outcome import Attempt, SOURCE_CHECK
from grasp_classifier_ros.core.pipeline import FrameResult
import numpy as np
import pytest
import yaml

S = 1_000_000_000
FPS = 10
CLASSES = ('grasped', 'notgrasped')


class Clock:
    """A monotonic clock the test moves (rotation by time)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def frame(t_ns: int, value: int = 100, compressed: bool = False):
    pixels = np.full((8, 8, 3), value, np.uint8)
    if compressed:
        import cv2

        ok, buf = cv2.imencode('.png', pixels)
        assert ok
        return compressed_msg(buf.tobytes(), 'png', t_ns)
    return image_msg(pixels, 'rgb8', t_ns)


def result(msg, rx_ns: int, p: float) -> FrameResult:
    stamp = msg.header.stamp.sec * S + msg.header.stamp.nanosec
    verdict = Verdict.SUCCESS if p >= 0.5 else Verdict.FAILURE
    return FrameResult(
        msg.header,
        stamp,
        rx_ns,
        'ok',
        decision=Decision(verdict, p, p, 0.0),
        probabilities=np.array([p, 1 - p]),
        success_probability=p,
        done_ns=rx_ns + 5_000_000,
        class_names=CLASSES,
    )


def writer(tmp_path: Path, **changes) -> CaptureWriter:
    cfg = {
        'root': tmp_path / 'cap' / node_folder('/grasp_classifier'),
        'image_topic': '/camera/image_raw',
        'image_type': IMAGE_TYPE,
        'before_s': 1.0,
        'max_attempts': 100,
    }
    cfg.update(changes)
    clock = cfg.pop('clock', Clock())
    return CaptureWriter(CaptureConfig(**cfg), grace_s=0.0, monotonic_s=clock, queue_frames=10**6)


def run_attempts(w: CaptureWriter, attempts, *, t0: int = 100 * S, gap_s: float = 2.0):
    """Feed frames at FPS; each attempt: ~/check at its start, outcome 1 s later."""
    t = t0
    step = S // FPS
    for held, predicted in attempts:
        for _ in range(int(gap_s * FPS)):  # frames between attempts
            m = frame(t)
            w.offer_frame(m, t)
            w.offer_result(result(m, t, 0.9 if predicted else 0.1))
            t += step
        called = t
        w.mark_check(called)
        for _ in range(FPS):
            m = frame(t)
            w.offer_frame(m, t)
            w.offer_result(result(m, t, 0.9 if predicted else 0.1))
            t += step
        attempt = Attempt(held, predicted, SOURCE_CHECK, called, t - 1)
        w.end_attempt(attempt, 0.5)
    return t


def bags(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob('metadata.yaml'))


def test_node_folder():
    assert node_folder('/grasp_classifier') == 'grasp_classifier'
    assert node_folder('/robot1/grasp_classifier') == 'robot1.grasp_classifier'


def test_attempt_window_labels_results_and_episodes(tmp_path):
    w = writer(tmp_path).start()
    run_attempts(w, [(True, True), (False, True), (False, False)])
    w.stop()
    assert w.stats.written == 3 and not w.stats.stopped
    (bag,) = bags(w.config.root)
    assert bag.parent.parent == w.config.root  # <root>/<date>/<bag>
    with BagReader(bag) as r:
        counts = {t: i.count for t, i in r.topics.items()}
        labels = [m.msg.data for m in r.messages(['/grasp/label'])]
    # 1 s before the check + 1 s until the outcome = 20 frames per attempt, each with its result
    assert counts == {
        '/camera/image_raw': 60,
        '/grasp/label': 3,
        '/grasp/label_info': 3,
        '/grasp/result': 60,
    }
    assert labels == [True, False, False]
    eps = yaml.safe_load((bag / EPISODES_FILE).read_text())
    assert eps['log_time'] is True
    assert [e['label'] for e in eps['episodes']] == ['success', 'failure', 'failure']
    assert [e['name'] for e in eps['episodes']][1] == 'failed (said held)'
    assert w.stats.frames_written == 60


def test_frames_belong_to_one_attempt_only(tmp_path):
    w = writer(tmp_path, before_s=5.0).start()
    run_attempts(w, [(True, True), (True, True)], gap_s=0.5)
    w.stop()
    with BagReader(bags(w.config.root)[0]) as r:
        stamps = [m.log_ns for m in r.messages(['/camera/image_raw'])]
    assert (
        len(stamps) == len(set(stamps)) == 5 + 10 + 5 + 10
    )  # second window starts after the first


def test_compressed_frames_are_written_as_received(tmp_path):
    w = writer(tmp_path, image_topic='/cam/compressed', image_type=COMPRESSED_TYPE).start()
    m = frame(5 * S, compressed=True)
    w.offer_frame(m, 5 * S)
    w.end_attempt(Attempt(True, None, '', 5 * S, 5 * S), 0.5)
    w.stop()
    with BagReader(bags(w.config.root)[0]) as r:
        (got,) = list(r.messages(['/cam/compressed']))
        assert not list(r.messages(['/grasp/result']))  # none was published
    assert got.msg.format == 'png' and bytes(got.msg.data) == bytes(m.data)


def test_rotation_after_max_attempts(tmp_path):
    w = writer(tmp_path, max_attempts=2).start()
    run_attempts(w, [(True, True)] * 5)
    assert w.wait_idle()
    assert len(bags(w.config.root)) == 2  # two full bags closed, the third still open
    w.stop()
    found = bags(w.config.root)
    assert len(found) == 3 and w.stats.bags == 3
    sizes = [len(yaml.safe_load((b / EPISODES_FILE).read_text())['episodes']) for b in found]
    assert sizes == [2, 2, 1]


def test_rotation_after_an_hour(tmp_path):
    clock = Clock()
    w = writer(tmp_path, clock=clock).start()
    run_attempts(w, [(True, True)])
    assert w.wait_idle()
    assert bags(w.config.root) == []
    clock.t = ROTATE_S + 1
    for _ in range(100):
        if bags(w.config.root):
            break
        import time

        time.sleep(0.02)
    assert len(bags(w.config.root)) == 1  # closed by the thread's own check
    w.stop()


def test_quota_stops_capture_and_never_passes_it(tmp_path, caplog):
    # one 160x120 frame (57.6 kB) per attempt against a 1 MB quota
    w = writer(tmp_path, max_bytes=1 * MB).start()
    for i in range(200):
        pixels = np.random.default_rng(i).integers(0, 255, (160, 120, 3), dtype=np.uint8)
        m = image_msg(pixels, 'rgb8', (10 + i) * S)
        w.offer_frame(m, (10 + i) * S)
        w.end_attempt(Attempt(True, True, SOURCE_CHECK, (10 + i) * S, (10 + i) * S), 0.5)
        w.wait_idle()
    w.stop()
    assert w.stats.stopped.startswith('disk quota reached')
    assert 'capture_max_mb' in w.stats.stopped
    assert 0 < w.stats.written < 200
    assert folder_bytes(w.config.root) <= 1 * MB
    assert any('capture stopped: disk quota' in r.message for r in caplog.records)
    assert not w.offer_frame(frame(0), 0)  # stopped: nothing more is taken


def test_existing_files_count_toward_the_quota(tmp_path):
    root = tmp_path / 'cap' / 'grasp_classifier'
    root.mkdir(parents=True)
    (root / 'old.bin').write_bytes(b'x' * (2 * MB))
    w = writer(tmp_path, max_bytes=1 * MB).start()
    run_attempts(w, [(True, True)])
    w.stop()
    assert w.stats.written == 0 and 'disk quota reached' in w.stats.stopped


@pytest.mark.parametrize(
    ('policy', 'expected'),
    [('all', 6), ('disagreements', 3), ('sample', 2)],
)
def test_policy(tmp_path, policy, expected):
    w = writer(tmp_path, policy=policy, every=4).start()
    # attempts 0..5; disagreements: 1, 3 and 5 (3: no verdict)
    attempts = [
        (True, True),
        (False, True),
        (True, True),
        (True, None),
        (False, False),
        (True, False),
    ]
    run_attempts(w, attempts)
    w.stop()
    assert w.stats.written == expected
    assert w.stats.skipped == 6 - expected


def test_full_queue_drops_without_blocking(tmp_path):
    w = writer(tmp_path, max_attempts=1)
    w.queue_frames = 3  # thread not started: nothing drains the queue
    got = [w.offer_frame(frame(i * S), i * S) for i in range(10)]
    assert got == [True] * 3 + [False] * 7
    assert (w.stats.offered, w.stats.dropped) == (10, 7)
    w.mark_check(2 * S)  # control events always enter
    w.end_attempt(Attempt(True, True, SOURCE_CHECK, 2 * S, 2 * S), 0.5)
    w.start()
    w.stop()
    assert w.stats.written == 1
    assert dict(w.diagnostic_values())['capture frames dropped'] == '7'


def test_a_nearly_full_disk_stops_capture_whatever_the_quota(tmp_path):
    cfg = CaptureConfig(
        root=tmp_path / 'cap' / 'grasp_classifier',
        image_topic='/camera/image_raw',
        image_type=IMAGE_TYPE,
        before_s=1.0,
    )
    w = CaptureWriter(cfg, grace_s=0.0, free_bytes=lambda p: 200 * MB).start()
    run_attempts(w, [(True, True)])
    w.stop()
    assert w.stats.written == 0 and 'nearly full (200 MB free' in w.stats.stopped


def test_results_of_frames_never_held_do_not_pile_up(tmp_path):
    w = writer(tmp_path)
    for i in range(500):  # results whose frames were dropped: only results arrive
        m = frame(i * S // 10)
        w._handle('result', result(m, i * S // 10, 0.9))
    for i in range(500, 510):
        w._hold(frame(i * S // 10), i * S // 10)
    assert len(w._results) <= len(w._frames) + 64
