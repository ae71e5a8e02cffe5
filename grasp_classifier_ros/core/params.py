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
Every node parameter, declared once, with typed access.

``Params`` is the single source, in the manner of generate_parameter_library:
each field is one parameter (name, Python type, default) whose metadata holds
its description, whether it may change at run time and its validation rules
(``Bounds``, ``OneOf``, ``Matches``, ``Satisfies``). The ROS declaration
(``ros/node.py``), validation (here), ``config/classifier.yaml`` and the README
parameter table (``tools/gen_docs.py``) all come from it; a test fails when
they drift. ``validate_all`` returns a frozen ``Params``; a change makes a new
one (``Params.updated``).

Imports neither torch nor OpenCV: the launch file validates its arguments here.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
import math
from pathlib import Path
import re
from typing import Any

from .errors import GraspClassifierError, ParameterError
from .mount import Mount
from .roi import FULL_FRAME, Roi, validate_roi

PARAM_TYPES = ('bool', 'int', 'double', 'string', 'double_array')
SMOOTHING_CHOICES = ('none', 'ema', 'vote')
BACKEND_CHOICES = ('torchscript', 'onnxruntime', 'onnxruntime-int8', 'auto')
CAPTURE_POLICIES = ('all', 'disagreements', 'sample')
USE_MODEL_THRESHOLD = -1.0  # the threshold parameter's "use the model's own"


def resolve_threshold(requested: float, model_threshold: float) -> float:
    """Return the threshold in force: ``requested``, or the model's for ``USE_MODEL_THRESHOLD``."""
    return model_threshold if requested == USE_MODEL_THRESHOLD else requested


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


# -- validation rules (what generate_parameter_library calls validators) ----------------------


@dataclass(frozen=True)
class Bounds:
    """
    A number in ``lo .. hi``, or exactly ``also`` (a special value meaning ``meaning``).

    ``step`` > 0: only ``lo + k * step`` (as a ROS ``IntegerRange`` step).
    """

    lo: float
    hi: float
    also: float | None = None
    meaning: str = ''
    step: int = 0

    @property
    def hull(self) -> tuple[float, float]:
        """Return the smallest range holding every valid value (what a ROS descriptor states)."""
        lo = self.lo if self.also is None else min(self.lo, self.also)
        hi = self.hi if self.also is None else max(self.hi, self.also)
        return lo, hi

    @property
    def text(self) -> str:
        span = f'{_fmt(self.lo)} .. {_fmt(self.hi)}'
        if self.step:
            span += f' step {self.step}'
        return span if self.also is None else f'{_fmt(self.also)} or {span}'

    def reason(self, v: float) -> str | None:
        lo, hi = self.hull
        if v < lo:
            return f'must be >= {_fmt(lo)}'
        if v > hi:
            return f'must be <= {_fmt(hi)}'
        if self.step and (v - self.lo) % self.step:
            return f'must be {_fmt(self.lo)} plus a multiple of {self.step}'
        if (v < self.lo or v > self.hi) and v != self.also:
            return f'must be {self.also:g} ({self.meaning}) or in {self.lo:g}..{self.hi:g}'
        return None


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of strings."""

    choices: tuple[str, ...]

    @property
    def text(self) -> str:
        return ' \\| '.join(self.choices)

    def reason(self, v: str) -> str | None:
        return None if v in self.choices else f'must be one of {", ".join(self.choices)}'


@dataclass(frozen=True)
class Matches:
    """A string matching ``pattern`` in full (``$`` would also accept a trailing newline)."""

    pattern: str
    why: str
    text: str = ''

    def reason(self, v: str) -> str | None:
        return None if re.fullmatch(self.pattern, v) else self.why


@dataclass(frozen=True)
class Satisfies:
    """A custom rule: ``check`` returns the reason a value is rejected, or None."""

    check: Callable[[Any], str | None]
    text: str = ''

    def reason(self, v: Any) -> str | None:
        return self.check(v)


Rule = Bounds | OneOf | Matches | Satisfies

# ROS 2 topic names: tokens of [A-Za-z0-9_] not starting with a digit, or the substitutions
# rcl expands ({node}, {ns}, {namespace}), separated by single slashes; optionally absolute
# (/) or private (~/); no trailing slash.
TOPIC_SUBSTITUTIONS = ('node', 'ns', 'namespace')
_TOKEN = r'(?:[A-Za-z_][A-Za-z0-9_]*|\{(?:' + '|'.join(TOPIC_SUBSTITUTIONS) + r')\})'
TOPIC = Matches(
    rf'(?:~/|/)?{_TOKEN}(?:/{_TOKEN})*',
    'must be a valid ROS topic name, e.g. /camera/image_raw (substitutions: '
    + ', '.join('{' + s + '}' for s in TOPIC_SUBSTITUTIONS)
    + ')',
)


def _roi_reason(v: list[float]) -> str | None:
    try:
        validate_roi(v)
    except ParameterError as exc:
        return exc.reason
    return None


# -- the parameters -----------------------------------------------------------------------------


def _param(default: Any, description: str, *, dynamic: bool, rules: tuple[Rule, ...] = ()) -> Any:
    """Declare one ``Params`` field: its default plus what the spec needs."""
    meta = {'description': description, 'dynamic': dynamic, 'rules': rules}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Params:
    """Validated node parameters (build with ``validate_all``; fields are read-only)."""

    model_path: str = _param(
        '',
        "Exported TorchScript model (.pt with embedded metadata); '' = the shipped "
        'models/grasp_classifier.pt. Changing it hot-reloads; a model that fails to load is '
        'rejected and the old one keeps serving.',
        dynamic=True,
    )
    model_sha256: str = _param(
        '',
        "Expected SHA-256 of the model file, checked before loading ('' = no check).",
        dynamic=True,
        rules=(Matches(r'([0-9a-fA-F]{64})?', "must be '' or 64 hex digits"),),
    )
    device: str = _param(
        'auto',
        'Inference device: auto (CUDA if present), cpu, cuda or cuda:N.',
        dynamic=False,
        rules=(Matches(r'auto|cpu|cuda|cuda:[0-9]+', 'must be auto, cpu, cuda or cuda:N'),),
    )
    cuda_fallback: bool = _param(
        True,
        'When CUDA is requested but absent: true = warn and use the CPU, false = refuse to start.',
        dynamic=False,
    )
    fp16: bool = _param(True, 'Half-precision inference on CUDA (ignored on CPU).', dynamic=False)
    num_threads: int = _param(
        1,
        'CPU inference threads (0 = torch default, all cores). 1 keeps latency steady when other '
        'processes load the CPU (see benchmarks/README.md).',
        dynamic=False,
        rules=(Bounds(0, 256),),
    )
    backend: str = _param(
        'auto',
        'Inference engine: auto (on CPU the int8 variant the model file carries, else '
        'onnxruntime, else torchscript, each step down logged; on CUDA torchscript), '
        'torchscript, onnxruntime (FP32, CPU; needs onnxruntime and onnx) or onnxruntime-int8 '
        "(the model's parity-gated int8 variant, CPU; needs onnxruntime). ONNX Runtime outputs "
        'are checked against TorchScript at load.',
        dynamic=False,
        rules=(OneOf(BACKEND_CHOICES),),
    )
    image_topic: str = _param(
        '/camera/image_raw', 'Camera topic to classify.', dynamic=False, rules=(TOPIC,)
    )
    compressed: bool = _param(
        False,
        'Subscribe to sensor_msgs/CompressedImage (jpeg/png) instead of sensor_msgs/Image.',
        dynamic=False,
    )
    qos_reliability: str = _param(
        'best_effort',
        "Subscription reliability; 'best_effort' (sensor data) accepts both kinds of publisher.",
        dynamic=False,
        rules=(OneOf(('best_effort', 'reliable')),),
    )
    qos_depth: int = _param(1, 'Subscription queue depth.', dynamic=False, rules=(Bounds(1, 100),))
    max_pixels: int = _param(
        4096 * 4096,
        'Frames with more pixels (height*width) are rejected before decoding.',
        dynamic=True,
        rules=(Bounds(1, 1 << 28),),
    )
    threshold: float = _param(
        USE_MODEL_THRESHOLD,
        "Success threshold on the calibrated probability; -1 = the model's recommended one.",
        dynamic=True,
        rules=(Bounds(0.0, 1.0, also=USE_MODEL_THRESHOLD, meaning="use the model's"),),
    )
    hysteresis: float = _param(
        0.05,
        'Half-width of the band around the threshold: SUCCESS needs >= threshold + '
        'hysteresis, FAILURE <= threshold - hysteresis; inside, the last verdict holds.',
        dynamic=True,
        rules=(Bounds(0.0, 0.5),),
    )
    smoothing: str = _param(
        'ema',
        'Temporal smoothing over the last `window` frames.',
        dynamic=True,
        rules=(OneOf(SMOOTHING_CHOICES),),
    )
    window: int = _param(3, 'Frames used by smoothing.', dynamic=True, rules=(Bounds(1, 100),))
    max_frame_age: float = _param(
        0.5,
        'Seconds; older (or unstamped) frames never yield a verdict. 0 disables freshness checks.',
        dynamic=True,
        rules=(Bounds(0.0, 60.0),),
    )
    max_future_skew: float = _param(
        0.1,
        'Seconds a frame stamp may lie in the future (clock skew) before it is rejected.',
        dynamic=True,
        rules=(Bounds(0.0, 10.0),),
    )
    image_rotation: int = _param(
        0,
        'Camera mount: degrees the camera image is turned clockwise (0, 90, 180, 270) before '
        '`roi`, so the model sees the view it was trained on (choose with `evaluate_bag '
        '--preview`).',
        dynamic=True,
        rules=(Bounds(0, 270, step=90),),
    )
    image_flip: bool = _param(
        False,
        'Camera mount: mirror the image left-right after `image_rotation` (a camera seeing the '
        'hand mirrored).',
        dynamic=True,
    )
    roi: Roi = _param(
        FULL_FRAME,
        'Normalised crop [x, y, w, h] (0..1) of the frame as turned by image_rotation and '
        'image_flip, applied before resizing.',
        dynamic=True,
        rules=(Satisfies(_roi_reason),),
    )
    check_frames: int = _param(
        3, '~/check: fresh frames to judge over.', dynamic=True, rules=(Bounds(1, 100),)
    )
    check_timeout: float = _param(
        1.0,
        '~/check: seconds to wait for those frames before answering "no verdict", on the node '
        'clock (sim time with use_sim_time).',
        dynamic=True,
        rules=(Bounds(0.01, 60.0),),
    )
    camera_timeout: float = _param(
        1.0,
        'Seconds without frames before diagnostics report the camera as stopped (ERROR). With '
        'max_frame_age 0, also the gap, or jump back of the stamps, after which a stream starts '
        'fresh.',
        dynamic=True,
        rules=(Bounds(0.05, 60.0),),
    )
    publish_debug_image: bool = _param(
        True,
        'Publish ~/debug_image (verdict drawn on the frame) while someone subscribes.',
        dynamic=True,
    )
    outcome_topic: str = _param(
        'grasp/outcome',
        'std_msgs/Bool the grasp controller publishes once per attempt when it knows (true = '
        'the grasp held); paired with the last completed ~/check, else the verdict over the '
        'most recent frames, for the live agreement in /diagnostics (and capture).',
        dynamic=False,
        rules=(TOPIC,),
    )
    outcome_window: int = _param(
        20,
        'Live agreement: the last attempts (paired outcomes) scored in /diagnostics.',
        dynamic=False,
        rules=(Bounds(1, 10000),),
    )
    min_live_accuracy: float = _param(
        0.8,
        'Diagnostics WARN when the live accuracy over the window falls below this, once the '
        'window holds min(outcome_window, 10) attempts; 0 = never.',
        dynamic=True,
        rules=(Bounds(0.0, 1.0),),
    )
    capture_dir: str = _param(
        '',
        "Self-labelled capture: each attempt's frames, exactly as received, with /grasp/label "
        "from the outcome and the node's /grasp/result, in mcap bags under "
        "capture_dir/<node>/<date>/ ('' = off). Written off the inference thread.",
        dynamic=False,
    )
    capture_policy: str = _param(
        'all',
        'Which attempts to capture: all, disagreements (verdict and outcome differ, or no '
        'verdict) or sample (every capture_every-th attempt).',
        dynamic=True,
        rules=(OneOf(CAPTURE_POLICIES),),
    )
    capture_every: int = _param(
        10,
        "capture_policy 'sample': capture every N-th attempt.",
        dynamic=True,
        rules=(Bounds(1, 100000),),
    )
    capture_before: float = _param(
        2.0,
        'Seconds of frames captured before the ~/check call (or, without one, the outcome); '
        'frames are held in memory until the outcome, at most 512 MB (the oldest go first).',
        dynamic=False,
        rules=(Bounds(0.0, 60.0),),
    )
    capture_max_mb: float = _param(
        1024.0,
        'Disk quota of capture_dir/<node>, MB: capture stops with a WARN (diagnostics and log) '
        'before a bag would pass it.',
        dynamic=False,
        rules=(Bounds(1.0, 1.0e7),),
    )
    capture_max_attempts: int = _param(
        100,
        'Attempts per capture bag; a new bag starts after this many, or after an hour.',
        dynamic=False,
        rules=(Bounds(1, 100000),),
    )
    warmup_runs: int = _param(
        3, 'Inference runs at model load.', dynamic=False, rules=(Bounds(0, 100),)
    )
    familiarity_window: int = _param(
        30,
        'Out-of-depth monitor: classified frames whose medians (distance to the training inputs, '
        'turn ratio, camera-geometry scores) diagnostics judge (WARN "inputs unlike the training '
        'data" when one exceeds the limit the model carries). Changing it, image_rotation, '
        'image_flip, roi or the model starts the window afresh.',
        dynamic=True,
        rules=(Bounds(1, 1000),),
    )
    familiarity_threshold: float = _param(
        1.0,
        "Out-of-depth monitor: factor on the model's familiarity limits (set from its training "
        'sessions, out of fold; > 1 warns later, < 1 sooner); 0 = monitor off. A model without '
        'reference statistics is reported as such, never an error.',
        dynamic=True,
        rules=(Bounds(0.1, 100.0, also=0.0, meaning='off'),),
    )

    @property
    def mount(self) -> Mount:
        """Return the camera mount ``image_rotation`` and ``image_flip`` describe."""
        return Mount(self.image_rotation, self.image_flip)

    def updated(self, changes: Mapping[str, Any]) -> Params:
        """Return a copy with ``changes`` validated as one batch (see ``validate_changes``)."""
        ok = validate_changes(self, changes)
        return replace(self, **{name: _field_value(v) for name, v in ok.items()})


# -- the spec view of the fields ------------------------------------------------------------

# Params field annotation -> ROS parameter type
_ROS_TYPES = {
    'bool': 'bool',
    'int': 'int',
    'float': 'double',
    'str': 'string',
    'Roi': 'double_array',
}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter as ROS and the docs see it: name, ROS type, default, description, rules."""

    name: str
    ros_type: str
    default: Any
    description: str
    dynamic: bool
    rules: tuple[Rule, ...] = ()

    @property
    def bounds(self) -> tuple[float, float] | None:
        """Return the numeric range a ROS descriptor states (the rules' hull), or None."""
        b = next((r for r in self.rules if isinstance(r, Bounds)), None)
        return None if b is None else b.hull

    @property
    def step(self) -> int:
        """Return the step of an integer range (0: any value), as a ROS IntegerRange states it."""
        b = next((r for r in self.rules if isinstance(r, Bounds)), None)
        return 0 if b is None else b.step

    @property
    def minimum(self) -> float | None:
        return None if self.bounds is None else self.bounds[0]

    @property
    def maximum(self) -> float | None:
        return None if self.bounds is None else self.bounds[1]

    @property
    def choices(self) -> tuple[str, ...] | None:
        return next((r.choices for r in self.rules if isinstance(r, OneOf)), None)

    @property
    def check(self) -> Callable[[Any], str | None] | None:
        """All rules as one function returning the first reason, or None (no rules: None)."""
        if not self.rules:
            return None
        return lambda v: next((why for r in self.rules if (why := r.reason(v))), None)

    @property
    def range_text(self) -> str:
        return ' '.join(r.text for r in self.rules if r.text)


def _spec(f: Any) -> ParamSpec:
    default = list(f.default) if isinstance(f.default, tuple) else f.default
    return ParamSpec(
        f.name,
        _ROS_TYPES[f.type],
        default,
        f.metadata['description'],
        f.metadata['dynamic'],
        f.metadata['rules'],
    )


PARAMETERS: tuple[ParamSpec, ...] = tuple(_spec(f) for f in fields(Params))
SPECS: dict[str, ParamSpec] = {p.name: p for p in PARAMETERS}
DYNAMIC: frozenset[str] = frozenset(p.name for p in PARAMETERS if p.dynamic)


def _coerce(spec: ParamSpec, value: Any) -> Any:
    t = spec.ros_type
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


def _field_value(v: Any) -> Any:
    """Return a validated value as ``Params`` holds it (arrays as tuples: frozen)."""
    return tuple(v) if isinstance(v, list) else v


def validate(name: str, value: Any) -> Any:
    """Coerce and check one parameter value (as ROS holds it); raise ParameterError if bad."""
    spec = SPECS.get(name)
    if spec is None:
        raise ParameterError(name, value, f'unknown parameter (known: {", ".join(SPECS)})')
    v = _coerce(spec, value)
    for rule in spec.rules:
        reason = rule.reason(v)
        if reason:
            raise ParameterError(name, value, reason)
    return v


def defaults() -> dict[str, Any]:
    """All parameters at their defaults, as ROS holds them (fresh lists for arrays)."""
    return {
        p.name: list(p.default) if isinstance(p.default, list) else p.default for p in PARAMETERS
    }


def validate_all(values: Mapping[str, Any]) -> Params:
    """Validate a full or partial parameter set; return it complete with defaults."""
    return Params(**{name: _field_value(validate(name, v)) for name, v in values.items()})


def validate_changes(current: Params, changes: Mapping[str, Any]) -> dict[str, Any]:
    """
    Validate a batch of run-time parameter changes as one unit; return them coerced.

    For the node's set-parameters callback: check every change first and apply
    them (``Params.updated``) only if this returns, so a rejected batch changes
    nothing. A read-only parameter may only be "set" to its ``current`` value.
    Raise ParameterError naming the first bad parameter. (``Params`` has no
    cross-field rules yet; they go here.)
    """
    out: dict[str, Any] = {}
    for name, value in changes.items():
        v = validate(name, value)
        if name not in DYNAMIC and _field_value(v) != getattr(current, name):
            raise ParameterError(
                name, value, 'is read-only at run time; restart the node to change it'
            )
        out[name] = v
    return out


def load_params_file(
    path: Path, error: Callable[[str], Exception] = GraspClassifierError
) -> dict[str, Any]:
    """Read node parameters from a ROS 2 params YAML (``node: ros__parameters: {...}``) or flat."""
    from .yaml_file import read_mapping

    raw = read_mapping(path, 'params file', error)
    for value in raw.values():
        if isinstance(value, dict) and 'ros__parameters' in value:
            params = value['ros__parameters']
            return dict(params) if isinstance(params, dict) else {}
    return dict(raw)


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
        lines.append(f'    # {p.description} [{p.ros_type}, {tag}{rng}]'.replace('\\|', '|'))
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
            f'| `{p.name}` | {p.ros_type} | `{default}` | {p.range_text} | '
            f'{"yes" if p.dynamic else "no"} | {p.description} |'
        )
    return '\n'.join(rows) + '\n'
