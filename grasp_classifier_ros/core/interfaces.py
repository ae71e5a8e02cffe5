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
The node's ROS interface as data: message type names, input kinds, output topics.

The one home of every message type string and topic name. The node subscribes
to ``input_kind(compressed).msg_type`` and publishes the ``Output`` topics
(relative names: a namespace moves them); the bag tools read and write the same
names, at the root namespace (``Output.in_bag``). To take a new input type,
add an ``InputKind`` row with its decoder; the node, the pipeline, the bag
evaluator and make_bag look it up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .image_codec import decode_compressed, decode_image, DecodedImage

IMAGE_TYPE = 'sensor_msgs/msg/Image'
COMPRESSED_TYPE = 'sensor_msgs/msg/CompressedImage'
BOOL_TYPE = 'std_msgs/msg/Bool'
FLOAT32_TYPE = 'std_msgs/msg/Float32'
CLASSIFICATION_TYPE = 'vision_msgs/msg/Classification'
LABEL_INFO_TYPE = 'vision_msgs/msg/LabelInfo'
TRIGGER_TYPE = 'std_srvs/srv/Trigger'

# decode(msg, max_pixels, min_size): min_size (h, w) lets a decoder shrink while decoding.
Decode = Callable[[Any, int, tuple[int, int] | None], DecodedImage]


@dataclass(frozen=True)
class InputKind:
    """One kind of camera message the pipeline classifies."""

    name: str
    msg_type: str
    default_topic: str  # image_transport's name for this transport of /camera/image_raw
    decode: Decode


def _decode_raw(msg: Any, max_pixels: int, min_size: tuple[int, int] | None) -> DecodedImage:
    return decode_image(msg, max_pixels=max_pixels)  # raw pixels: nothing to gain from min_size


def _decode_compressed(
    msg: Any, max_pixels: int, min_size: tuple[int, int] | None
) -> DecodedImage:
    return decode_compressed(msg, max_pixels=max_pixels, min_size=min_size)


RAW = InputKind('raw', IMAGE_TYPE, '/camera/image_raw', _decode_raw)
COMPRESSED = InputKind(
    'compressed', COMPRESSED_TYPE, '/camera/image_raw/compressed', _decode_compressed
)
INPUT_KINDS = (RAW, COMPRESSED)
IMAGE_TYPES = tuple(k.msg_type for k in INPUT_KINDS)


def input_kind(compressed: bool) -> InputKind:
    """Return the kind the node's ``compressed`` parameter selects."""
    return COMPRESSED if compressed else RAW


def input_kind_of_type(msg_type: str) -> InputKind | None:
    """Return the kind of messages of type ``msg_type`` (None: no image type we decode)."""
    return next((k for k in INPUT_KINDS if k.msg_type == msg_type), None)


@dataclass(frozen=True)
class Output:
    """A topic the node publishes (or, for ``LABEL``, that labelled bags carry)."""

    topic: str  # relative: under the node's namespace
    msg_type: str

    @property
    def in_bag(self) -> str:
        """Return the topic as recorded from a node in the root namespace (``/grasp/result``)."""
        return '/' + self.topic


SUCCESS = Output('grasp/success', BOOL_TYPE)
CONFIDENCE = Output('grasp/confidence', FLOAT32_TYPE)
RESULT = Output('grasp/result', CLASSIFICATION_TYPE)
LABEL_INFO = Output('grasp/label_info', LABEL_INFO_TYPE)  # latched
DEBUG_IMAGE = Output('~/debug_image', IMAGE_TYPE)
RESULTS = (LABEL_INFO, SUCCESS, CONFIDENCE, RESULT)  # what an annotated bag adds, in order
LABEL = Output('grasp/label', BOOL_TYPE)  # ground truth in labelled bags (make_bag, evaluate_bag)
CHECK_SERVICE = '~/check'  # TRIGGER_TYPE
