# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Time in integer nanoseconds, and ``builtin_interfaces/Time`` stamps both ways."""

from __future__ import annotations

from typing import Any

NS = 1_000_000_000  # nanoseconds per second, for every stamp calculation in the package


def stamp_to_ns(stamp: Any) -> int:
    """``builtin_interfaces/Time`` (``sec``, ``nanosec``) to integer nanoseconds."""
    return int(stamp.sec) * NS + int(stamp.nanosec)


def ns_to_stamp(t_ns: int) -> tuple[int, int]:
    """Integer nanoseconds to the ``(sec, nanosec)`` of a ``builtin_interfaces/Time``."""
    return int(t_ns // NS), int(t_ns % NS)
