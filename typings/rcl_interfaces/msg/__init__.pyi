# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""rcl_interfaces/msg, typed from its .msg definitions: the parameter messages."""

from collections.abc import Sequence

class FloatingPointRange:
    from_value: float
    to_value: float
    step: float
    def __init__(
        self, *, from_value: float = ..., to_value: float = ..., step: float = ...
    ) -> None: ...

class IntegerRange:
    from_value: int
    to_value: int
    step: int
    def __init__(self, *, from_value: int = ..., to_value: int = ..., step: int = ...) -> None: ...

class ParameterType:
    PARAMETER_NOT_SET: int
    PARAMETER_BOOL: int
    PARAMETER_INTEGER: int
    PARAMETER_DOUBLE: int
    PARAMETER_STRING: int
    PARAMETER_BYTE_ARRAY: int
    PARAMETER_BOOL_ARRAY: int
    PARAMETER_INTEGER_ARRAY: int
    PARAMETER_DOUBLE_ARRAY: int
    PARAMETER_STRING_ARRAY: int

class ParameterDescriptor:
    name: str
    type: int
    description: str
    additional_constraints: str
    read_only: bool
    dynamic_typing: bool
    floating_point_range: list[FloatingPointRange]
    integer_range: list[IntegerRange]
    def __init__(
        self,
        *,
        name: str = ...,
        type: int = ...,
        description: str = ...,
        additional_constraints: str = ...,
        read_only: bool = ...,
        dynamic_typing: bool = ...,
        floating_point_range: Sequence[FloatingPointRange] = ...,
        integer_range: Sequence[IntegerRange] = ...,
    ) -> None: ...

class SetParametersResult:
    successful: bool
    reason: str
    def __init__(self, *, successful: bool = ..., reason: str = ...) -> None: ...
