# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""std_srvs/srv, typed from Trigger.srv."""

class Trigger:
    class Request:
        def __init__(self) -> None: ...

    class Response:
        success: bool
        message: str
        def __init__(self, *, success: bool = ..., message: str = ...) -> None: ...
