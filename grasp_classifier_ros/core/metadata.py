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
The model-metadata schema: the one contract between training export and the node.

A shipped model is a TorchScript file whose extra file ``METADATA_FILE`` holds
this JSON. Export writes it (``grasp_classifier_training`` imports this module),
the runtime reads it; no other module hard-codes input size, colour order,
normalisation, class names, threshold or calibration. A model exported by
``grasp-train`` also carries ``CHECKPOINT_FILE``, its trainable weights (a
weights-only checkpoint): the runtime never reads it; ``grasp-train adapt``
starts from it.

A model may also carry an **int8 variant** (``grasp-train export --int8`` or
``grasp-train quantize``): ``INT8_MODEL_FILE`` (an ONNX model quantized to int8,
QOperator format), ``INT8_RECORD_FILE`` (``Int8Record``: how it was quantized and the parity
gate it passed) and ``INT8_PROBE_FILE`` (synthetic model-input frames the runtime
checks it on at load). They are extra files of the same archive, so the file's
SHA-256 covers both precisions, and a runtime that predates them loads the FP32
model as before. ``Int8Record.format`` versions them apart from ``SCHEMA_VERSION``.

A model may also carry **reference statistics of its training inputs**
(``FAMILIARITY_FILE``, a ``FamiliarityRecord``; ``grasp-train export --familiarity`` or
``grasp-train familiarity``): what its preprocessed inputs looked like, for the node's
out-of-depth monitor (``core.familiarity``). A model without them loads as before; the
monitor then says so. ``FamiliarityRecord.format`` versions them: format 2 adds the
camera-geometry network (``GeometryNet``); a format 1 record still loads, without it.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field, fields, replace
import json
import math
from typing import Any, Literal

from .errors import MetadataError

SCHEMA_VERSION = 1
METADATA_FILE = 'grasp_metadata.json'
CHECKPOINT_FILE = 'grasp_checkpoint.pt'  # trainable weights for grasp-train adapt
INT8_FORMAT = 1
INT8_MODEL_FILE = 'grasp_int8.onnx'
INT8_RECORD_FILE = 'grasp_int8.json'
INT8_PROBE_FILE = 'grasp_int8_probe.png'
FAMILIARITY_FORMAT = 2
FAMILIARITY_FORMATS = (1, 2)  # formats this runtime reads
FAMILIARITY_FILE = 'grasp_familiarity.json'
# The int8 parity gate: top-1 agreement with FP32 on the export's probe images, at most this
# drop in out-of-fold accuracy and failure-class accuracy, and the load-time agreement on
# the embedded synthetic probe frames (a few frames near the decision boundary may flip).
MIN_TOP1_AGREEMENT = 0.99
MAX_ACCURACY_DROP = 0.005
MIN_LOAD_AGREEMENT = 0.95

ColorOrder = Literal['rgb', 'bgr']
OutputKind = Literal['logits', 'probabilities']


@dataclass(frozen=True)
class ModelMetadata:
    """
    Everything needed to feed a model and interpret its output.

    ``mean``/``std`` apply to pixels scaled to 0..1, per channel in
    ``color_order``. The model maps a float tensor ``(N, 3, H, W)`` to
    ``(N, len(class_names))`` ``output_kind`` values. The calibrated success
    probability is ``softmax(logits / temperature)[success_index]``.
    """

    input_height: int
    input_width: int
    class_names: tuple[str, ...]
    success_index: int
    color_order: ColorOrder = 'rgb'
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    output_kind: OutputKind = 'logits'
    threshold: float = 0.5
    temperature: float = 1.0
    architecture: str = 'unknown'
    trained: bool = True
    provenance: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        validate(self)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model input."""
        return (self.input_height, self.input_width)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def success_class(self) -> str:
        return self.class_names[self.success_index]

    def with_updates(self, **changes: Any) -> ModelMetadata:
        """Return a validated copy with ``changes`` applied."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d['class_names'] = list(self.class_names)
        d['mean'] = list(self.mean)
        d['std'] = list(self.std)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any) -> ModelMetadata:
        """Build from parsed JSON, naming the first missing or invalid field."""
        if not isinstance(data, dict):
            raise MetadataError(f'metadata must be a JSON object, got {type(data).__name__}')
        version = data.get('schema_version')
        if version != SCHEMA_VERSION:
            raise MetadataError(
                f'metadata schema_version={version!r} is not supported '
                f'(this runtime reads version {SCHEMA_VERSION}); re-export the model'
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise MetadataError(f'metadata has unknown fields {unknown}')
        required = ('input_height', 'input_width', 'class_names', 'success_index')
        for name in required:
            if name not in data:
                raise MetadataError(f"metadata field '{name}' is missing")
        kwargs = dict(data)
        try:
            kwargs['class_names'] = tuple(data['class_names'])
            for key in ('mean', 'std'):
                if key in data:
                    kwargs[key] = tuple(float(v) for v in data[key])
        except TypeError as exc:
            raise MetadataError(f'metadata field has the wrong type: {exc}') from exc
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelMetadata:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MetadataError(f'metadata is not valid JSON: {exc}') from exc
        return cls.from_dict(data)


def _check(cond: bool, name: str, value: object, why: str) -> None:
    if not cond:
        raise MetadataError(f"metadata field '{name}'={value!r} is invalid: {why}")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate(meta: ModelMetadata) -> None:
    """Raise MetadataError naming the first invalid field."""
    _check(
        _is_int(meta.schema_version), 'schema_version', meta.schema_version, 'must be an integer'
    )
    for name in ('input_height', 'input_width'):
        v = getattr(meta, name)
        _check(_is_int(v) and 8 <= v <= 4096, name, v, 'must be an integer in 8..4096')
    names = meta.class_names
    _check(
        isinstance(names, tuple)
        and len(names) >= 2
        and all(isinstance(n, str) and n for n in names),
        'class_names',
        names,
        'must list at least two non-empty names',
    )
    _check(len(set(names)) == len(names), 'class_names', names, 'names must be unique')
    _check(
        _is_int(meta.success_index) and 0 <= meta.success_index < len(names),
        'success_index',
        meta.success_index,
        f'must index class_names (0..{len(names) - 1})',
    )
    _check(
        meta.color_order in ('rgb', 'bgr'),
        'color_order',
        meta.color_order,
        "must be 'rgb' or 'bgr'",
    )
    for name in ('mean', 'std'):
        v = getattr(meta, name)
        _check(
            isinstance(v, tuple) and len(v) == 3 and all(_is_num(x) for x in v),
            name,
            v,
            'must be three finite numbers',
        )
    _check(all(s > 0 for s in meta.std), 'std', meta.std, 'must be positive')
    _check(
        meta.output_kind in ('logits', 'probabilities'),
        'output_kind',
        meta.output_kind,
        "must be 'logits' or 'probabilities'",
    )
    _check(
        _is_num(meta.threshold) and 0.0 <= meta.threshold <= 1.0,
        'threshold',
        meta.threshold,
        'must be in 0..1',
    )
    _check(
        _is_num(meta.temperature) and 0.01 <= meta.temperature <= 100.0,
        'temperature',
        meta.temperature,
        'must be in 0.01..100',
    )
    _check(
        isinstance(meta.architecture, str), 'architecture', meta.architecture, 'must be a string'
    )
    _check(isinstance(meta.trained, bool), 'trained', meta.trained, 'must be true or false')
    _check(isinstance(meta.provenance, dict), 'provenance', meta.provenance, 'must be an object')
    try:
        json.dumps(meta.provenance)
    except (TypeError, ValueError) as exc:
        raise MetadataError(
            f"metadata field 'provenance' is not JSON-serialisable: {exc}"
        ) from exc


@dataclass(frozen=True)
class Int8Record:
    """
    How a model's int8 variant was made and the parity gate it passed (``INT8_RECORD_FILE``).

    ``top1_agreement``: share of the export's probe images (real images not used for
    calibration) on which int8 and FP32 pick the same class. ``cv``: out-of-fold scores
    of the int8 and FP32 fold models (``fp32_accuracy``, ``int8_accuracy``,
    ``fp32_failure_accuracy``, ``int8_failure_accuracy``, ...), or None when the export
    waived that gate (``--skip-cv-gate``; the runtime warns). ``details``: quantization
    settings and provenance, free-form JSON.
    """

    top1_agreement: float
    probe_images: int
    cv: dict[str, Any] | None
    min_top1_agreement: float = MIN_TOP1_AGREEMENT
    max_accuracy_drop: float = MAX_ACCURACY_DROP
    min_load_agreement: float = MIN_LOAD_AGREEMENT
    details: dict[str, Any] = field(default_factory=dict)
    format: int = INT8_FORMAT  # noqa: A003 (the record's JSON key)

    def __post_init__(self) -> None:
        for name in ('top1_agreement', 'min_top1_agreement', 'min_load_agreement'):
            v = getattr(self, name)
            _check(_is_num(v) and 0.0 <= v <= 1.0, name, v, 'must be in 0..1')
        _check(
            _is_num(self.max_accuracy_drop) and 0.0 <= self.max_accuracy_drop <= 1.0,
            'max_accuracy_drop',
            self.max_accuracy_drop,
            'must be in 0..1',
        )
        _check(
            _is_int(self.probe_images) and self.probe_images > 0,
            'probe_images',
            self.probe_images,
            'must be a positive integer',
        )
        if self.cv is not None:
            for key in CV_KEYS:
                v = self.cv.get(key) if isinstance(self.cv, dict) else None
                _check(_is_num(v), f'cv.{key}', v, 'must be a number (or cv null)')
        _check(isinstance(self.details, dict), 'details', self.details, 'must be an object')

    def gate_problem(self) -> str:
        """Return why this record fails the parity gate it carries, or '' when it passes."""
        if self.top1_agreement < self.min_top1_agreement:
            return (
                f'int8 agrees with FP32 on {self.top1_agreement:.1%} of {self.probe_images} '
                f'probe images (gate: >= {self.min_top1_agreement:.0%})'
            )
        return '' if self.cv is None else cv_gate_problem(self.cv, self.max_accuracy_drop)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Int8Record:
        """Parse ``INT8_RECORD_FILE``; MetadataError naming what is wrong (a newer format too)."""
        data = _record_data(
            cls,
            text,
            'int8 record',
            'int8 variant',
            INT8_FORMAT,
            'use backend torchscript or a newer runtime',
        )
        try:
            return cls(**data)
        except TypeError as exc:
            raise MetadataError(f'int8 record is incomplete: {exc}') from exc


def _record_data(
    cls: type, text: str | bytes, name: str, kind: str, fmt: int | tuple[int, ...], newer: str
) -> dict[str, Any]:
    """Return a versioned record's JSON, checked: an object, a format of ``fmt``, known fields."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MetadataError(f'{name} is not valid JSON: {exc}') from exc
    if not isinstance(data, dict):
        raise MetadataError(f'{name} must be a JSON object')
    formats = fmt if isinstance(fmt, tuple) else (fmt,)
    if data.get('format') not in formats:
        raise MetadataError(
            f'{kind} format {data.get("format")!r} is not supported (this runtime reads '
            f'format {" or ".join(map(str, formats))}); {newer}'
        )
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise MetadataError(f'{name} has unknown fields {unknown}')
    return data


CV_KEYS = ('fp32_accuracy', 'int8_accuracy', 'fp32_failure_accuracy', 'int8_failure_accuracy')


def cv_gate_problem(cv: dict[str, Any], max_drop: float = MAX_ACCURACY_DROP) -> str:
    """
    Return why out-of-fold int8 scores fail the gate, or '' when they pass.

    Accuracy and failure-class accuracy (failed grasps called failures: a false success
    skips a retry) may each drop by at most ``max_drop`` from FP32's; a gain is fine.
    """
    for what, fp32, int8 in (
        ('accuracy', 'fp32_accuracy', 'int8_accuracy'),
        ('failure-class accuracy', 'fp32_failure_accuracy', 'int8_failure_accuracy'),
    ):
        drop = float(cv[fp32]) - float(cv[int8])
        if drop > max_drop + 1e-12:
            return (
                f'int8 out-of-fold {what} {cv[int8]:.3f} is {100 * drop:.1f} points below '
                f'FP32 {cv[fp32]:.3f} (gate: at most {100 * max_drop:.1f})'
            )
    return ''


def extra_files(meta: ModelMetadata) -> dict[str, str]:
    """Return the ``_extra_files`` mapping to pass to ``torch.jit.save``."""
    return {METADATA_FILE: meta.to_json()}


def _decode_floats(text: str, name: str, n: int) -> Any:
    """Return base64 little-endian float32 ``text`` as ``n`` finite numbers (numpy)."""
    import numpy as np

    try:
        raw = base64.b64decode(text.encode('ascii'), validate=True)
    except (ValueError, AttributeError) as exc:
        raise MetadataError(f"familiarity record field '{name}' is not base64: {exc}") from exc
    _check(len(raw) == 4 * n, name, f'{len(raw)} bytes', f'must be {4 * n} bytes ({n} float32)')
    v = np.frombuffer(raw, dtype='<f4')
    _check(bool(np.isfinite(v).all()), name, '...', 'must hold finite numbers')
    return v


def encode_floats(values: Any) -> str:
    """Return floats (any shape) as base64 little-endian float32 text, row-major."""
    import numpy as np

    return base64.b64encode(np.asarray(values, dtype='<f4').tobytes()).decode('ascii')


@dataclass(frozen=True)
class GeometryNet:
    """
    The camera-geometry checks of a ``FamiliarityRecord`` (format 2): one small network.

    Input: the model input area-averaged to a ``grid`` x ``grid`` RGB thumbnail in 0..1
    (``3 * grid**2`` numbers, row-major, channels last; ``grid`` is twice the record's),
    standardised per frame (``core.camera_geometry.standardise``). One hidden layer of
    ``hidden`` ReLU units; ``len(names) + 1`` outputs: the training inputs (0) and the same
    inputs seen through each camera change in ``names`` (pitched, another lens). Weights are
    base64 little-endian float32, row-major: ``weights1`` (input x hidden), ``bias1``,
    ``weights2`` (hidden x outputs), ``bias2``. Check ``k``'s score is ``(z[k+1] - z[0] -
    center[k]) / (threshold[k] - center[k])``: 0 at the training sessions' median, 1 at the
    largest median of a ``window``-frame window of any training session scored by a network
    fitted without it.
    """

    names: tuple[str, ...]
    grid: int
    hidden: int
    weights1: str
    bias1: str
    weights2: str
    bias2: str
    center: tuple[float, ...]
    threshold: tuple[float, ...]

    def __post_init__(self) -> None:
        _check(
            isinstance(self.names, tuple)
            and 0 < len(self.names) <= 16
            and all(isinstance(n, str) and 0 < len(n) <= 64 for n in self.names),
            'geometry names',
            self.names,
            'must be 1..16 short texts',
        )
        _check(
            _is_int(self.grid) and 1 <= self.grid <= 64,
            'geometry grid',
            self.grid,
            'must be 1..64',
        )
        _check(
            _is_int(self.hidden) and 1 <= self.hidden <= 1024,
            'geometry hidden',
            self.hidden,
            'must be 1..1024',
        )
        for key in ('center', 'threshold'):
            v = getattr(self, key)
            _check(
                isinstance(v, tuple) and len(v) == len(self.names) and all(_is_num(x) for x in v),
                f'geometry {key}',
                v,
                f'must be {len(self.names)} finite numbers (one per name)',
            )
        _check(
            all(t > c for t, c in zip(self.threshold, self.center)),
            'geometry threshold',
            self.threshold,
            'must each be above its center',
        )
        # decoded once (validating them): the monitor scores with them every second
        object.__setattr__(self, '_arrays', self._decode())

    def arrays(self) -> tuple[Any, Any, Any, Any]:
        """Return ``(weights1, bias1, weights2, bias2)`` as float32 numpy arrays."""
        return self._arrays  # type: ignore[attr-defined,no-any-return]

    def _decode(self) -> tuple[Any, Any, Any, Any]:
        dim, k = 3 * self.grid * self.grid, len(self.names) + 1
        return (
            _decode_floats(self.weights1, 'geometry weights1', dim * self.hidden).reshape(
                dim, self.hidden
            ),
            _decode_floats(self.bias1, 'geometry bias1', self.hidden),
            _decode_floats(self.weights2, 'geometry weights2', self.hidden * k).reshape(
                self.hidden, k
            ),
            _decode_floats(self.bias2, 'geometry bias2', k),
        )


@dataclass(frozen=True)
class FamiliarityRecord:
    """
    What a model's training inputs looked like (``FAMILIARITY_FILE``), for the monitor.

    Features: the preprocessed model input (mount, ROI and resize applied), area-averaged to
    a ``grid`` x ``grid`` RGB thumbnail scaled to 0..1 (``3 * grid**2`` numbers, row-major,
    channels last). ``mean`` is their training mean; ``whitening`` (base64 of little-endian
    float32, ``dim`` x ``dim`` row-major) maps ``features - mean`` to whitened coordinates of
    the shrunk training covariance, so a frame's distance is the mean of their squares (about 1
    on training frames). ``threshold``: the distance the median of a ``window``-frame window
    may reach before the monitor warns, set from the training data's own out-of-group windows
    (``details`` says how). ``orientation_threshold``: the same for the ratio of a frame's
    distance to that of its best quarter turn (a camera turned on its mount: the turned
    thumbnail fits the training data better). ``geometry`` (format 2): a ``GeometryNet`` that
    checks for a camera pitched or with another lens, judged on the same window.
    ``images``/``groups``: what it was fitted on.
    """

    grid: int
    mean: tuple[float, ...]
    whitening: str
    threshold: float
    orientation_threshold: float
    window: int
    images: int
    groups: int
    shrinkage: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    geometry: GeometryNet | None = None
    format: int = FAMILIARITY_FORMAT  # noqa: A003 (the record's JSON key)

    def __post_init__(self) -> None:
        _check(_is_int(self.grid) and 1 <= self.grid <= 32, 'grid', self.grid, 'must be in 1..32')
        _check(
            isinstance(self.mean, tuple)
            and len(self.mean) == self.dim
            and all(_is_num(v) for v in self.mean),
            'mean',
            f'{len(self.mean)} values' if isinstance(self.mean, tuple) else self.mean,
            f'must be {self.dim} finite numbers (3 x grid x grid)',
        )
        _check(
            _is_num(self.threshold) and self.threshold > 0,
            'threshold',
            self.threshold,
            'must be a positive number',
        )
        _check(
            _is_num(self.orientation_threshold) and self.orientation_threshold >= 1.0,
            'orientation_threshold',
            self.orientation_threshold,
            'must be a number >= 1',
        )
        for name in ('window', 'images', 'groups'):
            v = getattr(self, name)
            _check(_is_int(v) and v > 0, name, v, 'must be a positive integer')
        _check(
            _is_num(self.shrinkage) and 0.0 <= self.shrinkage <= 1.0,
            'shrinkage',
            self.shrinkage,
            'must be in 0..1',
        )
        _check(isinstance(self.details, dict), 'details', self.details, 'must be an object')
        _check(
            self.geometry is None
            or (isinstance(self.geometry, GeometryNet) and self.geometry.grid == 2 * self.grid),
            'geometry',
            type(self.geometry).__name__,
            f'must be a geometry network of grid {2 * self.grid}',
        )
        _check(
            self.format in FAMILIARITY_FORMATS and (self.format >= 2 or self.geometry is None),
            'format',
            self.format,
            f'must be one of {FAMILIARITY_FORMATS} (geometry checks need format 2)',
        )
        self.whitening_matrix()  # validates

    @property
    def dim(self) -> int:
        """Return the number of features: 3 x grid x grid."""
        return 3 * self.grid * self.grid

    def whitening_matrix(self) -> Any:
        """Return ``whitening`` decoded as a float32 ``(dim, dim)`` numpy array."""
        return _decode_floats(self.whitening, 'whitening', self.dim * self.dim).reshape(
            self.dim, self.dim
        )

    @staticmethod
    def encode_matrix(matrix: Any) -> str:
        """Return a float matrix as the record's ``whitening`` text."""
        return encode_floats(matrix)

    def to_json(self) -> str:
        d = asdict(self)
        d['mean'] = list(self.mean)
        if self.format < 2:
            del d['geometry']  # a format 1 record reads back as written
        return json.dumps(d, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> FamiliarityRecord:
        """Parse ``FAMILIARITY_FILE``; MetadataError naming what is wrong (a newer format too)."""
        data = _record_data(
            cls,
            text,
            'familiarity record',
            'familiarity record',
            FAMILIARITY_FORMATS,
            're-run grasp-train familiarity',
        )
        try:
            if isinstance(data.get('mean'), list):
                data['mean'] = tuple(data['mean'])
            net = data.get('geometry')
            if net is not None:
                if not isinstance(net, dict):
                    raise MetadataError("familiarity record field 'geometry' must be an object")
                for key in ('names', 'center', 'threshold'):
                    if isinstance(net.get(key), list):
                        net[key] = tuple(net[key])
                data['geometry'] = GeometryNet(**net)
            return cls(**data)
        except TypeError as exc:
            raise MetadataError(f'familiarity record is incomplete: {exc}') from exc
