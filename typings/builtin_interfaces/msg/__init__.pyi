# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""builtin_interfaces/msg, typed from its .msg definitions."""

class Time:
    sec: int
    nanosec: int
    def __init__(self, *, sec: int = ..., nanosec: int = ...) -> None: ...

class Duration:
    sec: int
    nanosec: int
    def __init__(self, *, sec: int = ..., nanosec: int = ...) -> None: ...
