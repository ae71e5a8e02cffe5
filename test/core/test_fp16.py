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
float16 TorchScript (the node's ``fp16`` on CUDA), exercised on the CPU, which has half kernels.

Frozen modules keep their weights as graph constants that ``Module.half()`` never casts;
without ``to_half`` the first half input fails, which is what every exported model would
have done on a GPU with the node's defaults.
"""

from __future__ import annotations

from pathlib import Path

from grasp_classifier_ros.core.backend import probe_input
from grasp_classifier_ros.core.model import load_model, save_model, verify_file
from grasp_classifier_ros.core.torchscript_backend import to_half, TorchScriptBackend
from model_factory import brightness_metadata, ConvBnNet
import pytest
import torch
from torch import nn

CPU = torch.device('cpu')


def frozen_file(path: Path, module: nn.Module) -> Path:
    scripted = torch.jit.freeze(torch.jit.script(module.eval()))
    return save_model(scripted, brightness_metadata(32), path)


def test_half_alone_leaves_a_frozen_module_unusable(tmp_path: Path) -> None:
    module = torch.jit.load(str(frozen_file(tmp_path / 'm.pt', ConvBnNet()))).half()
    with pytest.raises(RuntimeError, match='should be the same'):
        module(torch.zeros((1, 3, 32, 32), dtype=torch.float16))


def test_to_half_casts_the_frozen_weights(tmp_path: Path) -> None:
    path = frozen_file(tmp_path / 'm.pt', ConvBnNet())
    x = probe_input(brightness_metadata(32), batch=4)
    ref = torch.jit.load(str(path))(x)
    got = to_half(torch.jit.load(str(path)))(x.half())
    assert got.dtype == torch.float16
    torch.testing.assert_close(got.float(), ref, atol=1e-2, rtol=1e-2)


def test_float16_runner_serves_half_and_casts_its_input(tmp_path: Path) -> None:
    path = frozen_file(tmp_path / 'm.pt', ConvBnNet())
    runner = TorchScriptBackend(onednn_fusion=False).load(verify_file(path), CPU, torch.float16)
    assert runner.dtype == torch.float16
    x = probe_input(brightness_metadata(32), batch=2)
    ref = load_model(path, device='cpu').forward(x)
    out = runner(x)  # float32 in (a float32 preprocessor), float32 out
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, atol=1e-2, rtol=1e-2)


class Overflow(nn.Module):
    """Logits beyond float16's range (65504): half cannot reproduce them."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2, 3), keepdim=False) * 1e9
        return torch.stack([m, -m], dim=1)


def test_float16_that_differs_serves_float32_with_a_warning(tmp_path: Path) -> None:
    path = frozen_file(tmp_path / 'm.pt', Overflow())
    with pytest.warns(UserWarning, match='float16 outputs differ from float32.*serving float32'):
        runner = TorchScriptBackend(onednn_fusion=False).load(
            verify_file(path), CPU, torch.float16
        )
    assert runner.dtype == torch.float32


def test_fp16_is_ignored_on_cpu(tmp_path: Path) -> None:
    path = frozen_file(tmp_path / 'm.pt', ConvBnNet())
    assert load_model(path, device='cpu', fp16=True).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device on this machine')
def test_cuda_fp16_serves_a_frozen_exported_model(tmp_path: Path) -> None:
    path = frozen_file(tmp_path / 'm.pt', ConvBnNet())
    loaded = load_model(path, device='cuda', fp16=True)
    assert loaded.dtype == torch.float16
    x = probe_input(brightness_metadata(32), batch=2)
    ref = load_model(path, device='cpu').forward(x)
    torch.testing.assert_close(loaded.forward(x.cuda()).cpu(), ref, atol=2e-2, rtol=2e-2)
