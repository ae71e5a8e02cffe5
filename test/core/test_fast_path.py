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
"""The latency levers keep results exact: box-halving resize, channels_last, oneDNN fusion."""

from __future__ import annotations

import math

import cv2
from grasp_classifier_ros.core import torchscript_backend
from grasp_classifier_ros.core.decision import DecisionConfig
from grasp_classifier_ros.core.model import load_model, save_model
from grasp_classifier_ros.core.pipeline import Pipeline
from grasp_classifier_ros.core.preprocess import (
    area_resize,
    crop_resize,
    HALVING_GAP,
    Preprocessor,
)
from model_factory import (
    brightness_metadata,
    BrightnessModel,
    ConstantModel,
    ConvBnNet,
    flat_probability,
    write_model,
)
from msg_factory import make_image
import numpy as np
import pytest
import torch
from torch import nn

S = 1_000_000_000


def noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def box_halve(x: np.ndarray) -> np.ndarray:
    """2x2 means rounded half up: what OpenCV's integer INTER_AREA computes."""
    a = x.astype(np.int32)
    s = a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]
    return ((s + 2) >> 2).astype(np.uint8)


def direct(x: np.ndarray, h: int, w: int) -> np.ndarray:
    return cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA)


def test_halving_gap_is_one():
    assert HALVING_GAP == 1


@pytest.mark.parametrize(
    ('shape', 'target'),
    [
        ((383, 500), (96, 96)),  # odd height
        ((190, 256), (96, 96)),  # halving would leave less than the target height
        ((128, 128), (96, 96)),
        ((481, 640), (96, 96)),  # odd height
        ((480, 641), (96, 96)),  # odd width
    ],
)
def test_small_or_odd_inputs_take_the_direct_inter_area(shape, target):
    x = noise(*shape)
    assert np.array_equal(area_resize(x, *target), direct(x, *target))


def test_camera_frame_is_box_halved_then_area_resized():
    x = noise(480, 640)
    expected = direct(box_halve(box_halve(x)), 96, 96)  # 480 -> 240 -> 120 (>= 96), not 60
    assert np.array_equal(area_resize(x, 96, 96), expected)
    # the shipped 128x128 input: 480 -> 240 only (120 < 128)
    assert np.array_equal(area_resize(x, 128, 128), direct(box_halve(x), 128, 128))


def test_training_sizes_halve_exactly_like_direct_area():
    x = noise(256, 256)  # real images are 128x128 or 256x256; the shipped input is 128
    assert np.array_equal(area_resize(x, 128, 128), direct(x, 128, 128))


def test_halving_repeats_while_twice_the_target_remains():
    x = noise(1024, 1536)
    # 1024 -> 512 -> 256 -> 128 (>= 96) -> stop
    expected = direct(box_halve(box_halve(box_halve(x))), 96, 96)
    assert np.array_equal(area_resize(x, 96, 96), expected)


def test_halving_works_on_read_only_strided_message_views():
    x = noise(480, 700)
    view = x[:, 30:670]  # row stride 700*3, like a ROI or a padded step
    view.flags.writeable = False
    assert np.array_equal(area_resize(view, 128, 128), direct(box_halve(view.copy()), 128, 128))


def test_flat_frames_stay_flat_at_any_size():
    for shape in ((480, 640), (720, 1280), (1080, 1920), (100, 100)):
        x = np.full((*shape, 3), 137, np.uint8)
        out = crop_resize(x, 'bgr', brightness_metadata(64))
        assert out.shape == (64, 64, 3) and (out == 137).all()


def test_preprocessor_output_is_channels_last_and_normalised_exactly():
    meta = brightness_metadata(8, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 0.125))
    small = noise(8, 8)
    got = Preprocessor(meta).to_tensor(small)
    assert got.shape == (1, 3, 8, 8)
    assert got.is_contiguous(memory_format=torch.channels_last)
    ref = (
        torch.from_numpy(small).permute(2, 0, 1)[None].float() / 255
        - torch.tensor(meta.mean).view(1, 3, 1, 1)
    ) / torch.tensor(meta.std).view(1, 3, 1, 1)
    assert torch.allclose(got, ref, atol=1e-5)


class ViewModel(nn.Module):
    """Success logit = 10 * (mean - 0.5) via ``view``, which fails on channels_last input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.view(x.shape[0], -1).mean(dim=1)
        logit = 10.0 * (m - 0.5)
        return torch.stack([torch.zeros_like(logit), logit], dim=1)


def test_layout_agnostic_model_gets_channels_last(tmp_path):
    model = load_model(write_model(tmp_path / 'b.pt', BrightnessModel()), device='cpu')
    assert model.runner.channels_last is True


def test_model_that_needs_contiguous_input_still_works(tmp_path):
    model = load_model(write_model(tmp_path / 'v.pt', ViewModel()), device='cpu')
    assert model.runner.channels_last is False
    pl = Pipeline(model, decision=DecisionConfig(max_frame_age=0.0, smoothing='none'))
    r = pl.process(make_image(np.full((48, 64, 3), 200, np.uint8), 'bgr8', stamp_ns=S), S)
    assert r.status == 'ok'
    assert r.success_probability == pytest.approx(flat_probability(200), abs=1e-5)


def frozen_model(tmp_path, module: nn.Module, name: str = 'f.pt'):
    """Write ``module`` scripted and frozen, as the exporter does."""
    frozen = torch.jit.freeze(torch.jit.script(module.eval()))
    return save_model(frozen, brightness_metadata(32), tmp_path / name)


def pipeline_probabilities(model) -> np.ndarray:
    pl = Pipeline(model, decision=DecisionConfig(max_frame_age=0.0, smoothing='none'))
    out = []
    for i in range(5):
        px = noise(48, 64, seed=i)
        r = pl.process(make_image(px, 'bgr8', stamp_ns=(i + 1) * S), (i + 1) * S)
        assert r.status == 'ok'
        out.append(r.probabilities)
    return np.array(out)


def test_frozen_cpu_model_is_fused_and_gives_unfused_outputs(tmp_path, recwarn):
    path = frozen_model(tmp_path, ConvBnNet())
    fused = load_model(path, device='cpu')
    plain = load_model(path, device='cpu', onednn_fusion=False)
    assert fused.runner.fused is True and plain.runner.fused is False
    np.testing.assert_allclose(
        pipeline_probabilities(fused), pipeline_probabilities(plain), rtol=0, atol=1e-5
    )
    batch = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    np.testing.assert_allclose(fused.predict(batch), plain.predict(batch), rtol=0, atol=1e-5)
    assert not [w for w in recwarn if 'oneDNN' in str(w.message)]


def test_unfrozen_model_is_never_fused(tmp_path, recwarn):
    # oneDNN Graph got BatchNorm-as-a-call graphs wrong (max abs diff 0.03 here).
    model = load_model(write_model(tmp_path / 'u.pt', ConvBnNet(), brightness_metadata(32)))
    assert model.runner.fused is False
    assert not [w for w in recwarn if 'oneDNN' in str(w.message)]


def test_graph_fusion_cannot_compile_falls_back_with_a_warning(tmp_path):
    path = frozen_model(tmp_path, ConstantModel([0.2, 0.8]))
    with pytest.warns(UserWarning, match='fused run failed .*; serving without oneDNN fusion'):
        model = load_model(path, device='cpu')
    assert model.runner.fused is False
    p_success = 1.0 / (1.0 + math.exp(0.2 - 0.8))  # softmax of the logits (0.2, 0.8)
    got = model.predict(torch.zeros(1, 3, 32, 32))[0]
    assert got == pytest.approx([1.0 - p_success, p_success], abs=1e-6)


def test_fused_outputs_that_differ_are_not_served(tmp_path, monkeypatch):
    monkeypatch.setattr(
        torchscript_backend, '_fusion_matches', lambda *a: 'fused outputs differ (x)'
    )
    path = frozen_model(tmp_path, ConvBnNet())
    with pytest.warns(UserWarning, match=r'fused outputs differ \(x\); serving without oneDNN'):
        model = load_model(path, device='cpu')
    assert model.runner.fused is False
    plain = load_model(path, device='cpu', onednn_fusion=False)
    np.testing.assert_allclose(
        pipeline_probabilities(model), pipeline_probabilities(plain), rtol=0, atol=1e-6
    )


def test_each_runner_builds_plans_under_its_own_fusion_setting(tmp_path):
    """The oneDNN switch is process-wide: a later model must not change an earlier one's plans."""
    path = frozen_model(tmp_path, ConvBnNet())
    fused = load_model(path, device='cpu')
    plain = load_model(path, device='cpu', onednn_fusion=False)
    x = torch.zeros(1, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    for model, state in ((fused, True), (plain, False), (fused, True)):
        model.forward(x)
        assert torch.jit.onednn_fusion_enabled() is state
    assert fused.runner.fused is True and plain.runner.fused is False
