# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Every node parameter, declared once.

``PARAMETERS`` is the single source for the ROS declaration (node.py), validation
(here), ``config/classifier.yaml`` and the README parameter table
(``tools/gen_docs.py`` writes both; a test fails when they drift).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
import math
import re
from typing import Any

from .decision import SMOOTHING_CHOICES
from .errors import ParameterError
from .preprocess import validate_roi

PARAM_TYPES = ('bool', 'int', 'double', 'string', 'double_array')


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name, ROS type, default, bounds, dynamic or read-only, description."""

    name: str
    type: str
    default: Any
    description: str
    dynamic: bool
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], str | None] | None = None  # extra rule: returns the reason or None

    @property
    def range_text(self) -> str:
        if self.choices:
            return ' \\| '.join(self.choices)
        if self.min is not None and self.max is not None:
            return f'{_fmt(self.min)} .. {_fmt(self.max)}'
        return ''


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return f"'{v}'"
    if isinstance(v, (list, tuple)):
        return '[' + ', '.join(_fmt(x) for x in v) + ']'
    return str(v)


# Matched with fullmatch: `$` would also accept a trailing newline.
_DEVICE_RE = re.compile(r'auto|cpu|cuda|cuda:[0-9]+')
_SHA_RE = re.compile(r'([0-9a-fA-F]{64})?')
# ROS 2 topic names: tokens of [A-Za-z0-9_] not starting with a digit, or {substitutions},
# separated by single slashes; optionally absolute (/) or private (~/); no trailing slash.
_TOKEN = r'(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})'
_TOPIC_RE = re.compile(rf'(?:~/|/)?{_TOKEN}(?:/{_TOKEN})*')


def _check_device(v: str) -> str | None:
    return None if _DEVICE_RE.fullmatch(v) else 'must be auto, cpu, cuda or cuda:N'


def _check_sha(v: str) -> str | None:
    return None if _SHA_RE.fullmatch(v) else "must be '' or 64 hex digits"


def _check_threshold(v: float) -> str | None:
    return None if v == -1.0 or 0.0 <= v <= 1.0 else "must be -1 (use the model's) or in 0..1"


def _check_roi(v: list[float]) -> str | None:
    try:
        validate_roi(v)
    except ParameterError as exc:
        return exc.reason
    return None


def _check_topic(v: str) -> str | None:
    if not _TOPIC_RE.fullmatch(v):
        return 'must be a valid ROS topic name, e.g. /camera/image_raw'
    return None


PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec(
        'model_path',
        'string',
        '',
        "Exported TorchScript model (.pt with embedded metadata); '' = the shipped "
        'models/grasp_classifier.pt. Changing it hot-reloads; a model that fails to load is '
        'rejected and the old one keeps serving.',
        dynamic=True,
    ),
    ParamSpec(
        'model_sha256',
        'string',
        '',
        "Expected SHA-256 of the model file, checked before loading ('' = no check).",
        dynamic=True,
        check=_check_sha,
    ),
    ParamSpec(
        'device',
        'string',
        'auto',
        'Inference device: auto (CUDA if present), cpu, cuda or cuda:N.',
        dynamic=False,
        check=_check_device,
    ),
    ParamSpec(
        'cuda_fallback',
        'bool',
        True,
        'When CUDA is requested but absent: true = warn and use the CPU, false = refuse to start.',
        dynamic=False,
    ),
    ParamSpec('fp16', 'bool', True, 'Half-precision inference on CUDA (ignored on CPU).', False),
    ParamSpec(
        'num_threads',
        'int',
        1,
        'CPU inference threads (0 = torch default, all cores). 1 keeps latency steady when other '
        'processes load the CPU (see benchmarks/README.md).',
        dynamic=False,
        min=0,
        max=256,
    ),
    ParamSpec(
        'backend',
        'string',
        'torchscript',
        'Inference engine for the TorchScript model: torchscript, onnxruntime (CPU, needs the '
        'onnxruntime package; outputs checked against TorchScript at load) or auto (onnxruntime '
        'if available).',
        dynamic=False,
        choices=('torchscript', 'onnxruntime', 'auto'),
    ),
    ParamSpec(
        'image_topic',
        'string',
        '/camera/image_raw',
        'Camera topic to classify.',
        dynamic=False,
        check=_check_topic,
    ),
    ParamSpec(
        'compressed',
        'bool',
        False,
        'Subscribe to sensor_msgs/CompressedImage (jpeg/png) instead of sensor_msgs/Image.',
        dynamic=False,
    ),
    ParamSpec(
        'qos_reliability',
        'string',
        'best_effort',
        "Subscription reliability; 'best_effort' (sensor data) accepts both kinds of publisher.",
        dynamic=False,
        choices=('best_effort', 'reliable'),
    ),
    ParamSpec('qos_depth', 'int', 1, 'Subscription queue depth.', False, min=1, max=100),
    ParamSpec(
        'max_pixels',
        'int',
        4096 * 4096,
        'Frames with more pixels (height*width) are rejected before decoding.',
        dynamic=True,
        min=1,
        max=1 << 28,
    ),
    ParamSpec(
        'threshold',
        'double',
        -1.0,
        "Success threshold on the calibrated probability; -1 = the model's recommended one.",
        dynamic=True,
        min=-1.0,
        max=1.0,
        check=_check_threshold,
    ),
    ParamSpec(
        'hysteresis',
        'double',
        0.05,
        'Half-width of the band around the threshold: SUCCESS needs >= threshold + '
        'hysteresis, FAILURE <= threshold - hysteresis; inside, the last verdict holds.',
        dynamic=True,
        min=0.0,
        max=0.5,
    ),
    ParamSpec(
        'smoothing',
        'string',
        'ema',
        'Temporal smoothing over the last `window` frames.',
        dynamic=True,
        choices=SMOOTHING_CHOICES,
    ),
    ParamSpec('window', 'int', 3, 'Frames used by smoothing.', True, min=1, max=100),
    ParamSpec(
        'max_frame_age',
        'double',
        0.5,
        'Seconds; older (or unstamped) frames never yield a verdict. 0 disables freshness checks.',
        dynamic=True,
        min=0.0,
        max=60.0,
    ),
    ParamSpec(
        'max_future_skew',
        'double',
        0.1,
        'Seconds a frame stamp may lie in the future (clock skew) before it is rejected.',
        dynamic=True,
        min=0.0,
        max=10.0,
    ),
    ParamSpec(
        'roi',
        'double_array',
        [0.0, 0.0, 1.0, 1.0],
        'Normalised crop [x, y, w, h] (0..1) applied before resizing.',
        dynamic=True,
        check=_check_roi,
    ),
    ParamSpec('check_frames', 'int', 3, '~/check: fresh frames to judge over.', True, 1, 100),
    ParamSpec(
        'check_timeout',
        'double',
        1.0,
        '~/check: seconds to wait for those frames before answering "no verdict".',
        dynamic=True,
        min=0.01,
        max=60.0,
    ),
    ParamSpec(
        'camera_timeout',
        'double',
        1.0,
        'Seconds without frames before diagnostics report the camera as stopped (ERROR).',
        dynamic=True,
        min=0.05,
        max=60.0,
    ),
    ParamSpec(
        'publish_debug_image',
        'bool',
        True,
        'Publish ~/debug_image (verdict drawn on the frame) while someone subscribes.',
        dynamic=True,
    ),
    ParamSpec('warmup_runs', 'int', 3, 'Inference runs at model load.', False, min=0, max=100),
)

SPECS: dict[str, ParamSpec] = {p.name: p for p in PARAMETERS}
DYNAMIC: frozenset[str] = frozenset(p.name for p in PARAMETERS if p.dynamic)


def _coerce(spec: ParamSpec, value: Any) -> Any:
    t = spec.type
    if t == 'bool':
        if isinstance(value, bool):
            return value
        raise ParameterError(spec.name, value, 'must be true or false')
    if t == 'int':
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ParameterError(spec.name, value, 'must be an integer')
    if t == 'double':
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = _finite_float(value)
            if v is None:
                raise ParameterError(spec.name, value, 'must be a finite number')
            return v
        raise ParameterError(spec.name, value, 'must be a number')
    if t == 'string':
        if isinstance(value, str):
            return value
        raise ParameterError(spec.name, value, 'must be a string')
    if t == 'double_array':
        # rclpy hands double arrays to parameter callbacks as array('d').
        if isinstance(value, (list, tuple, array)) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            out = [_finite_float(v) for v in value]
            if any(v is None for v in out):
                raise ParameterError(spec.name, value, 'values must be finite numbers')
            return out
        raise ParameterError(spec.name, value, 'must be a list of numbers')
    raise AssertionError(f'unknown parameter type {t}')  # a spec bug, not user input


def _finite_float(value: float) -> float | None:
    """Return ``value`` as a finite float, or None (NaN, inf, or an int beyond double range)."""
    try:
        v = float(value)
    except OverflowError:
        return None
    return v if math.isfinite(v) else None


def validate(name: str, value: Any) -> Any:
    """Coerce and check one parameter value; raise ParameterError with the reason."""
    spec = SPECS.get(name)
    if spec is None:
        raise ParameterError(name, value, f'unknown parameter (known: {", ".join(SPECS)})')
    v = _coerce(spec, value)
    if spec.choices is not None and v not in spec.choices:
        raise ParameterError(name, value, f'must be one of {", ".join(spec.choices)}')
    if spec.min is not None and v < spec.min:
        raise ParameterError(name, value, f'must be >= {_fmt(spec.min)}')
    if spec.max is not None and v > spec.max:
        raise ParameterError(name, value, f'must be <= {_fmt(spec.max)}')
    if spec.check is not None:
        reason = spec.check(v)
        if reason:
            raise ParameterError(name, value, reason)
    return v


def defaults() -> dict[str, Any]:
    """All parameters at their defaults (fresh copies of list values)."""
    return {
        p.name: list(p.default) if isinstance(p.default, list) else p.default for p in PARAMETERS
    }


def validate_all(values: dict[str, Any]) -> dict[str, Any]:
    """Validate a full or partial parameter set; return it complete with defaults."""
    out = defaults()
    for name, value in values.items():
        out[name] = validate(name, value)
    return out


def validate_changes(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a batch of run-time parameter changes as one unit; return them coerced.

    For the node's set-parameters callback: check every change first and apply
    the returned values (``Pipeline.apply_params``) only if this returns, so a
    rejected batch changes nothing. A read-only parameter may only be "set" to
    its ``current`` value (default if absent). Raise ParameterError naming the
    first bad parameter. (``PARAMETERS`` has no cross-field rules yet; they go here.)
    """
    out: dict[str, Any] = {}
    for name, value in changes.items():
        v = validate(name, value)
        if name not in DYNAMIC and v != current.get(name, SPECS[name].default):
            raise ParameterError(
                name, value, 'is read-only at run time; restart the node to change it'
            )
        out[name] = v
    return out


def to_yaml(node_name: str = '/**') -> str:
    """Render ``config/classifier.yaml`` with every parameter at its default."""
    lines = [
        '# Parameters of grasp_classifier_node, generated from',
        '# grasp_classifier_ros/core/params.py by `make docs` (tools/gen_docs.py).',
        '# Edit params.py, not this file.',
        f'{node_name}:',
        '  ros__parameters:',
    ]
    for p in PARAMETERS:
        tag = 'dynamic' if p.dynamic else 'read-only'
        rng = f'; range {p.range_text}' if p.range_text else ''
        lines.append(f'    # {p.description} [{p.type}, {tag}{rng}]'.replace('\\|', '|'))
        default = p.default
        text = ('"' + default + '"') if isinstance(default, str) else _fmt(default)
        lines.append(f'    {p.name}: {text}')
    return '\n'.join(lines) + '\n'


def readme_table() -> str:
    """Render the README parameter table (Markdown)."""
    rows = [
        '| name | type | default | range | dynamic | description |',
        '|---|---|---|---|---|---|',
    ]
    for p in PARAMETERS:
        default = f"'{p.default}'" if isinstance(p.default, str) else _fmt(p.default)
        rows.append(
            f'| `{p.name}` | {p.type} | `{default}` | {p.range_text} | '
            f'{"yes" if p.dynamic else "no"} | {p.description} |'
        )
    return '\n'.join(rows) + '\n'
