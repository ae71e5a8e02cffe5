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
Load and run a TorchScript classifier that carries its own metadata.

``load_model`` = verify the file (exists, hash, metadata) -> a backend's
``load`` (``backend.Runner``) -> check the outputs against the metadata ->
warm up. ``LoadedModel.classify`` = the runner, then the ``Decoder``
(calibration and the success class): inference and decoder of the frame path.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import os
from pathlib import Path
import warnings
import zipfile

import numpy as np
import torch

from .backend import BackendUnavailableError, ModelFile, Runner
from .errors import (
    ChecksumMismatchError,
    DeviceError,
    MetadataError,
    ModelLoadError,
)
from .int8_backend import Int8Backend, NO_INT8
from .metadata import (
    extra_files,
    FAMILIARITY_FILE,
    FamiliarityRecord,
    METADATA_FILE,
    ModelMetadata,
)
from .onnx_backend import OnnxRuntimeBackend
from .params import validate
from .torchscript_backend import TorchScriptBackend

# TorchScript is this project's shipped artifact (it carries the metadata as an
# extra file and loads without Python model code); torch >= 2.10 flags it as
# deprecated in favour of torch.export, which we keep as a future option (a FutureWarning
# in torch 2.14, a DeprecationWarning in 2.13).
JIT_DEPRECATION = r'`torch\.jit\.\w+` is deprecated'
warnings.filterwarnings('ignore', message=JIT_DEPRECATION)


def release_cached_memory() -> None:
    """Return the CUDA caching allocator's unused blocks to the driver (no-op without CUDA)."""
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def resolve_device(spec: str, *, cuda_fallback: bool = True) -> torch.device:
    """
    Map ``auto | cpu | cuda | cuda:N`` to a torch device.

    ``auto`` picks CUDA when present. When CUDA is asked for but absent, fall back
    to CPU with a warning if ``cuda_fallback`` else raise DeviceError.
    """
    spec = spec.strip().lower()
    if spec == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if spec == 'cpu':
        return torch.device('cpu')
    if spec == 'cuda' or spec.startswith('cuda:'):
        index = 0
        if spec.startswith('cuda:'):
            tail = spec[5:]
            if not tail.isdigit():
                raise DeviceError(f"device='{spec}' is not valid: use auto, cpu, cuda or cuda:N")
            index = int(tail)
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if index < count:
            return torch.device('cuda', index)
        why = 'CUDA is not available' if count == 0 else f'only {count} CUDA device(s) present'
        if not cuda_fallback:
            raise DeviceError(
                f"device='{spec}' requested but {why}; set device:=cpu or cuda_fallback:=true"
            )
        warnings.warn(f"device='{spec}' requested but {why}; falling back to CPU", stacklevel=2)
        return torch.device('cpu')
    raise DeviceError(f"device='{spec}' is not valid: use auto, cpu, cuda or cuda:N")


@dataclass(frozen=True)
class Prediction:
    """Decoded outputs of a batch: calibrated class probabilities and the success column."""

    probabilities: np.ndarray  # (N, C)
    success: np.ndarray  # (N,) = probabilities[:, metadata.success_index]


class Decoder:
    """
    Raw outputs -> a ``Prediction``: the model's calibration and its success class.

    The probability of class ``c`` is ``softmax(logits / temperature)[c]``
    (log-probabilities first for models that output probabilities).
    """

    def __init__(self, meta: ModelMetadata) -> None:
        self.meta = meta

    def __call__(self, raw: torch.Tensor) -> Prediction:
        meta = self.meta
        if meta.output_kind == 'probabilities':
            raw = torch.log(raw.clamp_min(1e-12))
        probs = torch.softmax(raw / meta.temperature, dim=1).cpu().numpy()
        return Prediction(probs, probs[:, meta.success_index])


@dataclass
class LoadedModel:
    """A ready-to-run model: a backend's runner, the decoder and the file's metadata."""

    runner: Runner
    metadata: ModelMetadata
    device: torch.device
    dtype: torch.dtype
    path: str
    sha256: str
    familiarity: FamiliarityRecord | None = None  # reference statistics of its training inputs

    def __post_init__(self) -> None:
        self.decoder = Decoder(self.metadata)

    @property
    def model_id(self) -> str:
        """Short human-readable id: architecture plus file hash prefix."""
        return f'{self.metadata.architecture}@{self.sha256[:12]}'

    @property
    def backend(self) -> str:
        return self.runner.backend

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """Run the model; return raw outputs as float32 ``(N, num_classes)``."""
        return self.runner(batch)

    def classify(self, batch: torch.Tensor) -> Prediction:
        """Return the decoded prediction for a preprocessed batch (inference + decoder)."""
        return self.decoder(self.runner(batch))  # .cpu() in the decoder synchronises CUDA

    def predict(self, batch: torch.Tensor) -> np.ndarray:
        """Return calibrated class probabilities ``(N, C)`` for a preprocessed batch."""
        return self.classify(batch).probabilities


def save_model(
    module: torch.jit.ScriptModule,
    metadata: ModelMetadata,
    path: str | os.PathLike[str],
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Write a TorchScript module with its metadata (and ``extra`` files) embedded."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + '.tmp')
    files: dict[str, str | bytes] = {**extra_files(metadata), **(extra or {})}
    torch.jit.save(module, str(tmp), _extra_files=files)
    os.replace(tmp, out)  # atomic: a hot-reloading node never sees half a file
    return out


def read_extra(path: str | os.PathLike[str], name: str) -> bytes | None:
    """Return the extra file ``name`` embedded in a model file, or None (no weights loaded)."""
    p = Path(path)
    if not p.is_file():
        raise ModelLoadError(p, 'file does not exist; set model_path to an exported .pt file')
    try:
        with zipfile.ZipFile(p) as zf:
            names = [n for n in zf.namelist() if n.endswith('/extra/' + name)]
            return zf.read(names[0]) if names else None
    except zipfile.BadZipFile as exc:
        raise ModelLoadError(p, f'not a TorchScript archive ({exc})') from exc


def read_familiarity(path: str | os.PathLike[str]) -> FamiliarityRecord | None:
    """
    Return the model's reference statistics for the out-of-depth monitor, or None.

    None when the file carries none; a record that does not parse is warned about and
    ignored (the monitor then reports no reference statistics): it never fails a load.
    """
    text = read_extra(path, FAMILIARITY_FILE)
    if text is None:
        return None
    try:
        return FamiliarityRecord.from_json(text)
    except MetadataError as exc:
        warnings.warn(
            f'{path}: ignoring its reference statistics ({exc}); the out-of-depth monitor is '
            'off for this model',
            stacklevel=2,
        )
        return None


def read_metadata(path: str | os.PathLike[str]) -> ModelMetadata:
    """Read only the embedded metadata of a model file (no weights loaded)."""
    p = Path(path)
    text = read_extra(p, METADATA_FILE)
    if text is None:
        raise ModelLoadError(
            p, f"no embedded '{METADATA_FILE}'; export it with 'grasp-train export'"
        )
    try:
        return ModelMetadata.from_json(text)
    except MetadataError as exc:
        raise ModelLoadError(p, str(exc)) from exc


def load_model(
    path: str | os.PathLike[str],
    *,
    device: str = 'auto',
    cuda_fallback: bool = True,
    fp16: bool = True,
    expected_sha256: str = '',
    warmup_runs: int = 3,
    backend: str = 'torchscript',
    onednn_fusion: bool = True,
) -> LoadedModel:
    """
    Verify a model file, load it with a backend, check its outputs, warm it up.

    Every failure (missing or corrupt file, bad metadata, hash mismatch,
    output shape not matching the metadata) raises one ModelLoadError naming
    the file and the problem. ``backend`` is ``'torchscript'`` (with oneDNN
    fusion on CPU when ``onednn_fusion`` and it checks out, see
    ``torchscript_backend``), ``'onnxruntime'`` (see ``onnx_backend``; a
    ModelLoadError if impossible), ``'onnxruntime-int8'`` (the file's int8
    variant, see ``int8_backend``) or ``'auto'`` (on CPU: the int8 variant when
    the file carries one, else ONNX Runtime, else TorchScript; on CUDA: TorchScript).
    """
    validate('backend', backend)
    file = verify_file(Path(path), expected_sha256)
    dev = resolve_device(device, cuda_fallback=cuda_fallback)
    dtype = torch.float16 if (fp16 and dev.type == 'cuda') else torch.float32
    runner = _load_runner(backend, onednn_fusion, file, dev, dtype)
    dtype = getattr(runner, 'dtype', dtype)  # float32 when float16 did not check out
    loaded = LoadedModel(
        runner, file.metadata, dev, dtype, str(file.path), file.sha256, read_familiarity(file.path)
    )
    dummy = torch.zeros((1, 3, *file.metadata.input_size), dtype=dtype, device=dev)
    _check_outputs(loaded, dummy)
    # Warm up on the layout Preprocessor feeds: TorchScript specialises on strides.
    dummy = dummy.contiguous(memory_format=torch.channels_last)
    for _ in range(max(0, warmup_runs)):
        loaded.forward(dummy)
    return loaded


def verify_file(p: Path, expected_sha256: str = '') -> ModelFile:
    """
    Check a model file and read its metadata; raise ModelLoadError naming the problem.

    The file must exist and match ``expected_sha256`` ('' = any) before anything parses it.
    """
    if not p.is_file():
        raise ModelLoadError(p, 'file does not exist; set model_path to an exported .pt file')
    digest = file_sha256(p)
    if expected_sha256 and digest.lower() != expected_sha256.strip().lower():
        raise ChecksumMismatchError(
            p,
            f'sha256 {digest} does not match model_sha256 {expected_sha256}; '
            'wrong or tampered file',
        )
    return ModelFile(p, digest, read_metadata(p))


def _load_runner(
    backend: str, onednn_fusion: bool, file: ModelFile, dev: torch.device, dtype: torch.dtype
) -> Runner:
    """
    Load with the named backend.

    ``'auto'`` on CPU tries the int8 variant, then ONNX Runtime, then TorchScript;
    on CUDA it is TorchScript. A step down is silent when the file simply has no
    int8 variant, and a warning naming why otherwise.
    """
    torchscript = TorchScriptBackend(onednn_fusion)
    if backend == torchscript.name or (backend == 'auto' and dev.type != 'cpu'):
        return torchscript.load(file, dev, dtype)
    chain: list[Int8Backend | OnnxRuntimeBackend] = []
    if backend in (Int8Backend.name, 'auto'):
        chain.append(Int8Backend())
    if backend in (OnnxRuntimeBackend.name, 'auto'):
        chain.append(OnnxRuntimeBackend())
    skipped: list[str] = []
    runner: Runner | None = None
    for engine in chain:
        try:
            runner = engine.load(file, dev, dtype)
            break
        except BackendUnavailableError as exc:
            if backend != 'auto':
                raise
            if not exc.problem.startswith(NO_INT8):
                skipped.append(f'{engine.name}: {exc.problem}')
    if runner is None:
        runner = torchscript.load(file, dev, dtype)
    if skipped:
        used = 'TorchScript' if runner.backend == torchscript.name else runner.label
        warnings.warn(f'{file.path}: {"; ".join(skipped)}; using {used}', stacklevel=3)
    return runner


def _check_outputs(loaded: LoadedModel, dummy: torch.Tensor) -> None:
    """Raise ModelLoadError unless a forward pass gives ``(1, num_classes)`` outputs."""
    meta = loaded.metadata
    try:
        out = loaded.forward(dummy)
    except Exception as exc:
        raise ModelLoadError(
            loaded.path,
            f'forward pass on a {tuple(dummy.shape)} input failed ({type(exc).__name__}: {exc})',
        ) from exc
    if tuple(out.shape) != (1, meta.num_classes):
        raise ModelLoadError(
            loaded.path,
            f'output shape {tuple(out.shape)} does not match metadata '
            f'(expected (1, {meta.num_classes}) for classes {list(meta.class_names)})',
        )
