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
"""
ROS message and parameter plumbing that needs no rclpy import.

Message classes are passed in, so the node uses its rclpy classes and tests
use the ``rosbags`` type store's classes for the same definitions. Every
message is built with all its fields as keywords, which both kinds accept.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
import math
from typing import Any

import numpy as np

from ..core.params import Bounds, ParamSpec

# rcl_interfaces/msg/ParameterType constants.
PARAM_TYPE_IDS: dict[str, int] = {
    'bool': 1,
    'int': 2,
    'double': 3,
    'string': 4,
    'double_array': 8,
}
# diagnostic_msgs/msg/DiagnosticStatus levels, by the names stats.assess returns.
DIAGNOSTIC_LEVELS: dict[str, int] = {'OK': 0, 'WARN': 1, 'ERROR': 2, 'STALE': 3}


def ros_default(spec: ParamSpec) -> Any:
    """
    Return ``spec.default`` as the exact Python type rclpy infers the ROS type from.

    rclpy types a parameter by its default (``1`` would make a double parameter
    an integer one), so doubles must be floats and arrays lists of floats.
    """
    if spec.ros_type == 'double':
        return float(spec.default)
    if spec.ros_type == 'int':
        return int(spec.default)
    if spec.ros_type == 'bool':
        return bool(spec.default)
    if spec.ros_type == 'double_array':
        values = [float(v) for v in spec.default]
        if not values:  # rclpy would type an empty list as a byte array
            raise ValueError(f'parameter {spec.name}: an empty double_array default is untyped')
        return values
    return str(spec.default)


def from_ros_value(value: Any) -> Any:
    """Return a parameter value as plain Python (rclpy gives arrays as ``array.array``)."""
    if isinstance(value, array):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def constraints_text(spec: ParamSpec) -> str:
    """Return the human-readable ``additional_constraints`` of a parameter ('' if none)."""
    parts = []
    if spec.choices:
        parts.append('one of: ' + ', '.join(spec.choices))
    for rule in spec.rules:
        if isinstance(rule, Bounds):
            span = f'range {rule.lo:g} .. {rule.hi:g}'
            if rule.also is not None:
                span = f'{rule.also:g} ({rule.meaning}) or {span}'
            parts.append(span)
    if not spec.dynamic:
        parts.append('read-only: set at startup')
    return '; '.join(parts)


def make_descriptor(
    spec: ParamSpec, descriptor_cls: Any, float_range_cls: Any, int_range_cls: Any
) -> Any:
    """
    Build an ``rcl_interfaces/ParameterDescriptor`` for ``spec``.

    Bounded doubles get a ``FloatingPointRange`` and bounded ints an
    ``IntegerRange`` (step 0 = any value, else ``Bounds.step``), so ``ros2 param describe`` and rqt
    show them and rclpy enforces them before our own validation runs.
    """
    float_ranges = []
    int_ranges = []
    if spec.minimum is not None and spec.maximum is not None:
        if spec.ros_type == 'double':
            float_ranges.append(
                float_range_cls(
                    from_value=float(spec.minimum), to_value=float(spec.maximum), step=0.0
                )
            )
        elif spec.ros_type == 'int':
            int_ranges.append(
                int_range_cls(
                    from_value=int(spec.minimum), to_value=int(spec.maximum), step=spec.step
                )
            )
    return descriptor_cls(
        name=spec.name,
        type=PARAM_TYPE_IDS[spec.ros_type],
        description=spec.description,
        additional_constraints=constraints_text(spec),
        read_only=not spec.dynamic,
        dynamic_typing=False,
        floating_point_range=float_ranges,
        integer_range=int_ranges,
    )


def classification_msg(
    classification_cls: Any,
    hypothesis_cls: Any,
    header: Any,
    class_names: Sequence[str],
    probabilities: Iterable[float],
) -> Any:
    """Build a ``vision_msgs/Classification``: one hypothesis per class, in model order."""
    results = [
        hypothesis_cls(class_id=str(name), score=float(p))
        for name, p in zip(class_names, probabilities, strict=True)
    ]
    return classification_cls(header=header, results=results)


def label_info_msg(
    label_info_cls: Any,
    vision_class_cls: Any,
    header: Any,
    class_names: Sequence[str],
    threshold: float,
) -> Any:
    """Build a ``vision_msgs/LabelInfo`` mapping class index to name, with the threshold."""
    class_map = [
        vision_class_cls(class_id=i, class_name=str(name)) for i, name in enumerate(class_names)
    ]
    return label_info_cls(header=header, class_map=class_map, threshold=float(threshold))


def bgr8_image_msg(image_cls: Any, header: Any, pixels: np.ndarray) -> Any:
    """
    Build a ``sensor_msgs/Image`` (bgr8, tightly packed) from HxWx3 uint8 BGR pixels.

    ``data`` is an ``array('B')``: rclpy's fast path for uint8 sequences (what
    cv_bridge assigns too).
    """
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f'expected HxWx3 uint8 pixels, got {pixels.shape} {pixels.dtype}')
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    data = array('B', np.ascontiguousarray(pixels).tobytes())
    return image_cls(
        header=header,
        height=height,
        width=width,
        encoding='bgr8',
        is_bigendian=0,
        step=width * 3,
        data=data,
    )


def _num(value: float | None, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'n/a'
    return format(value, fmt)


def diagnostic_values(
    snapshot: dict[str, Any], *, device: str, model_id: str, threshold: float
) -> list[tuple[str, str]]:
    """Return the key/value pairs of the diagnostics status from a ``StreamStats`` snapshot."""
    counts = snapshot.get('counts', {})
    skipped = {s: counts.get(s, 0) for s in ('stale', 'future', 'out_of_order')}
    faults = {s: counts.get(s, 0) for s in ('bad_image', 'nonfinite', 'error')}
    return [
        ('input rate (Hz)', _num(snapshot['input_rate_hz'], '.2f')),
        ('seconds since last frame', _num(snapshot['seconds_since_last_frame'], '.3f')),
        ('last frame age (s)', _num(snapshot['last_frame_age_s'], '.3f')),
        ('latency p50 (ms)', _num(snapshot['latency_ms_p50'], '.2f')),
        ('latency p95 (ms)', _num(snapshot['latency_ms_p95'], '.2f')),
        ('frames received', str(snapshot['received'])),
        ('frames processed', str(snapshot['processed'])),
        ('frames classified', str(counts.get('ok', 0))),
        ('frames dropped (newer frame arrived)', str(snapshot['dropped'])),
        *((f'frames skipped: {k}', str(v)) for k, v in skipped.items()),
        *((f'frames rejected: {k}', str(v)) for k, v in faults.items()),
        ('device', device),
        ('model', model_id),
        ('threshold', f'{threshold:.3f}'),
    ]


def explain_incompatible_qos(
    topic: str, policy: str, requested_reliability: str, offered_reliabilities: Iterable[str]
) -> str:
    """Return the log line for a publisher whose QoS cannot reach our subscription."""
    offered = sorted({r.lower() for r in offered_reliabilities})
    requested = requested_reliability.lower()
    offered_text = ', '.join(offered) if offered else 'unknown (publisher gone)'
    text = (
        f"publisher on '{topic}' is incompatible (policy {policy}): it offers reliability "
        f'{offered_text}, this node requests {requested}; no frames will arrive.'
    )
    if policy.upper() == 'RELIABILITY' or (requested == 'reliable' and 'best_effort' in offered):
        text += ' Set qos_reliability:=best_effort (accepts reliable and best-effort publishers).'
    return text
