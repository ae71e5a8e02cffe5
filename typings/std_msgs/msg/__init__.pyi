# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""std_msgs/msg, typed from its .msg definitions."""

from builtin_interfaces.msg import Time

class Header:
    stamp: Time
    frame_id: str
    def __init__(self, *, stamp: Time = ..., frame_id: str = ...) -> None: ...

class Bool:
    data: bool
    def __init__(self, *, data: bool = ...) -> None: ...

class Float32:
    data: float
    def __init__(self, *, data: float = ...) -> None: ...
