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
"""A capture folder as the node writes it (bag/capture.py), from frames a test chooses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from grasp_classifier_ros.bag.capture import CaptureConfig, CaptureWriter, node_folder
from grasp_classifier_ros.bag.io import image_msg
from grasp_classifier_ros.core.decision import Decision, Verdict
from grasp_classifier_ros.core.interfaces import IMAGE_TYPE
from grasp_classifier_ros.core.outcome import OutcomeTracker
from grasp_classifier_ros.core.pipeline import FrameResult
import numpy as np

S = 1_000_000_000
CLASSES = ('grasped', 'notgrasped')


def write_capture(
    capture_dir: Path,
    attempts: Sequence[tuple[bool, bool]],
    render: Callable[[bool, int], np.ndarray],
    *,
    frames_before: int = 3,
    frames_after: int = 3,
    fps: float = 10.0,
    max_attempts: int = 4,
    gap_s: float = 2.0,
    node: str = '/grasp_classifier',
) -> CaptureWriter:
    """
    Capture ``attempts`` ((held, predicted) each) as the node would; return the stopped writer.

    Each attempt: ``frames_before`` frames in the capture_before window before the
    ``~/check`` call, ``frames_after`` after it until the outcome; ``render(held, i)`` draws
    frame i. The node's result per frame says ``predicted``. Between attempts
    ``gap_s`` of frames nobody captures.
    """
    step = round(S / fps)
    cfg = CaptureConfig(
        root=capture_dir / node_folder(node),
        image_topic='/camera/image_raw',
        image_type=IMAGE_TYPE,
        before_s=frames_before * step / S,
        max_attempts=max_attempts,
    )
    writer = CaptureWriter(cfg, grace_s=0.0, queue_frames=10**6).start()
    tracker = OutcomeTracker(window=20)
    t = 1_700_000_000 * S
    for held, predicted in attempts:
        t += round(gap_s * S)
        frames = frames_before + frames_after
        called = t + frames_before * step
        for i in range(frames):
            msg = image_msg(render(held, i), 'rgb8', t)
            writer.offer_frame(msg, t)
            p = 0.9 if predicted else 0.1
            verdict = Verdict.SUCCESS if predicted else Verdict.FAILURE
            writer.offer_result(
                FrameResult(
                    msg.header,
                    t,
                    t,
                    'ok',
                    decision=Decision(verdict, p, p, 0.0),
                    probabilities=np.array([p, 1 - p]),
                    success_probability=p,
                    done_ns=t + 2_000_000,
                    class_names=CLASSES,
                )
            )
            if i == frames_before - 1:
                writer.mark_check(called)
            t += step
        tracker.note_check(called, t - step, predicted)
        writer.end_attempt(tracker.pair(t - step + 1, held), 0.5)
    writer.stop()
    return writer
