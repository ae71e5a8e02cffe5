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
Small labelled bags of flat grey frames whose BrightnessModel scores are known exactly.

``ROUND_TRIP`` lists episodes as (success label, grey values of its frames).
With ``model_factory.BrightnessModel`` (gain 10, offset 0.5, threshold 0.5)
a grey value v scores ``flat_probability(v)``: >= 128 is success.
"""

from __future__ import annotations

from pathlib import Path

from grasp_classifier_ros.bag.io import BagWriter, bool_msg, image_msg, msg_type
from grasp_classifier_ros.bag.make_bag import (
    BagSpec,
    DEFAULT_START_S,
    MadeBag,
    SourceEpisode,
    SourceFrame,
    write_bag,
)
from grasp_classifier_ros.core.interfaces import COMPRESSED, RAW
import numpy as np

NS = 1_000_000_000

ROUND_TRIP: list[tuple[bool, list[int]]] = [
    (True, [200] * 6),  # all right
    (False, [40] * 6),  # all right
    (True, [100] * 3 + [230] * 3),  # 3 misses, then right: last-3 check says success
    (False, [180] * 2 + [30] * 4),  # 2 false successes, then right
]


def flat_episodes(spec: list[tuple[bool, list[int]]], size: int = 32) -> list[SourceEpisode]:
    """Build source episodes of flat grey ``size`` x ``size`` RGB frames."""
    return [
        SourceEpisode(
            f'ep{i}_{"success" if ok else "failure"}',
            ok,
            [SourceFrame(rgb=np.full((size, size, 3), v, np.uint8)) for v in values],
        )
        for i, (ok, values) in enumerate(spec)
    ]


def make_flat_bag(
    path: Path,
    spec: list[tuple[bool, list[int]]] = ROUND_TRIP,
    **bag_spec: object,
) -> MadeBag:
    """Write ``spec`` as a bag (PNG when compressed, so pixels survive exactly)."""
    if bag_spec.pop('compressed', False):
        bag_spec['kind'] = COMPRESSED
        bag_spec.setdefault('fmt', 'png')
    return write_bag(path, flat_episodes(spec), BagSpec(**bag_spec))  # type: ignore[arg-type]


def values_of(spec: list[tuple[bool, list[int]]]) -> list[tuple[bool, int]]:
    """Flatten to (label, grey value) per frame in bag order."""
    return [(ok, v) for ok, values in spec for v in values]


def write_unlabelled_bag(
    path: Path,
    frames: list[tuple[float, int]],
    triggers: list[tuple[float, bool | None]] = (),  # type: ignore[assignment]
    *,
    trigger_topic: str = '/grasp/attempt',
    size: int = 32,
) -> Path:
    """
    Write a bag of flat grey ``bgr8`` frames, no labels: ``frames`` are (seconds, grey value).

    ``triggers`` (seconds, value) go on ``trigger_topic``: a std_msgs/Bool of that value,
    or std_msgs/Empty where the value is None. Times count from ``DEFAULT_START_S``.
    """
    start = DEFAULT_START_S * NS
    with BagWriter(path, 'mcap') as writer:
        writer.add_topic(RAW.default_topic, RAW.msg_type)
        for t, value in frames:
            stamp = start + round(t * NS)
            pixels = np.full((size, size, 3), value, np.uint8)
            writer.write(RAW.default_topic, stamp, image_msg(pixels, 'bgr8', stamp, 'camera'))
        for t, flag in triggers:
            msg = msg_type('std_msgs/msg/Empty')() if flag is None else bool_msg(flag)
            writer.write(trigger_topic, start + round(t * NS), msg)
    return path
