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
Deterministic benchmark frames and the ROS 2 messages that carry them.

Frames are procedural (no dataset is read or shipped): a smooth low-resolution
scene of coloured blobs upscaled to the camera size, a few hard-edged
polygons, and mild per-pixel sensor noise, so JPEG streams have a camera-like
size and decode cost.
Messages are real ``sensor_msgs`` classes from the ``rosbags`` type store.
"""

from __future__ import annotations

import copy
from typing import Any

import cv2
import numpy as np
from rosbags.typesys import get_typestore, Stores

NS = 1_000_000_000
_TS = get_typestore(Stores.ROS2_HUMBLE)
Image = _TS.types['sensor_msgs/msg/Image']
CompressedImage = _TS.types['sensor_msgs/msg/CompressedImage']
Header = _TS.types['std_msgs/msg/Header']
Time = _TS.types['builtin_interfaces/msg/Time']


def procedural_frames(height: int, width: int, count: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Return ``count`` distinct ``(height, width, 3)`` uint8 BGR frames; deterministic."""
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        small_h, small_w = max(8, height // 16), max(8, width // 16)
        yy, xx = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
        base = rng.uniform(40, 200, 3).astype(np.float32)
        tilt = rng.uniform(-1.5, 1.5, (2, 3)).astype(np.float32)
        scene = base + yy[..., None] * tilt[0] + xx[..., None] * tilt[1]
        for _ in range(6):
            cy, cx = rng.uniform(0, small_h), rng.uniform(0, small_w)
            radius = rng.uniform(1.5, small_h / 3)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
            scene += blob[..., None] * rng.uniform(-120, 120, 3).astype(np.float32)
        big = cv2.resize(scene, (width, height), interpolation=cv2.INTER_CUBIC)
        for _ in range(4):  # hard edges, like gripper fingers and object outlines
            pts = rng.uniform((0, 0), (width, height), (4, 2)).astype(np.int32)
            cv2.fillConvexPoly(big, pts, rng.uniform(0, 255, 3).tolist(), cv2.LINE_AA)
        big += rng.normal(0.0, 4.0, big.shape).astype(np.float32)
        frames.append(np.clip(big, 0, 255).astype(np.uint8))
    return frames


def header(stamp_ns: int, frame_id: str = 'camera') -> Any:
    """Return a std_msgs/Header stamped ``stamp_ns``."""
    return Header(stamp=Time(sec=stamp_ns // NS, nanosec=stamp_ns % NS), frame_id=frame_id)


def image_msg(bgr: np.ndarray, stamp_ns: int = 0) -> Any:
    """Return a ``bgr8`` sensor_msgs/Image holding ``bgr`` (data as a uint8 numpy array)."""
    height, width = bgr.shape[:2]
    return Image(
        header=header(stamp_ns),
        height=height,
        width=width,
        encoding='bgr8',
        is_bigendian=0,
        step=width * 3,
        data=np.ascontiguousarray(bgr).reshape(-1).copy(),
    )


def jpeg_msg(bgr: np.ndarray, quality: int = 90, stamp_ns: int = 0) -> Any:
    """Return a JPEG sensor_msgs/CompressedImage of ``bgr`` (format as image_transport writes)."""
    ok, encoded = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError('cv2.imencode failed')
    return CompressedImage(
        header=header(stamp_ns), format='bgr8; jpeg compressed bgr8', data=encoded.reshape(-1)
    )


def restamped(msg: Any, stamp_ns: int) -> Any:
    """Return a shallow copy of ``msg`` with a new header stamped ``stamp_ns`` (pixels shared)."""
    out = copy.copy(msg)
    out.header = header(stamp_ns, msg.header.frame_id)
    return out
