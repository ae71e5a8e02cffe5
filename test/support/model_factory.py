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
Tiny TorchScript models with embedded metadata, written by tests.

``BrightnessModel`` gives probabilities known in closed form: the success logit
is ``gain * (mean of the normalised input - offset)`` and the failure logit 0,
so a flat grey frame of value v has success probability
``sigmoid(gain * ((v / 255 - mean) / std - offset))`` (with mean 0, std 1 this is
``sigmoid(gain * (v / 255 - offset))``). Tests use it for exact expectations.
"""

from __future__ import annotations

import math
from pathlib import Path

from grasp_classifier_ros.core.metadata import FAMILIARITY_FILE, FamiliarityRecord, ModelMetadata
from grasp_classifier_ros.core.model import save_model
import numpy as np
import torch
from torch import nn


class BrightnessModel(nn.Module):
    def __init__(self, gain: float = 10.0, offset: float = 0.5, num_classes: int = 2) -> None:
        super().__init__()
        self.gain = gain
        self.offset = offset
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.float().mean(dim=(1, 2, 3))
        logit = self.gain * (m - self.offset)
        cols = [torch.zeros_like(logit) for _ in range(self.num_classes - 1)] + [logit]
        return torch.stack(cols, dim=1)


class BottomBrightModel(nn.Module):
    """
    Success when the lower half of the input is brighter than the upper half.

    Orientation-sensitive, like a real grasp model (the fingers rise from the
    bottom): the logit is ``gain * (mean(lower half) - mean(upper half))``.
    """

    def __init__(self, gain: float = 10.0) -> None:
        super().__init__()
        self.gain = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.shape[2] // 2
        logit = self.gain * (x[:, :, h:].mean(dim=(1, 2, 3)) - x[:, :, :h].mean(dim=(1, 2, 3)))
        return torch.stack([torch.zeros_like(logit), logit], dim=1)


class ConstantModel(nn.Module):
    """Outputs the same row for every input (e.g. NaN to inject faults)."""

    def __init__(self, row: list[float]) -> None:
        super().__init__()
        self.register_buffer('row', torch.tensor(row, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.row.to(x.dtype).unsqueeze(0).expand(x.shape[0], -1) + 0.0 * x.sum()


class ConvBnNet(nn.Module):
    """A small conv-BN-ReLU net with non-trivial BN statistics (seeded), for fusion/export."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 2)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.5, 0.5)
            self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


class SlowModel(nn.Module):
    """
    BrightnessModel's scores after ``n`` 256x256 matrix products (~1 ms each).

    A slow warm-up (reloads, Ctrl-C during start-up) or slow frames (a frame in flight).
    """

    def __init__(self, n: int = 1000) -> None:
        super().__init__()
        self.n = n
        torch.manual_seed(0)
        self.register_buffer('w', torch.randn(256, 256) / 16.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.w
        for _ in range(self.n):
            y = torch.tanh(y @ self.w)
        logit = 10.0 * (x.float().mean(dim=(1, 2, 3)) - 0.5) + 0.0 * y.sum()
        return torch.stack([torch.zeros_like(logit), logit], dim=1)


def brightness_metadata(size: int = 32, **changes: object) -> ModelMetadata:
    meta = ModelMetadata(
        input_height=size,
        input_width=size,
        class_names=('failure', 'success'),
        success_index=1,
        color_order='rgb',
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        threshold=0.5,
        architecture='brightness_test',
        trained=False,
        provenance={'note': 'test model: success logit from mean brightness; untrained'},
    )
    return meta.with_updates(**changes) if changes else meta


def write_model(
    path: Path,
    module: nn.Module | None = None,
    meta: ModelMetadata | None = None,
) -> Path:
    """Script ``module`` (default BrightnessModel) and save it with ``meta``."""
    scripted = torch.jit.script(module if module is not None else BrightnessModel())
    return save_model(scripted, meta if meta is not None else brightness_metadata(), path)


def gripper_sessions(
    sessions: int = 12, frames: int = 8, size: int = 64, seed: int = 0
) -> list[list[np.ndarray]]:
    """Return rendered gripper-camera frames (``bag.synth``, RGB, upright) per session."""
    from grasp_classifier_ros.bag.synth import render_episode

    rng = np.random.default_rng(seed)
    return [render_episode(rng, i % 2 == 0, frames, size=size) for i in range(sessions)]


_RECORDS: dict[tuple[str, int, int], FamiliarityRecord] = {}


def familiarity_record(
    meta: ModelMetadata, sessions: int = 12, seed: int = 0
) -> FamiliarityRecord:
    """Return reference statistics of rendered gripper frames as ``meta``'s input (cached)."""
    key = (repr(meta), sessions, seed)
    if key not in _RECORDS:
        _RECORDS[key] = _fit_familiarity_record(meta, sessions, seed)
    return _RECORDS[key]


def _fit_familiarity_record(meta: ModelMetadata, sessions: int, seed: int) -> FamiliarityRecord:
    from grasp_classifier_ros.core.familiarity import fit_record_from_images
    from grasp_classifier_ros.core.preprocess import crop_resize

    rgb = meta.with_updates(color_order='rgb')
    runs = gripper_sessions(sessions, seed=seed)
    inputs = [crop_resize(f, 'rgb', rgb) for run in runs for f in run]
    groups = [f'session_{i}' for i, run in enumerate(runs) for _ in run]
    return fit_record_from_images(inputs, groups, details={'data': 'bag.synth renders'})


def write_familiar_model(path: Path, meta: ModelMetadata | None = None) -> Path:
    """Write a ``BrightnessModel`` carrying reference statistics of rendered gripper frames."""
    meta = meta if meta is not None else brightness_metadata()
    record = familiarity_record(meta)
    scripted = torch.jit.script(BrightnessModel())
    return save_model(scripted, meta, path, {FAMILIARITY_FILE: record.to_json().encode()})


def flat_probability(value: int, gain: float = 10.0, offset: float = 0.5, t: float = 1.0) -> float:
    """Success probability BrightnessModel gives a flat frame of grey ``value`` (mean 0, std 1)."""
    return 1.0 / (1.0 + math.exp(-gain * (value / 255.0 - offset) / t))
