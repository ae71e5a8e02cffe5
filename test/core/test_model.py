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
"""Model loading: metadata round trip and every load failure, with real TorchScript files."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import zipfile

from grasp_classifier_ros.core.errors import DeviceError, MetadataError, ModelLoadError
from grasp_classifier_ros.core.metadata import METADATA_FILE, ModelMetadata, SCHEMA_VERSION
from grasp_classifier_ros.core.model import (
    file_sha256,
    load_model,
    read_metadata,
    release_cached_memory,
    resolve_device,
)
from model_factory import brightness_metadata, BrightnessModel, ConstantModel, write_model
import numpy as np
import pytest
import torch


def test_metadata_round_trip_through_file(tmp_path):
    meta = brightness_metadata(48, threshold=0.61, temperature=1.7, color_order='bgr')
    path = write_model(tmp_path / 'm.pt', meta=meta)
    assert read_metadata(path) == meta
    loaded = load_model(path, device='cpu')
    assert loaded.metadata == meta
    assert loaded.metadata.input_size == (48, 48)
    assert loaded.sha256 == file_sha256(path)
    assert loaded.model_id == f'brightness_test@{loaded.sha256[:12]}'
    assert ModelMetadata.from_json(meta.to_json()) == meta


def test_calibrated_probabilities_apply_temperature(tmp_path):
    meta = brightness_metadata(16, temperature=2.0)
    loaded = load_model(
        write_model(tmp_path / 'm.pt', ConstantModel([0.0, 3.0]), meta), device='cpu'
    )
    probs = loaded.predict(torch.zeros(1, 3, 16, 16))
    expected = 1.0 / (1.0 + np.exp(-1.5))  # softmax([0, 3] / 2)
    assert probs.shape == (1, 2)
    assert probs[0, 1] == pytest.approx(expected, abs=1e-6)


def test_decoder_calibrates_and_picks_the_success_class_in_one_step(tmp_path):
    meta = brightness_metadata(16, temperature=2.0).with_updates(
        class_names=('grasped', 'notgrasped'), success_index=0
    )
    loaded = load_model(
        write_model(tmp_path / 'm.pt', ConstantModel([3.0, 0.0]), meta), device='cpu'
    )
    pred = loaded.classify(torch.zeros(2, 3, 16, 16))
    expected = 1.0 / (1.0 + np.exp(-1.5))  # softmax([3, 0] / 2)[0]
    assert pred.probabilities.shape == (2, 2) and pred.success.shape == (2,)
    assert pred.success == pytest.approx([expected, expected], abs=1e-6)
    np.testing.assert_array_equal(pred.success, pred.probabilities[:, 0])
    np.testing.assert_array_equal(loaded.predict(torch.zeros(2, 3, 16, 16)), pred.probabilities)


def test_probability_output_kind(tmp_path):
    meta = brightness_metadata(16, output_kind='probabilities')
    loaded = load_model(
        write_model(tmp_path / 'm.pt', ConstantModel([0.2, 0.8]), meta), device='cpu'
    )
    assert loaded.predict(torch.zeros(1, 3, 16, 16))[0, 1] == pytest.approx(0.8, abs=1e-6)


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError) as err:
        load_model(tmp_path / 'nope.pt')
    assert str(err.value) == (
        f"cannot load model '{tmp_path / 'nope.pt'}': file does not exist; "
        'set model_path to an exported .pt file'
    )


def test_not_a_torchscript_file(tmp_path):
    p = tmp_path / 'junk.pt'
    p.write_bytes(b'this is not a model')
    with pytest.raises(ModelLoadError, match='not a TorchScript archive'):
        load_model(p)


def test_truncated_file(tmp_path):
    good = write_model(tmp_path / 'm.pt')
    p = tmp_path / 'cut.pt'
    p.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelLoadError, match=r"cannot load model '.*cut\.pt': not a TorchScript"):
        load_model(p)


def test_missing_metadata(tmp_path):
    p = tmp_path / 'plain.pt'
    torch.jit.save(torch.jit.script(BrightnessModel()), str(p))
    with pytest.raises(ModelLoadError, match="no embedded 'grasp_metadata.json'; export it with"):
        load_model(p)


def _rewrite_metadata(src: Path, dst: Path, text: str) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith('/extra/' + METADATA_FILE):
                data = text.encode()
            zout.writestr(item, data)


@pytest.mark.parametrize(
    ('mutate', 'message'),
    [
        (lambda d: d.pop('class_names'), "metadata field 'class_names' is missing"),
        (lambda d: d.update(success_index=5), "metadata field 'success_index'=5 is invalid"),
        (lambda d: d.update(schema_version=99), 'metadata schema_version=99 is not supported'),
        (lambda d: d.update(color_order='hsv'), "metadata field 'color_order'='hsv' is invalid"),
        (lambda d: d.update(temperature=0), "metadata field 'temperature'=0 is invalid"),
        (lambda d: d.update(extra_field=1), "metadata has unknown fields \\['extra_field'\\]"),
    ],
)
def test_invalid_metadata_named(tmp_path, mutate, message):
    good = write_model(tmp_path / 'm.pt')
    data = brightness_metadata().to_dict()
    mutate(data)
    bad = tmp_path / 'bad.pt'
    _rewrite_metadata(good, bad, json.dumps(data))
    with pytest.raises(ModelLoadError, match=message):
        load_model(bad)


def test_metadata_not_json(tmp_path):
    bad = tmp_path / 'bad.pt'
    _rewrite_metadata(write_model(tmp_path / 'm.pt'), bad, '{not json')
    with pytest.raises(ModelLoadError, match='metadata is not valid JSON'):
        load_model(bad)


def test_output_shape_mismatch(tmp_path):
    meta = brightness_metadata(16)
    p = write_model(tmp_path / 'm.pt', BrightnessModel(num_classes=3), meta)
    with pytest.raises(ModelLoadError, match=r'output shape \(1, 3\) does not match metadata'):
        load_model(p)


def test_forward_failure_named(tmp_path):
    class Needs4Channels(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(4, 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x).mean(dim=(2, 3))

    p = write_model(tmp_path / 'm.pt', Needs4Channels(), brightness_metadata(16))
    with pytest.raises(ModelLoadError, match=r'forward pass on a \(1, 3, 16, 16\) input failed'):
        load_model(p)


def test_sha256_pinning(tmp_path):
    p = write_model(tmp_path / 'm.pt')
    digest = file_sha256(p)
    assert load_model(p, expected_sha256=digest.upper()).sha256 == digest
    with pytest.raises(ModelLoadError, match='does not match model_sha256'):
        load_model(p, expected_sha256='0' * 64)


def test_metadata_validation_direct():
    with pytest.raises(MetadataError, match="'class_names'.*at least two"):
        brightness_metadata().with_updates(class_names=('only',), success_index=0)
    with pytest.raises(MetadataError, match='names must be unique'):
        brightness_metadata().with_updates(class_names=('a', 'a'))
    assert brightness_metadata().schema_version == SCHEMA_VERSION


def test_resolve_device_policy(monkeypatch):
    assert resolve_device('cpu').type == 'cpu'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert resolve_device('auto').type == 'cpu'
    with pytest.warns(UserWarning, match="device='cuda' requested but CUDA is not available"):
        assert resolve_device('cuda', cuda_fallback=True).type == 'cpu'
    with pytest.raises(DeviceError, match='set device:=cpu or cuda_fallback:=true'):
        resolve_device('cuda:1', cuda_fallback=False)
    with pytest.raises(DeviceError, match='is not valid'):
        resolve_device('tpu')


def test_cuda_requested_absent_load_policy(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    p = write_model(tmp_path / 'm.pt')
    with pytest.raises(DeviceError):
        load_model(p, device='cuda', cuda_fallback=False)
    with pytest.warns(UserWarning):
        assert load_model(p, device='cuda', cuda_fallback=True).device.type == 'cpu'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device on this machine')
def test_cuda_fp16(tmp_path):
    loaded = load_model(write_model(tmp_path / 'm.pt'), device='cuda', fp16=True)
    assert loaded.device.type == 'cuda' and loaded.dtype == torch.float16


def test_releasing_cached_memory_never_initialises_cuda(tmp_path):
    """A CPU node's deactivate calls it too: it must not start CUDA (seconds, memory)."""
    script = (
        'import torch; from grasp_classifier_ros.core.model import release_cached_memory; '
        'release_cached_memory(); print(torch.cuda.is_initialized())'
    )
    out = subprocess.run(
        [sys.executable, '-c', script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == 'False'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device on this machine')
def test_releasing_cached_memory_returns_cuda_blocks(tmp_path):
    loaded = load_model(write_model(tmp_path / 'm.pt'), device='cuda')
    scratch = torch.zeros(64 << 20, device='cuda')  # 256 MiB through the caching allocator
    del scratch
    reserved = torch.cuda.memory_reserved()
    release_cached_memory()
    assert torch.cuda.memory_reserved() < reserved
    assert loaded.device.type == 'cuda'  # the model itself stays loaded
