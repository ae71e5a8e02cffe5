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
The inference seam: a ``Backend`` loads a model file into a ``Runner``.

The frame path is encoder (``preprocess.Preprocessor``: pixels -> tensor),
inference (a ``Runner``: tensor -> raw outputs) and decoder
(``model.Decoder``: raw outputs -> calibrated probabilities), as Isaac ROS
splits DNN inference, inside one process. Implementations:
``torchscript_backend`` (the default, with oneDNN Graph fusion on CPU) and
``onnx_backend`` (optional ONNX Runtime). ``model.load_model`` picks one,
then checks and warms up whatever it returns. Helpers here are shared by the
implementations' load-time checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from .errors import ModelLoadError
from .metadata import ModelMetadata


class Runner(Protocol):
    """A model ready to run: ``(N, 3, H, W)`` preprocessed batch -> raw ``(N, C)`` float32."""

    backend: str  # the Backend.name that made it

    @property
    def label(self) -> str:
        """Backend and options in effect, for logs and benchmarks (``torchscript+onednn``)."""
        ...

    def __call__(self, batch: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class ModelFile:
    """A model file that passed verification: where it is, its SHA-256, its metadata."""

    path: Path
    sha256: str
    metadata: ModelMetadata


class Backend(Protocol):
    """Loads a verified model file for one device and dtype, or raises ModelLoadError."""

    name: str

    def load(self, file: ModelFile, device: torch.device, dtype: torch.dtype) -> Runner: ...


class BackendUnavailableError(ModelLoadError):
    """The backend cannot serve this model here (missing package, wrong device, mismatch)."""


def load_torchscript(path: Path, device: torch.device) -> torch.jit.ScriptModule:
    """Load a TorchScript file in eval mode; any failure is one ModelLoadError naming it."""
    try:
        module = torch.jit.load(str(path), map_location=device)
    except Exception as exc:  # torch raises RuntimeError/ValueError variants for bad archives
        raise ModelLoadError(
            path, f'not a loadable TorchScript file ({type(exc).__name__}: {exc})'
        ) from exc
    return module.eval()


def probe_input(meta: ModelMetadata, batch: int = 1) -> torch.Tensor:
    """Return the fixed (seeded) random input every load-time check compares outputs on."""
    gen = torch.Generator().manual_seed(0)
    return torch.randn((batch, 3, *meta.input_size), generator=gen)


def mismatch(
    got: torch.Tensor, ref: torch.Tensor, tol: float = 1e-4, equal_nan: bool = True
) -> str:
    """Return '' if ``got`` matches ``ref`` in shape and value, else the difference."""
    if got.shape != ref.shape:
        return f'output shape {tuple(got.shape)} != {tuple(ref.shape)}'
    if not torch.allclose(got, ref, rtol=tol, atol=tol, equal_nan=equal_nan):
        return f'max abs diff {float((got - ref).abs().max()):.3g}'
    return ''
