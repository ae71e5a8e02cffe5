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
How the camera is mounted: the turn and mirror that bring its image to the model's view.

The camera image is turned clockwise by ``rotation`` degrees (0, 90, 180, 270),
then mirrored left-right when ``flip``; ``roi`` is taken in that oriented frame.
``raw_slices`` maps an ROI of the oriented frame back onto the camera's own
pixels, so the preprocessor crops and shrinks the frame as it arrives and turns
only the small model input (``preprocess.orient``): the same pixels as turning
the whole frame first, up to resampling rounding, for a fraction of the cost.

Pure Python (no numpy, OpenCV or torch), like ``roi``: the parameter spec
validates through it in the launch file.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ParameterError
from .roi import FULL_FRAME, Roi, roi_slices

ROTATIONS = (0, 90, 180, 270)


def rotation_reason(value: object) -> str | None:
    """Return why ``value`` is not an ``image_rotation``, or None."""
    if type(value) is not int or value not in ROTATIONS:
        return 'must be 0, 90, 180 or 270 (degrees clockwise)'
    return None


@dataclass(frozen=True)
class Mount:
    """A clockwise ``rotation`` in degrees, then a left-right mirror when ``flip``."""

    rotation: int = 0
    flip: bool = False

    def __post_init__(self) -> None:
        reason = rotation_reason(self.rotation)
        if reason:
            raise ParameterError('image_rotation', self.rotation, reason)

    @property
    def turns(self) -> int:
        """Quarter turns clockwise (0..3)."""
        return self.rotation // 90

    @property
    def identity(self) -> bool:
        return self.rotation == 0 and not self.flip

    def oriented_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of a ``height`` x ``width`` camera image once turned."""
        return (width, height) if self.turns % 2 else (height, width)

    def describe(self) -> str:
        """Say the mount in words, e.g. 'turned 90 deg clockwise, mirrored'."""
        parts = [f'turned {self.rotation} deg clockwise'] if self.rotation else []
        if self.flip:
            parts.append('mirrored left-right')
        return ', '.join(parts) or 'as the camera sees it'


UPRIGHT = Mount()


def raw_slices(
    height: int, width: int, roi: Roi = FULL_FRAME, mount: Mount = UPRIGHT
) -> tuple[slice, slice]:
    """
    Pixel slices of the camera image that ``roi`` of the oriented frame covers.

    ``roi`` is normalised in the frame as the model sees it (turned, then mirrored);
    the slices index the image as the camera delivered it.
    """
    oh, ow = mount.oriented_size(height, width)
    ys, xs = roi_slices(oh, ow, roi)
    y0, y1, x0, x1 = ys.start, ys.stop, xs.start, xs.stop
    if mount.flip:
        x0, x1 = ow - x1, ow - x0
    # Undo the clockwise quarter turns: rows and columns of the turned image in camera pixels.
    turns = mount.turns
    if turns == 1:
        return slice(height - x1, height - x0), slice(y0, y1)
    if turns == 2:
        return slice(height - y1, height - y0), slice(width - x1, width - x0)
    if turns == 3:
        return slice(x0, x1), slice(width - y1, width - y0)
    return slice(y0, y1), slice(x0, x1)
