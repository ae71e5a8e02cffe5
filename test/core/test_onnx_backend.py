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
"""The optional ONNX Runtime backend: same outputs as TorchScript, or a clear refusal."""

from __future__ import annotations

from grasp_classifier_ros.core import onnx_backend, params
from grasp_classifier_ros.core.decision import DecisionConfig
from grasp_classifier_ros.core.errors import ModelLoadError, ParameterError
from grasp_classifier_ros.core.int8_backend import Int8Backend
from grasp_classifier_ros.core.model import load_model
from grasp_classifier_ros.core.onnx_backend import OnnxRuntimeBackend
from grasp_classifier_ros.core.pipeline import Pipeline
from grasp_classifier_ros.core.torchscript_backend import TorchScriptBackend
from model_factory import (
    brightness_metadata,
    BrightnessModel,
    ConstantModel,
    ConvBnNet,
    write_model,
)
from msg_factory import make_image
import numpy as np
import pytest

S = 1_000_000_000
needs_ort = pytest.mark.skipif(
    not onnx_backend.available(), reason='onnxruntime/onnx not installed (optional backend)'
)


def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(5)]


def probabilities(model) -> np.ndarray:
    pl = Pipeline(model, decision=DecisionConfig(max_frame_age=0.0, smoothing='none'))
    out = []
    for i, px in enumerate(frames()):
        r = pl.process(make_image(px, 'bgr8', stamp_ns=(i + 1) * S), (i + 1) * S)
        assert r.status == 'ok'
        out.append(r.probabilities)
    return np.array(out)


def test_unknown_backend_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match='backend'):
        load_model(write_model(tmp_path / 'm.pt'), device='cpu', backend='tensorrt')


def test_torchscript_is_the_default(tmp_path):
    assert load_model(write_model(tmp_path / 'm.pt'), device='cpu').backend == 'torchscript'


@needs_ort
@pytest.mark.parametrize('module', [BrightnessModel(), ConvBnNet()], ids=['brightness', 'conv'])
def test_onnxruntime_gives_torchscript_probabilities(tmp_path, module):
    path = write_model(tmp_path / 'm.pt', module, brightness_metadata(32))
    ts = load_model(path, device='cpu')
    ort = load_model(path, device='cpu', backend='onnxruntime')
    assert ort.backend == 'onnxruntime' and isinstance(ort.runner, onnx_backend.OnnxRunner)
    assert ort.model_id == ts.model_id
    np.testing.assert_allclose(probabilities(ort), probabilities(ts), rtol=0, atol=1e-5)


@needs_ort
def test_auto_uses_onnxruntime_when_it_matches(tmp_path):
    path = write_model(tmp_path / 'm.pt', ConvBnNet(), brightness_metadata(32))
    assert load_model(path, device='cpu', backend='auto').backend == 'onnxruntime'


@needs_ort
def test_mismatching_outputs_refuse_onnxruntime_and_auto_keeps_torchscript(tmp_path):
    path = write_model(tmp_path / 'm.pt', ConstantModel([float('nan'), 0.0]))
    with pytest.raises(ModelLoadError, match='differ from TorchScript'):
        load_model(path, device='cpu', backend='onnxruntime')
    with pytest.warns(UserWarning, match='using TorchScript'):
        model = load_model(path, device='cpu', backend='auto')
    assert model.backend == 'torchscript'


def test_missing_packages_name_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_backend, 'available', lambda: False)
    path = write_model(tmp_path / 'm.pt')
    with pytest.raises(ModelLoadError, match='pip install onnxruntime onnx'):
        load_model(path, device='cpu', backend='onnxruntime')
    with pytest.warns(UserWarning, match='pip install onnxruntime onnx'):
        model = load_model(path, device='cpu', backend='auto')
    assert model.backend == 'torchscript'
    assert probabilities(model).shape == (5, 2)


def test_backend_names_have_one_home():
    """The parameter's choices are the backends' own names plus 'auto'."""
    assert set(params.BACKEND_CHOICES) == {
        TorchScriptBackend.name,
        OnnxRuntimeBackend.name,
        Int8Backend.name,
        'auto',
    }
    assert params.SPECS['backend'].choices == params.BACKEND_CHOICES
