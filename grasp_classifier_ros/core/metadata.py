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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
import json
import math
from typing import Any, Literal

from .errors import MetadataError

SCHEMA_VERSION = 1
METADATA_FILE = 'grasp_metadata.json'
CHECKPOINT_FILE = 'grasp_checkpoint.pt'  # trainable weights for grasp-train adapt

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


def extra_files(meta: ModelMetadata) -> dict[str, str]:
    """Return the ``_extra_files`` mapping to pass to ``torch.jit.save``."""
    return {METADATA_FILE: meta.to_json()}
