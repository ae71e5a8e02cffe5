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
