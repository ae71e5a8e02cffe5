# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""diagnostic_updater (Python, ros2 branches), typed from its source: the parts used here."""

from collections.abc import Callable
from typing import overload

from diagnostic_msgs.msg import DiagnosticStatus
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.timer import Timer

class DiagnosticStatusWrapper(DiagnosticStatus):
    @overload
    def summary(self, status: DiagnosticStatus, /) -> None: ...
    @overload
    def summary(self, lvl: bytes, msg: str, /) -> None: ...
    def clearSummary(self) -> None: ...  # noqa: N802 (the library's name)
    @overload
    def mergeSummary(self, status: DiagnosticStatus, /) -> None: ...
    @overload
    def mergeSummary(self, lvl: bytes, msg: str, /) -> None: ...
    def add(self, key: str, val: str) -> None: ...

class DiagnosticTask:
    name: str
    def __init__(self, name: str) -> None: ...
    def getName(self) -> str: ...  # noqa: N802 (the library's name)
    def run(self, stat: DiagnosticStatusWrapper) -> DiagnosticStatusWrapper: ...

_TaskFn = Callable[[DiagnosticStatusWrapper], DiagnosticStatusWrapper]

class FunctionDiagnosticTask(DiagnosticTask):
    def __init__(self, name: str, fn: _TaskFn) -> None: ...

class DiagnosticTaskVector:
    @overload
    def add(self, task: DiagnosticTask, /) -> None: ...
    @overload
    def add(self, name: str, fn: _TaskFn, /) -> None: ...
    def removeByName(self, name: str) -> bool: ...  # noqa: N802 (the library's name)

class Updater(DiagnosticTaskVector):
    node: Node
    publisher: Publisher
    timer: Timer
    verbose: bool
    hwid: str
    node_name: str  # "<node name>: " prefixes every status name
    def __init__(self, node: Node, period: float = 1.0) -> None: ...
    def update(self) -> None: ...
    def force_update(self) -> None: ...
    def broadcast(self, lvl: bytes, msg: str) -> None: ...
    def setHardwareID(self, hwid: str) -> None: ...  # noqa: N802 (the library's name)
    @property
    def period(self) -> float: ...
