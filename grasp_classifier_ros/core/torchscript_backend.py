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
The default backend: the TorchScript module itself, fused with oneDNN Graph on CPU.

oneDNN Graph fusion hands conv/BN/ReLU chains to fused kernels: ~2x faster
inference for the small CNNs shipped here, whose time is per-operator
overhead (shipped 128x128 ``grasp_net``: 0.77 -> 0.41 ms under load, see
benchmarks/README.md). torch's switch is process-wide and read whenever a plan
is built (at load, and when the profiling executor re-specialises), so each
runner sets it to its own state around its calls: models loaded side by side
(hot reload, benchmarks) never build plans under another's setting. Only
frozen modules are fused: on unfrozen ones (BatchNorm as
a module call) oneDNN Graph returned wrong numbers in torch 2.14. A fused plan
must reproduce the unoptimised interpreter's outputs at load; a runner whose
fused plan fails or differs (then or later) reloads its file unfused, with a
warning.

float16 (CUDA, ``fp16``): ``Module.half()`` casts parameters and buffers, but a
frozen module (what the exporter writes) holds its weights as graph constants,
which it never reaches (the first half input then fails: "Input type (Half) and
bias type (float) should be the same"); ``to_half`` casts those constants too.
The half module must reproduce the float32 one on the probe batch within
``FP16_TOLERANCE``; otherwise the runner serves float32, with a warning.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
import warnings

import torch

from .backend import load_torchscript, mismatch, ModelFile, probe_input
from .errors import ModelLoadError

FP16_TOLERANCE = 0.05  # logits, absolute and relative: half rounding through ~20 layers


class TorchScriptRunner:
    """A TorchScript module on its device; ``fused`` while its plans use oneDNN Graph."""

    backend = 'torchscript'

    def __init__(
        self,
        module: torch.jit.ScriptModule,
        path: Path,
        sha256: str,
        device: torch.device,
        *,
        fused: bool = False,
        channels_last: bool = True,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.module = module
        self.path = path
        self.sha256 = sha256
        self.device = device
        self.dtype = dtype  # what the module computes in; inputs are cast to it
        self.fused = fused
        # False when the module fails or differs on channels_last input (checked at load).
        self.channels_last = channels_last

    @property
    def label(self) -> str:
        return 'torchscript+onednn-fusion' if self.fused else 'torchscript'

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if batch.dtype != self.dtype:
            batch = batch.to(self.dtype)
        if not self.channels_last:
            batch = batch.contiguous()
        if self.device.type == 'cpu':
            torch.jit.enable_onednn_fusion(self.fused)
        try:
            with torch.inference_mode():
                out = self.module(batch)
        except RuntimeError as exc:
            if not self.fused:
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
        self.fused = False
        data = self.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise ModelLoadError(
                self.path, 'file changed on disk since it was loaded; load it again'
            )
        # Fused modules run on CPU in float32 (fp16 is CUDA only): no .half() to redo.
        self.module = torch.jit.load(io.BytesIO(data), map_location=self.device).eval()


class TorchScriptBackend:
    """Serve the TorchScript module; on CPU with oneDNN Graph fusion when it checks out."""

    name = 'torchscript'

    def __init__(self, onednn_fusion: bool = True) -> None:
        self.onednn_fusion = onednn_fusion

    def load(self, file: ModelFile, device: torch.device, dtype: torch.dtype) -> TorchScriptRunner:
        module = load_torchscript(file.path, device)
        if dtype == torch.float16:
            module, dtype = _half_or_float(module, file, device)
        x = probe_input(file.metadata).to(device, dtype)
        reference = None
        if self.onednn_fusion and device.type == 'cpu' and _frozen(module):
            # The module's first call: no optimised (fused) plan exists before it. A module
            # failing here is not fused; load_model's output check names its error.
            reference = _unoptimized(module, x)
        runner = TorchScriptRunner(
            module, file.path, file.sha256, device, fused=reference is not None, dtype=dtype
        )
        runner.channels_last = _accepts_channels_last(runner, x)
        if reference is not None:
            why = _fusion_matches(runner, x, reference)
            if why:
                runner.unfuse(why)
        return runner


def to_half(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """
    Cast a TorchScript module to float16, its graph's floating-point constants included.

    Call it before the module's first run: a run builds plans from the constants.
    """
    module = module.half()

    def cast(block: torch._C.Block) -> None:
        for node in block.nodes():
            for inner in node.blocks():
                cast(inner)
            if node.kind() == 'prim::Constant' and node.hasAttribute('value'):
                if node.kindOf('value') == 't' and node.t('value').is_floating_point():
                    node.t_('value', node.t('value').half())

    cast(module.graph.block())
    return module


def _half_or_float(
    module: torch.jit.ScriptModule, file: ModelFile, device: torch.device
) -> tuple[torch.jit.ScriptModule, torch.dtype]:
    """Return the module in float16 if it reproduces float32 on the probe batch, else float32."""
    x = probe_input(file.metadata).to(device)
    with torch.inference_mode():
        reference = module(x).float()
    half = to_half(load_torchscript(file.path, device))
    try:
        with torch.inference_mode():
            diff = mismatch(half(x.half()).float(), reference, FP16_TOLERANCE, equal_nan=False)
    except Exception as exc:  # an op without a half kernel: float32 serves correctly
        diff = f'failed ({type(exc).__name__}: {str(exc).strip().splitlines()[-1]})'
    if not diff:
        return half, torch.float16
    warnings.warn(
        f'{file.path}: float16 outputs differ from float32 ({diff}); serving float32',
        stacklevel=4,
    )
    return module, torch.float32


def _frozen(module: torch.jit.ScriptModule) -> bool:
    """Whether a TorchScript module holds no parameters or buffers (``torch.jit.freeze``)."""
    return next(iter(module.parameters()), None) is None and (
        next(iter(module.buffers()), None) is None
    )


def _unoptimized(module: torch.jit.ScriptModule, x: torch.Tensor) -> torch.Tensor | None:
    """Return the module's outputs on ``x`` from TorchScript's unoptimised interpreter."""
    try:
        with torch.jit.optimized_execution(False), torch.inference_mode():
            return module(x).float()
    except Exception:  # a broken model: None, and it is not fused
        return None


def _accepts_channels_last(runner: TorchScriptRunner, x: torch.Tensor) -> bool:
    """
    Whether the module gives the same outputs on channels_last as on contiguous input.

    Convolutions run faster on channels_last input; a module that reshapes its
    input with ``view`` would fail or differ, so it gets contiguous input instead.
    """
    try:
        runner.channels_last = False
        ref = runner(x)
        with torch.inference_mode():
            got = runner.module(x.contiguous(memory_format=torch.channels_last)).float()
    except Exception:  # any failure just means: feed this module contiguous tensors
        return False
    return not mismatch(got, ref, 1e-2 if x.dtype == torch.float16 else 1e-4)


def _fusion_matches(runner: TorchScriptRunner, x: torch.Tensor, ref: torch.Tensor) -> str:
    """Return '' if the fused plan reproduces ``ref`` on ``x``, else why not."""
    if runner.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    try:
        for _ in range(3):  # profile, then build and run the optimised (fused) plan
            got = runner(x)
    except Exception as exc:  # a fusion failure only means: serve the unfused module
        return f'fused module failed ({type(exc).__name__}: {exc})'
    if not runner.fused:  # the runner fell back by itself (fused run failed)
        return ''
    diff = mismatch(got, ref)
    return f'fused outputs differ ({diff})' if diff else ''
