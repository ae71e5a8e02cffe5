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
CPU backend ``onnxruntime-int8``: the int8 variant a model file carries, on ONNX Runtime.

``grasp-train export --int8`` / ``grasp-train quantize`` embed an ONNX model quantized
with ONNX Runtime's static quantization (per-channel int8 weights, uint8
activations, calibrated on training images) in the model file, beside its record
(``metadata.Int8Record``) and a strip of synthetic probe frames. Loading reads the file
once, checks those bytes against the SHA-256 the model was verified with (so
``model_sha256`` pins exactly what runs), refuses a record whose parity gate failed,
and checks that int8 and the file's own FP32 TorchScript pick the same class on the
probe frames on *this* CPU (int8 kernels differ between instruction sets). Needs only
the ``onnxruntime`` package.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import importlib.util
import io
import warnings
import zipfile

import cv2
import numpy as np
import torch

from .backend import BackendUnavailableError, ModelFile
from .errors import MetadataError
from .metadata import (
    INT8_MODEL_FILE,
    INT8_PROBE_FILE,
    INT8_RECORD_FILE,
    Int8Record,
    ModelMetadata,
)
from .onnx_backend import OnnxRunner, ort_session
from .preprocess import normalize_batch

NAME = 'onnxruntime-int8'
NO_INT8 = 'carries no int8 variant'


def available() -> bool:
    """Whether the onnxruntime package is importable (the int8 path needs nothing else)."""
    return importlib.util.find_spec('onnxruntime') is not None


@dataclass(frozen=True)
class Parity:
    """How closely int8 outputs follow FP32 ones on the same inputs."""

    n: int
    top1_agreement: float  # same argmax class
    verdict_agreement: float  # same side of the model's threshold (calibrated p(success))
    max_abs_dp: float  # largest |p_int8 - p_fp32| of the success probability
    mean_abs_dp: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            'n': self.n,
            'top1_agreement': self.top1_agreement,
            'verdict_agreement': self.verdict_agreement,
            'max_abs_dp': self.max_abs_dp,
            'mean_abs_dp': self.mean_abs_dp,
        }


def parity(fp32: np.ndarray, int8: np.ndarray, meta: ModelMetadata) -> Parity:
    """Compare int8 logits with FP32 logits ``(N, C)`` of the same inputs."""
    fp32, int8 = np.asarray(fp32, np.float64), np.asarray(int8, np.float64)
    if fp32.shape != int8.shape or fp32.ndim != 2 or not len(fp32):
        raise ValueError(f'logit shapes {fp32.shape} and {int8.shape} do not match')
    p = [success_probability(x, meta) for x in (fp32, int8)]
    dp = np.abs(p[0] - p[1])
    return Parity(
        n=len(fp32),
        top1_agreement=float((fp32.argmax(1) == int8.argmax(1)).mean()),
        verdict_agreement=float(((p[0] >= meta.threshold) == (p[1] >= meta.threshold)).mean()),
        max_abs_dp=float(dp.max()),
        mean_abs_dp=float(dp.mean()),
    )


def success_probability(logits: np.ndarray, meta: ModelMetadata) -> np.ndarray:
    """Return the calibrated success probability of logits, as ``model.Decoder`` does."""
    z = np.asarray(logits, np.float64) / meta.temperature
    z = np.exp(z - z.max(1, keepdims=True))
    return (z / z.sum(1, keepdims=True))[:, meta.success_index]


def encode_probe(frames: list[np.ndarray]) -> bytes:
    """Lay RGB uint8 model-input frames side by side in one lossless PNG."""
    strip = np.concatenate(frames, axis=1)
    ok, buf = cv2.imencode('.png', np.ascontiguousarray(strip[:, :, ::-1]))
    if not ok:
        raise ValueError('could not encode the probe frames as PNG')
    return buf.tobytes()


def decode_probe(png: bytes, meta: ModelMetadata) -> torch.Tensor:
    """Return the probe strip as the normalised ``(N, 3, H, W)`` batch the model takes."""
    h, w = meta.input_size
    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.shape[0] != h or bgr.shape[1] % w or not bgr.shape[1]:
        raise MetadataError(f'{INT8_PROBE_FILE} is not a strip of {h}x{w} frames')
    pixels = bgr if meta.color_order == 'bgr' else bgr[:, :, ::-1]
    frames = np.stack(np.split(pixels, bgr.shape[1] // w, axis=1))
    return normalize_batch(torch.from_numpy(frames).permute(0, 3, 1, 2), meta)


@dataclass(frozen=True)
class Int8Variant:
    """The int8 files of one model archive."""

    onnx: bytes
    record: Int8Record
    probe: bytes


def read_variant(data: bytes) -> Int8Variant | None:
    """Return the int8 variant a model archive's bytes carry, or None; MetadataError if broken."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        found = {}
        for name in zf.namelist():
            for extra in (INT8_MODEL_FILE, INT8_RECORD_FILE, INT8_PROBE_FILE):
                if name.endswith('/extra/' + extra):
                    found[extra] = zf.read(name)
    if not found:
        return None
    missing = sorted({INT8_MODEL_FILE, INT8_RECORD_FILE, INT8_PROBE_FILE} - set(found))
    if missing:
        raise MetadataError(f'int8 variant incomplete: {", ".join(missing)} missing')
    record = Int8Record.from_json(found[INT8_RECORD_FILE])
    return Int8Variant(found[INT8_MODEL_FILE], record, found[INT8_PROBE_FILE])


class Int8Runner(OnnxRunner):
    """The int8 ONNX Runtime session, called like the TorchScript module."""

    backend = NAME
    label = NAME


class Int8Backend:
    """Serve a model file's int8 variant with ONNX Runtime on the CPU, after its parity checks."""

    name = NAME

    def load(self, file: ModelFile, device: torch.device, dtype: torch.dtype) -> Int8Runner:
        path, meta = file.path, file.metadata
        if device.type != 'cpu':
            raise BackendUnavailableError(
                path, f'the {NAME} backend runs on CPU only, not {device}; set device:=cpu'
            )
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise BackendUnavailableError(path, 'file changed on disk while loading; load again')
        try:
            variant = read_variant(data)
        except (MetadataError, zipfile.BadZipFile) as exc:
            raise BackendUnavailableError(path, str(exc)) from exc
        if variant is None:
            raise BackendUnavailableError(
                path,
                f'{NO_INT8} (make one with grasp-train quantize, or export with --int8)',
            )
        if not available():
            raise BackendUnavailableError(
                path, f"the {NAME} backend needs 'pip install onnxruntime'"
            )
        why = variant.record.gate_problem()
        if why:
            raise BackendUnavailableError(path, f'int8 variant failed its parity gate: {why}')
        if variant.record.cv is None:
            warnings.warn(
                f'{path}: int8 variant not cross-validated (exported with --skip-cv-gate); '
                'only its probe agreement was checked',
                stacklevel=3,
            )
        try:
            runner = Int8Runner(ort_session(variant.onnx, torch.get_num_threads()))
            x = decode_probe(variant.probe, meta)
            module = torch.jit.load(io.BytesIO(data), map_location='cpu').eval()
            with torch.jit.optimized_execution(False), torch.inference_mode():
                ref = module(x).float().numpy()
            got = runner(x).numpy()
            check = parity(ref, got, meta)
        except MetadataError as exc:
            raise BackendUnavailableError(path, str(exc)) from exc
        except Exception as exc:  # a corrupt ONNX model or runtime failure: unusable here
            raise BackendUnavailableError(
                path, f'int8 session failed ({type(exc).__name__}: {exc})'
            ) from exc
        if not np.isfinite(got).all() or check.top1_agreement < variant.record.min_load_agreement:
            raise BackendUnavailableError(
                path,
                f'int8 outputs disagree with FP32 on this CPU: same class on '
                f'{check.top1_agreement:.0%} of {check.n} probe frames (needs >= '
                f'{variant.record.min_load_agreement:.0%})',
            )
        return runner
