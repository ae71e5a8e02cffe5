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
Optional CPU backend: serve the TorchScript model through ONNX Runtime.

TorchScript stays the shipped artifact. At load time the TorchScript module is
exported to ONNX in memory and served by an ONNX Runtime session, which has
less per-operator overhead: on the shipped 128x128 ``grasp_net`` inference
takes 0.27 ms against 0.41 ms for fused TorchScript on one loaded CPU core
(see benchmarks/README.md). The session's outputs must match TorchScript's on
a probe batch at load. Needs the ``onnxruntime`` and ``onnx`` pip packages;
nothing here imports them otherwise.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import tempfile
from typing import Any
import warnings

import torch

from .backend import BackendUnavailableError, load_torchscript, mismatch, ModelFile, probe_input

OPSET = 17
INPUT = 'images'


def available() -> bool:
    """Whether the onnxruntime and onnx packages are importable."""
    return all(importlib.util.find_spec(m) is not None for m in ('onnxruntime', 'onnx'))


class OnnxRunner:
    """An ONNX Runtime session called like the TorchScript module: CPU tensor in and out."""

    backend = 'onnxruntime'
    label = 'onnxruntime'

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        x = batch.detach().cpu().float().contiguous().numpy()
        return torch.from_numpy(self.session.run(None, {INPUT: x})[0]).float()


class OnnxRuntimeBackend:
    """Export the TorchScript model to ONNX and serve it with ONNX Runtime on the CPU."""

    name = 'onnxruntime'

    def load(self, file: ModelFile, device: torch.device, dtype: torch.dtype) -> OnnxRunner:
        path, meta = file.path, file.metadata
        module = load_torchscript(path, device)  # an unloadable file is not our problem to hide
        if device.type != 'cpu':
            raise BackendUnavailableError(
                path, f'the onnxruntime backend runs on CPU only, not {device}; set device:=cpu'
            )
        if not available():
            raise BackendUnavailableError(
                path, "the onnxruntime backend needs 'pip install onnxruntime onnx'"
            )
        try:
            runner = OnnxRunner(session(module, meta.input_size, torch.get_num_threads()))
            x = probe_input(meta, batch=2)
            with torch.jit.optimized_execution(False), torch.inference_mode():
                ref = module(x).float()
            # NaN outputs count as a mismatch: a NaN model must not switch backends silently.
            diff = mismatch(runner(x), ref, equal_nan=False)
        except Exception as exc:  # exporter and runtime raise many types; all mean "unusable"
            raise BackendUnavailableError(
                path, f'ONNX export/runtime failed ({type(exc).__name__}: {exc})'
            ) from exc
        if diff:
            raise BackendUnavailableError(
                path, f'ONNX Runtime outputs differ from TorchScript ({diff})'
            )
        return runner


def export_onnx(module: Any, input_size: tuple[int, int]) -> bytes:
    """Export a TorchScript (or eager) module for ``(N, 3, H, W)`` float input to ONNX bytes."""
    dummy = torch.zeros((1, 3, *input_size), dtype=torch.float32)
    with tempfile.TemporaryDirectory(prefix='grasp-onnx-') as tmp, warnings.catch_warnings():
        warnings.simplefilter('ignore')  # exporter deprecation and tracer notices
        path = Path(tmp) / 'model.onnx'
        torch.onnx.export(
            module,
            (dummy,),
            str(path),
            dynamo=False,  # the TorchScript exporter: takes ScriptModules as they are
            opset_version=OPSET,
            input_names=[INPUT],
            output_names=['logits'],
            dynamic_axes={INPUT: {0: 'batch'}, 'logits': {0: 'batch'}},
        )
        return path.read_bytes()


def session(module: Any, input_size: tuple[int, int], threads: int) -> Any:
    """Return ``module`` exported to ONNX in a single-stream CPU ONNX Runtime session."""
    return ort_session(export_onnx(module, input_size), threads)


def ort_session(model: bytes, threads: int) -> Any:
    """Return a single-stream CPU ONNX Runtime session of serialised ONNX ``model``."""
    import onnxruntime as ort  # type: ignore[import-untyped, import-not-found]

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(model, opts, providers=['CPUExecutionProvider'])
