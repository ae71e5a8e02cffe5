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
The int8 variant inside a model file: served by ``onnxruntime-int8`` only after its gates.

The variants are made by the training package's ``quantize`` (ONNX Runtime's static
quantization) from synthetic frames; these tests skip without it or without onnxruntime.
"""

from __future__ import annotations

import json
from pathlib import Path
import warnings
import zipfile

from grasp_classifier_ros.core import int8_backend
from grasp_classifier_ros.core.errors import ChecksumMismatchError, MetadataError, ModelLoadError
from grasp_classifier_ros.core.metadata import (
    INT8_FORMAT,
    INT8_MODEL_FILE,
    INT8_RECORD_FILE,
    Int8Record,
)
from grasp_classifier_ros.core.model import (
    file_sha256,
    load_model,
    read_metadata,
    save_model,
    verify_file,
)
from model_factory import brightness_metadata, ConvBnNet, write_model
import numpy as np
import pytest
import torch

quantize = pytest.importorskip('grasp_classifier_training.quantize')
pytestmark = pytest.mark.skipif(
    not int8_backend.available(), reason='onnxruntime not installed (optional backend)'
)
PASSING_CV = {
    'fp32_accuracy': 0.95,
    'int8_accuracy': 0.95,
    'fp32_failure_accuracy': 0.97,
    'int8_failure_accuracy': 0.97,
}


def frozen(module: torch.nn.Module) -> torch.jit.ScriptModule:
    return torch.jit.freeze(torch.jit.script(module.eval()))


def with_variant(path: Path, module: torch.nn.Module, files: dict[str, bytes]) -> Path:
    """Save ``module`` (frozen, brightness metadata) with int8 ``files`` embedded."""
    return save_model(frozen(module), brightness_metadata(32), path, files)


@pytest.fixture(scope='module')
def variant() -> quantize.Variant:
    meta = brightness_metadata(32)
    images = quantize.synthetic_probe(meta, 64, seed=1)
    return quantize.make_variant(frozen(ConvBnNet()), meta, images, PASSING_CV, {}, lambda *_: 0)


@pytest.fixture
def int8_model(tmp_path: Path, variant: quantize.Variant) -> Path:
    return with_variant(tmp_path / 'm.pt', ConvBnNet(), variant.files)


def probe_batch() -> torch.Tensor:
    meta = brightness_metadata(32)
    return quantize.to_batch(quantize.synthetic_probe(meta, 8, seed=5), meta)


def test_int8_variant_serves_close_to_fp32(int8_model: Path) -> None:
    int8 = load_model(int8_model, device='cpu', backend='onnxruntime-int8')
    fp32 = load_model(int8_model, device='cpu', backend='torchscript')
    assert int8.backend == 'onnxruntime-int8' and int8.runner.label == 'onnxruntime-int8'
    assert int8.model_id == fp32.model_id  # one file, one hash, both precisions
    x = probe_batch()
    check = int8_backend.parity(fp32.forward(x).numpy(), int8.forward(x).numpy(), fp32.metadata)
    assert check.top1_agreement == 1.0 and check.max_abs_dp < 0.05


def test_auto_prefers_the_int8_variant_and_is_silent_without_one(
    int8_model: Path, tmp_path: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)
        assert load_model(int8_model, device='cpu', backend='auto').backend == 'onnxruntime-int8'
        plain = write_model(tmp_path / 'plain.pt', ConvBnNet(), brightness_metadata(32))
        assert load_model(plain, device='cpu', backend='auto').backend == 'onnxruntime'


def test_a_file_without_int8_is_refused_by_name(tmp_path: Path) -> None:
    plain = write_model(tmp_path / 'plain.pt', ConvBnNet(), brightness_metadata(32))
    with pytest.raises(ModelLoadError, match='carries no int8 variant.*grasp-train quantize'):
        load_model(plain, device='cpu', backend='onnxruntime-int8')


def test_int8_is_cpu_only(int8_model: Path) -> None:
    backend = int8_backend.Int8Backend()
    with pytest.raises(ModelLoadError, match='CPU only'):
        backend.load(verify_file(int8_model), torch.device('cuda'), torch.float16)


def test_model_sha256_pins_both_precisions(
    int8_model: Path, tmp_path: Path, variant: quantize.Variant
) -> None:
    digest = file_sha256(int8_model)
    load_model(int8_model, device='cpu', backend='onnxruntime-int8', expected_sha256=digest)
    # The same FP32 weights with another int8 model inside: another file, another hash.
    other = dict(variant.files)
    other[INT8_MODEL_FILE] = variant.files[INT8_MODEL_FILE] + b' '
    swapped = with_variant(tmp_path / 'swapped.pt', ConvBnNet(), other)
    with pytest.raises(ChecksumMismatchError):
        load_model(swapped, device='cpu', backend='onnxruntime-int8', expected_sha256=digest)


def test_a_record_that_failed_its_gate_is_refused_and_auto_says_why(
    tmp_path: Path, variant: quantize.Variant
) -> None:
    record = json.loads(variant.files[INT8_RECORD_FILE])
    record['cv']['int8_failure_accuracy'] = 0.90  # 7 points below FP32
    files = {**variant.files, INT8_RECORD_FILE: json.dumps(record).encode()}
    path = with_variant(tmp_path / 'bad.pt', ConvBnNet(), files)
    with pytest.raises(ModelLoadError, match='failed its parity gate.*failure-class accuracy'):
        load_model(path, device='cpu', backend='onnxruntime-int8')
    with pytest.warns(UserWarning, match='onnxruntime-int8: int8 variant failed its parity gate'):
        assert load_model(path, device='cpu', backend='auto').backend == 'onnxruntime'


def test_an_int8_model_of_other_weights_disagrees_at_load(
    tmp_path: Path, variant: quantize.Variant
) -> None:
    flipped = ConvBnNet()
    with torch.no_grad():
        flipped.fc.weight.neg_()
        flipped.fc.bias.neg_()
    path = with_variant(tmp_path / 'flipped.pt', flipped, variant.files)
    with pytest.raises(ModelLoadError, match='disagree with FP32 on this CPU.*probe frames'):
        load_model(path, device='cpu', backend='onnxruntime-int8')


def test_a_newer_int8_format_is_named(tmp_path: Path, variant: quantize.Variant) -> None:
    record = json.loads(variant.files[INT8_RECORD_FILE])
    record['format'] = INT8_FORMAT + 1
    with pytest.raises(MetadataError, match='format 2 is not supported.*torchscript'):
        Int8Record.from_json(json.dumps(record))
    files = {**variant.files, INT8_RECORD_FILE: json.dumps(record).encode()}
    path = with_variant(tmp_path / 'newer.pt', ConvBnNet(), files)
    with pytest.raises(ModelLoadError, match='format 2 is not supported'):
        load_model(path, device='cpu', backend='onnxruntime-int8')
    # What an older runtime reads, the FP32 model and its metadata, is unchanged.
    assert read_metadata(path) == brightness_metadata(32)
    assert load_model(path, device='cpu', backend='torchscript').backend == 'torchscript'


def test_an_incomplete_variant_is_named(tmp_path: Path, variant: quantize.Variant) -> None:
    files = {k: v for k, v in variant.files.items() if k != INT8_RECORD_FILE}
    path = with_variant(tmp_path / 'part.pt', ConvBnNet(), files)
    with pytest.raises(ModelLoadError, match=f'{INT8_RECORD_FILE} missing'):
        load_model(path, device='cpu', backend='onnxruntime-int8')


def test_the_probe_strip_round_trips_and_holds_no_real_image(variant: quantize.Variant) -> None:
    meta = brightness_metadata(32)
    frames = quantize.synthetic_probe(meta, 3, seed=2)
    batch = int8_backend.decode_probe(int8_backend.encode_probe(frames), meta)
    np.testing.assert_allclose(batch.numpy(), quantize.to_batch(frames, meta).numpy())
    record = Int8Record.from_json(variant.files[INT8_RECORD_FILE])
    assert 'bag.synth' in record.details['load_probe']


def test_record_gate_rules() -> None:
    ok = Int8Record(top1_agreement=0.995, probe_images=300, cv=PASSING_CV)
    assert ok.gate_problem() == ''
    low = Int8Record(top1_agreement=0.98, probe_images=300, cv=PASSING_CV)
    assert 'agrees with FP32 on 98.0% of 300 probe images' in low.gate_problem()
    better = dict(PASSING_CV, int8_accuracy=0.97)  # a gain is not a failure
    assert Int8Record(top1_agreement=1.0, probe_images=9, cv=better).gate_problem() == ''
    drop = dict(PASSING_CV, int8_accuracy=0.944)
    assert '0.6 points below' in Int8Record(1.0, 9, drop).gate_problem()
    with pytest.raises(MetadataError, match='cv.int8_accuracy'):
        Int8Record(1.0, 9, {'fp32_accuracy': 0.9})


def test_embedded_files_sit_in_the_torchscript_archive(int8_model: Path) -> None:
    with zipfile.ZipFile(int8_model) as zf:
        extras = sorted(n.split('/extra/')[1] for n in zf.namelist() if '/extra/' in n)
    assert extras == sorted(
        ['grasp_metadata.json', 'grasp_int8.onnx', 'grasp_int8.json', 'grasp_int8_probe.png']
    )
