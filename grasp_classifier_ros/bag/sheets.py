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
Contact sheets: captioned thumbnails tiled into one image (OpenCV, BGR).

Shared by ``evaluate_bag --preview``, ``grasp-train label`` and ``grasp-train
inspect``, so every sheet the tools write looks alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

BLACK = (0, 0, 0)
RED = (0, 0, 200)
GREEN = (0, 140, 0)
BAR = 13  # caption bar height, pixels


def thumbnail(bgr: np.ndarray, size: int) -> np.ndarray:
    """Shrink (area) or enlarge (bilinear) ``bgr`` to a ``size`` x ``size`` square."""
    h, w = bgr.shape[:2]
    interp = cv2.INTER_AREA if h >= size and w >= size else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(bgr), (size, size), interpolation=interp)


def caption(
    tile: np.ndarray, *lines: str, colour: tuple[int, int, int] = BLACK, frame: bool = False
) -> np.ndarray:
    """Append one white text bar per line under ``tile``; ``frame`` outlines it in ``colour``."""
    tile = np.ascontiguousarray(tile).copy()
    if frame:
        cv2.rectangle(tile, (0, 0), (tile.shape[1] - 1, tile.shape[0] - 1), colour, 3)
    chars = max(1, tile.shape[1] // 6)
    bars = [tile]
    for text in lines:
        bar = np.full((BAR, tile.shape[1], 3), 255, np.uint8)
        tail = 1 - chars  # the end of a long path says most: keep it
        text = text if len(text) <= chars else '~' + text[tail:]
        cv2.putText(bar, text, (1, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.3, colour, 1, cv2.LINE_AA)
        bars.append(bar)
    return np.vstack(bars)


def sheet(tiles: Sequence[np.ndarray], cols: int, title: str) -> np.ndarray:
    """Tile BGR images (the first one's size; others padded or cut) into a grid under a title."""
    if not tiles:
        img = np.full((40, 320, 3), 255, np.uint8)
        cv2.putText(img, f'{title}: none', (6, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.5, BLACK, 1)
        return img
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    cols = min(cols, len(tiles))
    rows = -(-len(tiles) // cols)
    grid = np.full((rows * (h + 2) + 24, max(cols * (w + 2), 8 * len(title)), 3), 255, np.uint8)
    cv2.putText(grid, title, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, BLACK, 1, cv2.LINE_AA)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        y, x = 24 + r * (h + 2), c * (w + 2)
        y2, x2 = y + t.shape[0], x + t.shape[1]
        grid[y:y2, x:x2] = t
    return grid


def write_png(path: str, image: np.ndarray) -> None:
    """Write ``image`` as PNG; OSError naming the path when it cannot be written."""
    if not cv2.imwrite(str(path), image):
        raise OSError(f"cannot write '{path}' (folder missing or not writable?)")
