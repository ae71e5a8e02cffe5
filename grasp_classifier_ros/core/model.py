# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Load and run a TorchScript classifier that carries its own metadata."""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import io
import os
from pathlib import Path
import warnings
import zipfile

import numpy as np
import torch

from . import onnx_backend
from .errors import DeviceError, MetadataError, ModelLoadError, ParameterError
from .metadata import METADATA_FILE, ModelMetadata, extra_files

DEVICE_CHOICES = ('auto', 'cpu', 'cuda', 'cuda:N')
BACKENDS = ('torchscript', 'onnxruntime', 'auto')

# TorchScript is this project's shipped artifact (it carries the metadata as an
# extra file and loads without Python model code); torch >= 2.10 flags it as
# deprecated in favour of torch.export, which we keep as a future option.
warnings.filterwarnings(
    'ignore', message=r'`torch\.jit\.\w+` is deprecated', category=FutureWarning
)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def resolve_device(spec: str, *, cuda_fallback: bool = True) -> torch.device:
    """Map ``auto | cpu | cuda | cuda:N`` to a torch device.

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


@dataclass
class LoadedModel:
    """A ready-to-run model: TorchScript module (or its ONNX Runtime twin), metadata, device."""

    module: torch.jit.ScriptModule | onnx_backend.OnnxModule
    metadata: ModelMetadata
    device: torch.device
    dtype: torch.dtype
    path: str
    sha256: str
    # False when the module fails or differs on channels_last input (checked at load).
    channels_last: bool = True
    backend: str = 'torchscript'
    # True while TorchScript plans of this module are built with oneDNN Graph fusion.
    onednn_fusion: bool = False

    @property
    def model_id(self) -> str:
        """Short human-readable id: architecture plus file hash prefix."""
        return f'{self.metadata.architecture}@{self.sha256[:12]}'

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """Run the module; return raw outputs as float32 ``(N, num_classes)``."""
        if not self.channels_last:
            batch = batch.contiguous()
        try:
            with torch.inference_mode():
                out = self.module(batch)
        except RuntimeError as exc:
            if not self.onednn_fusion:
                raise
            # oneDNN Graph compiles per input signature and rejects some graphs:
            # serve the unfused module from now on.
            self.unfuse(f'fused run failed ({str(exc).strip().splitlines()[-1]})')
            with torch.inference_mode():
                out = self.module(batch)
        return out.float()

    def unfuse(self, why: str) -> None:
        """Replace the module by a fresh unfused copy of the same (hash-checked) file."""
        warnings.warn(f'{self.path}: {why}; serving without oneDNN fusion', stacklevel=3)
        torch.jit.enable_onednn_fusion(False)
        self.onednn_fusion = False
        data = Path(self.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise ModelLoadError(
                Path(self.path), 'file changed on disk since it was loaded; load it again'
            )
        self.module = torch.jit.load(io.BytesIO(data), map_location=self.device).eval()

    def calibrated_probabilities(self, raw: torch.Tensor) -> np.ndarray:
        """Map raw outputs ``(N, C)`` to temperature-calibrated class probabilities."""
        meta = self.metadata
        if meta.output_kind == 'probabilities':
            raw = torch.log(raw.clamp_min(1e-12))
        probs = torch.softmax(raw / meta.temperature, dim=1)
        return probs.cpu().numpy()

    def predict(self, batch: torch.Tensor) -> np.ndarray:
        """Return calibrated class probabilities ``(N, C)`` for a preprocessed batch."""
        return self.calibrated_probabilities(self.forward(batch))


def save_model(
    module: torch.jit.ScriptModule, metadata: ModelMetadata, path: str | os.PathLike[str]
) -> Path:
    """Write a TorchScript module with its metadata embedded; return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + '.tmp')
    torch.jit.save(module, str(tmp), _extra_files=extra_files(metadata))
    os.replace(tmp, out)  # atomic: a hot-reloading node never sees half a file
    return out


def read_metadata(path: str | os.PathLike[str]) -> ModelMetadata:
    """Read only the embedded metadata of a model file (no weights loaded)."""
    p = Path(path)
    if not p.is_file():
        raise ModelLoadError(p, 'file does not exist; set model_path to an exported .pt file')
    try:
        with zipfile.ZipFile(p) as zf:
            names = [n for n in zf.namelist() if n.endswith('/extra/' + METADATA_FILE)]
            if not names:
                raise ModelLoadError(
                    p, f"no embedded '{METADATA_FILE}'; export it with 'grasp-train export'"
                )
            text = zf.read(names[0])
    except zipfile.BadZipFile as exc:
        raise ModelLoadError(p, f'not a TorchScript archive ({exc})') from exc
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
    """Load a TorchScript model + metadata, check it, warm it up.

    Every failure (missing or corrupt file, bad metadata, hash mismatch,
    output shape not matching the metadata) raises one ModelLoadError naming
    the file and the problem. ``backend='onnxruntime'`` serves the model
    through ONNX Runtime on CPU (see ``onnx_backend``; a ModelLoadError if that
    is impossible); ``'auto'`` does so when it works and falls back to
    TorchScript otherwise. On CPU a TorchScript model runs with oneDNN Graph
    fusion (``onednn_fusion``) when the fused plan reproduces the unoptimised
    interpreter's outputs; otherwise it is reloaded without, with a warning.
    """
    if backend not in BACKENDS:
        raise ParameterError('backend', backend, f'must be one of {", ".join(BACKENDS)}')
    p = Path(path)
    if not p.is_file():
        raise ModelLoadError(p, 'file does not exist; set model_path to an exported .pt file')
    digest = file_sha256(p)
    if expected_sha256 and digest.lower() != expected_sha256.strip().lower():
        raise ModelLoadError(
            p,
            f'sha256 {digest} does not match model_sha256 {expected_sha256}; '
            'wrong or tampered file',
        )
    meta = read_metadata(p)
    dev = resolve_device(device, cuda_fallback=cuda_fallback)
    try:
        module = torch.jit.load(str(p), map_location=dev)
    except Exception as exc:  # torch raises RuntimeError/ValueError variants for bad archives
        raise ModelLoadError(
            p, f'not a loadable TorchScript file ({type(exc).__name__}: {exc})'
        ) from exc
    module.eval()
    # oneDNN Graph fusion hands conv/BN/ReLU chains to fused kernels: ~3x faster
    # for small CNNs on CPU, whose time is per-operator overhead (96x96 grasp_net:
    # 0.33 -> 0.10 ms). The switch is process-wide and read when a plan is built.
    # Frozen modules only: on unfrozen ones (BatchNorm as a module call) oneDNN Graph
    # returned wrong numbers in torch 2.14 -- the check below caught it.
    fuse = onednn_fusion and backend == 'torchscript' and dev.type == 'cpu' and _frozen(module)
    if dev.type == 'cpu':
        torch.jit.enable_onednn_fusion(fuse)
    dtype = torch.float16 if (fp16 and dev.type == 'cuda') else torch.float32
    if dtype == torch.float16:
        module = module.half()
    loaded = LoadedModel(module, meta, dev, dtype, str(p), digest, onednn_fusion=fuse)
    reference = _unoptimized_reference(loaded) if fuse else None
    dummy = torch.zeros((1, 3, *meta.input_size), dtype=dtype, device=dev)
    try:
        out = loaded.forward(dummy)
    except Exception as exc:
        raise ModelLoadError(
            p, f'forward pass on a {tuple(dummy.shape)} input failed ({type(exc).__name__}: {exc})'
        ) from exc
    if tuple(out.shape) != (1, meta.num_classes):
        raise ModelLoadError(
            p,
            f'output shape {tuple(out.shape)} does not match metadata '
            f'(expected (1, {meta.num_classes}) for classes {list(meta.class_names)})',
        )
    if backend != 'torchscript':
        _use_onnx_runtime(loaded, backend == 'onnxruntime')
    else:
        loaded.channels_last = _accepts_channels_last(loaded, dtype, dev)
    # Warm up on the layout Preprocessor feeds: TorchScript specialises on strides.
    dummy = dummy.contiguous(memory_format=torch.channels_last)
    for _ in range(max(0, warmup_runs)):
        loaded.forward(dummy)
    if loaded.onednn_fusion:
        why = (
            'no unoptimised reference'
            if reference is None
            else _fusion_matches(loaded, *reference)
        )
        if why:
            loaded.unfuse(why)
            for _ in range(max(0, warmup_runs)):
                loaded.forward(dummy)
    return loaded


def _probe_input(meta: ModelMetadata, batch: int = 1) -> torch.Tensor:
    """Return the fixed (seeded) random input every load-time check compares outputs on."""
    gen = torch.Generator().manual_seed(0)
    return torch.randn((batch, 3, *meta.input_size), generator=gen)


def _mismatch(
    got: torch.Tensor, ref: torch.Tensor, tol: float = 1e-4, equal_nan: bool = True
) -> str:
    """Return '' if ``got`` matches ``ref`` in shape and value, else the difference."""
    if got.shape != ref.shape:
        return f'output shape {tuple(got.shape)} != {tuple(ref.shape)}'
    if not torch.allclose(got, ref, rtol=tol, atol=tol, equal_nan=equal_nan):
        return f'max abs diff {float((got - ref).abs().max()):.3g}'
    return ''


def _accepts_channels_last(loaded: LoadedModel, dtype: torch.dtype, dev: torch.device) -> bool:
    """Whether the module gives the same outputs on channels_last as on contiguous input.

    Convolutions run faster on channels_last input; a module that reshapes its
    input with ``view`` would fail or differ, so it gets contiguous input instead.
    """
    x = _probe_input(loaded.metadata).to(dev, dtype)
    ref = loaded.forward(x)
    try:
        with torch.inference_mode():
            got = loaded.module(x.contiguous(memory_format=torch.channels_last)).float()
    except Exception:  # any failure just means: feed this module contiguous tensors
        return False
    return not _mismatch(got, ref, 1e-2 if dtype == torch.float16 else 1e-4)


def _frozen(module: torch.jit.ScriptModule) -> bool:
    """Whether a TorchScript module holds no parameters or buffers (``torch.jit.freeze``)."""
    return next(iter(module.parameters()), None) is None and (
        next(iter(module.buffers()), None) is None
    )


def _unoptimized_reference(loaded: LoadedModel) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Return a fixed input and the module's outputs from TorchScript's unoptimised interpreter.

    Must be the module's first call: before any optimised plan exists, no
    fusion pass has run, so this is the reference for ``_fusion_matches``.
    """
    x = _probe_input(loaded.metadata).to(loaded.device)
    try:
        with torch.jit.optimized_execution(False), torch.inference_mode():
            out = loaded.module(x)
    except Exception:  # a broken model: the shape check that follows names the error
        return None
    return x, out.float()


def _fusion_matches(loaded: LoadedModel, x: torch.Tensor, ref: torch.Tensor) -> str:
    """Return '' if the fused plan reproduces ``ref`` on ``x``, else why not."""
    if loaded.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    try:
        for _ in range(3):  # profile, then build and run the optimised (fused) plan
            got = loaded.forward(x)
    except Exception as exc:  # a fusion failure only means: serve the unfused module
        return f'fused module failed ({type(exc).__name__}: {exc})'
    diff = _mismatch(got, ref)
    return f'fused outputs differ ({diff})' if diff else ''


def _use_onnx_runtime(loaded: LoadedModel, required: bool) -> None:
    """Serve ``loaded`` through ONNX Runtime if it matches TorchScript; else raise or keep it."""
    p = Path(loaded.path)
    why = ''
    if loaded.device.type != 'cpu':
        why = f'the onnxruntime backend runs on CPU only, not {loaded.device}; set device:=cpu'
    elif not onnx_backend.available():
        why = "the onnxruntime backend needs 'pip install onnxruntime onnx'"
    else:
        try:
            ort = onnx_backend.onnx_runtime_module(
                loaded.module, loaded.metadata.input_size, torch.get_num_threads()
            )
            x = _probe_input(loaded.metadata, batch=2)
            # NaN outputs count as a mismatch: a NaN model must not switch backends silently.
            diff = _mismatch(ort(x).float(), loaded.forward(x), equal_nan=False)
            if diff:
                why = f'ONNX Runtime outputs differ from TorchScript ({diff})'
        except Exception as exc:  # exporter and runtime raise many types; all mean "unusable"
            why = f'ONNX export/runtime failed ({type(exc).__name__}: {exc})'
        else:
            if not why:
                loaded.module = ort
                loaded.backend = 'onnxruntime'
                loaded.channels_last = False
                return
    if required:
        raise ModelLoadError(p, why)
    warnings.warn(f'{p}: {why}; using TorchScript', stacklevel=3)
    loaded.channels_last = _accepts_channels_last(loaded, loaded.dtype, loaded.device)
