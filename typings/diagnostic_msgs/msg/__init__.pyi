# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""diagnostic_msgs/msg, typed from its .msg definitions (a byte field is a 1-byte bytes)."""

from collections.abc import Sequence

from std_msgs.msg import Header

class KeyValue:
    key: str
    value: str
    def __init__(self, *, key: str = ..., value: str = ...) -> None: ...

class DiagnosticStatus:
    OK: bytes
    WARN: bytes
    ERROR: bytes
    STALE: bytes
    level: bytes
    name: str
    message: str
    hardware_id: str
    values: list[KeyValue]
    def __init__(
        self,
        *,
        level: bytes = ...,
        name: str = ...,
        message: str = ...,
        hardware_id: str = ...,
        values: Sequence[KeyValue] = ...,
    ) -> None: ...

class DiagnosticArray:
    header: Header
    status: list[DiagnosticStatus]
    def __init__(
        self, *, header: Header = ..., status: Sequence[DiagnosticStatus] = ...
    ) -> None: ...
