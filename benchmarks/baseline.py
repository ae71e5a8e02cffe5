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
The original notebook's inference path, kept only as the benchmark baseline.

PIL decode -> torchvision ``Resize((224, 224))`` -> ``ToTensor`` -> the
``seed_cnn`` network in eager mode -> argmax. Raw ``bgr8`` frames become a PIL
image via ``Image.fromarray`` on the RGB array; JPEG frames via ``Image.open``
on the bytes. Weights are random: only the time matters here.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
from PIL import Image
import torch
from torchvision import transforms


def build_seed_cnn() -> torch.nn.Module:
    """Return the notebook architecture (random init, eval mode) from the training package."""
    from grasp_classifier_training.models import build_model, ModelConfig

    torch.manual_seed(0)
    return build_model(ModelConfig(name='seed_cnn', input_size=(224, 224))).eval()


class NotebookPipeline:
    """Decode -> resize -> to-tensor -> eager CNN -> argmax, timed per stage."""

    def __init__(self, model: torch.nn.Module | None = None) -> None:
        self.model = model if model is not None else build_seed_cnn()
        self.transform = transforms.Compose([transforms.Resize((224, 224)), transforms.ToTensor()])

    @staticmethod
    def decode(msg: Any) -> Image.Image:
        """Turn an Image (bgr8/rgb8) or CompressedImage message into an RGB PIL image."""
        if hasattr(msg, 'format'):
            img = Image.open(io.BytesIO(bytes(msg.data)))
            return img.convert('RGB')  # forces the decode
        pixels = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)
        rgb = pixels[..., ::-1] if msg.encoding == 'bgr8' else pixels
        return Image.fromarray(np.ascontiguousarray(rgb))

    def process(self, msg: Any) -> tuple[int, dict[str, float]]:
        """Classify one message; return the class index and stage timings in ms."""
        t0 = time.perf_counter_ns()
        img = self.decode(msg)
        t1 = time.perf_counter_ns()
        x = self.transform(img).unsqueeze(0)
        t2 = time.perf_counter_ns()
        with torch.no_grad():
            logits = self.model(x)
        t3 = time.perf_counter_ns()
        label = int(torch.argmax(logits, dim=1).item())
        t4 = time.perf_counter_ns()
        timings = {
            'decode': (t1 - t0) / 1e6,
            'preprocess': (t2 - t1) / 1e6,
            'inference': (t3 - t2) / 1e6,
            'decision': (t4 - t3) / 1e6,
            'total': (t4 - t0) / 1e6,
        }
        return label, timings
