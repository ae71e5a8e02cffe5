# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""sensor_msgs/msg, typed from its .msg definitions (uint8[] reads back as array('B'))."""

from array import array
from collections.abc import Sequence

from std_msgs.msg import Header

_Bytes = array[int] | bytes | Sequence[int]

class Image:
    header: Header
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: array[int]
    def __init__(
        self,
        *,
        header: Header = ...,
        height: int = ...,
        width: int = ...,
        encoding: str = ...,
        is_bigendian: int = ...,
        step: int = ...,
        data: _Bytes = ...,
    ) -> None: ...

class CompressedImage:
    header: Header
    format: str
    data: array[int]
    def __init__(self, *, header: Header = ..., format: str = ..., data: _Bytes = ...) -> None: ...
