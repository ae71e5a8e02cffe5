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
"""Debug overlay: caption per verdict, downscaling, ROI box, input untouched."""

from __future__ import annotations

from dataclasses import dataclass

from grasp_classifier_ros.core.decision import Decision, Verdict
from grasp_classifier_ros.ros.overlay import COLOURS, draw_overlay, GREY, verdict_text
import numpy as np
import pytest


@dataclass
class _Result:  # the two FrameResult fields the overlay reads
    status: str
    decision: Decision | None


def _ok(verdict: Verdict, p: float = 0.8, smoothed: float = 0.7) -> _Result:
    return _Result('ok', Decision(verdict, p, smoothed, 0.01))


@pytest.mark.parametrize('verdict', [Verdict.SUCCESS, Verdict.FAILURE, Verdict.UNCERTAIN])
def test_caption_and_colour_per_verdict(verdict: Verdict) -> None:
    text, colour = verdict_text(_ok(verdict, 0.8123, 0.7))
    assert text == f'{verdict.value.upper()} p=0.81 smoothed=0.70'
    assert colour == COLOURS[verdict.value]


def test_frames_without_verdict_show_their_status() -> None:
    assert verdict_text(_Result('out_of_order', None)) == ('OUT OF ORDER', GREY)
    assert verdict_text(_Result('stale', None)) == ('STALE', GREY)


def test_large_frames_are_downscaled_and_input_untouched() -> None:
    frame = np.full((480, 1280, 3), 90, np.uint8)
    before = frame.copy()
    out = draw_overlay(frame, _ok(Verdict.SUCCESS))
    assert out.shape == (240, 640, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(frame, before)
    # The caption box (black) and green text are drawn in the top-left corner only.
    assert (out[:5, :5] == 0).all()
    assert (out[-20:, -20:] == 90).all()
    green = (out[..., 1] > 150) & (out[..., 2] < 60)
    assert green[:40].any() and not green[60:].any()


def test_small_frames_keep_their_size_and_roi_is_boxed() -> None:
    frame = np.full((100, 200, 3), 50, np.uint8)
    out = draw_overlay(frame, _ok(Verdict.FAILURE), roi=(0.5, 0.5, 0.5, 0.5))
    assert out.shape == frame.shape
    red = COLOURS['failure']
    assert tuple(out[99, 150]) == red  # bottom edge of the ROI box
    assert tuple(out[75, 100]) == red  # left edge
    assert tuple(out[75, 150]) == (50, 50, 50)  # inside untouched


def test_full_frame_roi_draws_no_box() -> None:
    frame = np.full((100, 200, 3), 50, np.uint8)
    out = draw_overlay(frame, _ok(Verdict.FAILURE))
    assert (out[60:, :] == 50).all()
