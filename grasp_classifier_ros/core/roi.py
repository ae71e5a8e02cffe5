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
The region of interest: a normalised ``(x, y, w, h)`` crop of the frame.

Pure Python (no numpy, OpenCV or torch), so the parameter spec that validates
``roi`` stays importable by the launch file.
"""

from __future__ import annotations

import math

from .errors import ParameterError

Roi = tuple[float, float, float, float]
FULL_FRAME: Roi = (0.0, 0.0, 1.0, 1.0)


def validate_roi(roi: tuple[float, ...] | list[float]) -> Roi:
    """Check a normalised ``(x, y, w, h)`` ROI lies inside the frame; return it as a tuple."""
    values = tuple(float(v) for v in roi)
    if len(values) != 4:
        raise ParameterError('roi', roi, 'needs exactly four numbers [x, y, w, h] in 0..1')
    if not all(math.isfinite(v) for v in values):
        raise ParameterError('roi', roi, 'values must be finite')
    x, y, w, h = values
    if not (0.0 <= x < 1.0 and 0.0 <= y < 1.0 and 0.0 < w <= 1.0 and 0.0 < h <= 1.0):
        raise ParameterError('roi', roi, 'x, y must be in [0, 1) and w, h in (0, 1]')
    eps = 1e-9
    if x + w > 1.0 + eps or y + h > 1.0 + eps:
        raise ParameterError('roi', roi, 'x + w and y + h must not exceed 1')
    return (x, y, w, h)


def roi_slices(height: int, width: int, roi: Roi) -> tuple[slice, slice]:
    """Pixel slices of a normalised ROI; always at least one pixel each way."""
    x, y, w, h = roi
    x0 = min(int(round(x * width)), width - 1)
    y0 = min(int(round(y * height)), height - 1)
    x1 = max(x0 + 1, min(width, int(round((x + w) * width))))
    y1 = max(y0 + 1, min(height, int(round((y + h) * height))))
    return slice(y0, y1), slice(x0, x1)
