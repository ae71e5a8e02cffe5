# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""vision_msgs/msg 4.x (Humble and newer), typed from its .msg definitions."""

from collections.abc import Sequence

from std_msgs.msg import Header

class ObjectHypothesis:
    class_id: str
    score: float
    def __init__(self, *, class_id: str = ..., score: float = ...) -> None: ...

class Classification:
    header: Header
    results: list[ObjectHypothesis]
    def __init__(
        self, *, header: Header = ..., results: Sequence[ObjectHypothesis] = ...
    ) -> None: ...

class VisionClass:
    class_id: int
    class_name: str
    def __init__(self, *, class_id: int = ..., class_name: str = ...) -> None: ...

class LabelInfo:
    header: Header
    class_map: list[VisionClass]
    threshold: float
    def __init__(
        self,
        *,
        header: Header = ...,
        class_map: Sequence[VisionClass] = ...,
        threshold: float = ...,
    ) -> None: ...
