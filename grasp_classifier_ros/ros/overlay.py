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
"""Draw the verdict and confidence onto a frame for the ``~/debug_image`` topic."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..core.mount import Mount, UPRIGHT
from ..core.preprocess import orient
from ..core.roi import FULL_FRAME, Roi, roi_slices

# BGR colours per verdict value.
COLOURS: dict[str, tuple[int, int, int]] = {
    'success': (0, 200, 0),
    'failure': (0, 0, 230),
    'uncertain': (0, 200, 230),
}
GREY = (160, 160, 160)


def verdict_text(result: Any) -> tuple[str, tuple[int, int, int]]:
    """Return the overlay caption and colour for a ``FrameResult``."""
    decision = result.decision
    if decision is None:
        return result.status.upper().replace('_', ' '), GREY
    verdict = decision.verdict.value
    return (
        f'{verdict.upper()} p={decision.probability:.2f} smoothed={decision.smoothed:.2f}',
        COLOURS.get(verdict, GREY),
    )


def draw_overlay(
    bgr: np.ndarray,
    result: Any,
    roi: Roi = FULL_FRAME,
    max_width: int = 640,
    mount: Mount = UPRIGHT,
) -> np.ndarray:
    """
    Return a copy of ``bgr`` with verdict and ROI drawn.

    The frame is turned as ``mount`` says (as the model sees it) and downscaled to
    ``max_width``.
    """
    if not mount.identity:
        bgr = np.ascontiguousarray(orient(bgr, mount))
    height, width = bgr.shape[:2]
    if width > max_width:
        scale = max_width / width
        size = (max_width, max(1, round(height * scale)))
        out = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    else:
        out = np.array(bgr, dtype=np.uint8, copy=True, order='C')
    text, colour = verdict_text(result)
    if tuple(roi) != FULL_FRAME:
        ys, xs = roi_slices(out.shape[0], out.shape[1], roi)
        cv2.rectangle(out, (xs.start, ys.start), (xs.stop - 1, ys.stop - 1), colour, 2)
    scale = max(0.4, out.shape[1] / 900)
    thickness = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    cv2.rectangle(out, (0, 0), (min(out.shape[1], tw + 12), th + base + 12), (0, 0, 0), -1)
    cv2.putText(
        out, text, (6, th + 6), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA
    )
    return out
