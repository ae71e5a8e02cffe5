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
Turn decoded pixels into the model's input tensor: mount, ROI crop, resize, normalise.

Training, evaluation and the node all go through ``crop_resize`` and
``Preprocessor`` so there is no train/serve skew in orientation, resizing or
normalisation.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from .image_codec import DecodedImage
from .metadata import ColorOrder, ModelMetadata
from .mount import Mount, raw_slices, UPRIGHT
from .roi import FULL_FRAME, Roi, validate_roi

# area_resize halves while the result stays at least this many times the target. 1 lets a
# 640x480 frame reach a 128x128 input via 320x240 (0.22 ms instead of 0.48 ms for one
# fractional INTER_AREA on this CPU); the result is the same box average up to edge weights.
HALVING_GAP = 1


def area_resize(region: np.ndarray, height: int, width: int) -> np.ndarray:
    """
    Shrink uint8 pixels to ``height`` x ``width`` by area averaging.

    While the region is even-sized and at least ``HALVING_GAP`` times the
    target after halving, it is first halved by exact 2x2 box means (OpenCV's
    fast integer ``INTER_AREA``); the rest is one ``INTER_AREA``. A direct
    fractional ``INTER_AREA`` from camera size costs ~4x more and gives the
    same box average up to window-edge weights. Inputs smaller than
    ``2 * HALVING_GAP`` times the target take the direct path unchanged.
    """
    h, w = region.shape[:2]
    while (
        h % 2 == 0
        and w % 2 == 0
        and h // 2 >= HALVING_GAP * height
        and w // 2 >= HALVING_GAP * width
    ):
        h, w = h // 2, w // 2
        region = cv2.resize(region, (w, h), interpolation=cv2.INTER_AREA)
    return cv2.resize(region, (width, height), interpolation=cv2.INTER_AREA)


def orient(pixels: np.ndarray, mount: Mount) -> np.ndarray:
    """Return ``pixels`` turned clockwise and mirrored as ``mount`` says (a view, no copy)."""
    out = np.rot90(pixels, -mount.turns) if mount.turns else pixels
    return out[:, ::-1] if mount.flip else out


def crop_resize(
    pixels: np.ndarray,
    order: ColorOrder,
    meta: ModelMetadata,
    roi: Roi = FULL_FRAME,
    mount: Mount = UPRIGHT,
) -> np.ndarray:
    """
    Orient the camera image by ``mount``, crop ``roi``, resize to the model input, reorder.

    Works on uint8 before any float conversion (cheap); shrinks with
    ``area_resize``, enlarges bilinearly. The ROI is cropped and resized in the
    camera's own orientation and only the model-sized result is turned, which
    equals turning the whole frame first up to resampling rounding. Returns a
    contiguous ``(H, W, 3)`` uint8 array in ``meta.color_order``.
    """
    ys, xs = raw_slices(pixels.shape[0], pixels.shape[1], roi, mount)
    region = pixels[ys, xs]
    h, w = mount.oriented_size(*meta.input_size)  # the model input, in camera orientation
    if region.shape[0] != h or region.shape[1] != w:
        if region.shape[0] >= h and region.shape[1] >= w:
            region = area_resize(region, h, w)
        else:
            region = cv2.resize(region, (w, h), interpolation=cv2.INTER_LINEAR)
    if not mount.identity:
        region = orient(region, mount)
    if order == meta.color_order:
        return np.ascontiguousarray(region)
    # The same swap as to_color_order's reversed view, ~15x faster than copying that view.
    return cv2.cvtColor(np.ascontiguousarray(region), cv2.COLOR_BGR2RGB)


class Preprocessor:
    """
    Reusable ROI/resize/normalise stage producing ``(1, 3, H, W)`` tensors.

    The returned tensor is a preallocated ``channels_last`` buffer (the pixels'
    own HWC order, so normalising is one contiguous pass and convolutions skip a
    layout change) that the next call overwrites; run inference on it before
    preprocessing the next frame.
    """

    def __init__(
        self,
        meta: ModelMetadata,
        device: torch.device | str = 'cpu',
        dtype: torch.dtype = torch.float32,
        roi: Roi = FULL_FRAME,
        mount: Mount = UPRIGHT,
    ) -> None:
        self.meta = meta
        self.device = torch.device(device)
        self.dtype = dtype
        self.roi = validate_roi(roi)
        self.mount = mount
        h, w = meta.input_size
        # x_norm = x_uint8 * scale + bias  ==  (x / 255 - mean) / std
        std = np.asarray(meta.std, dtype=np.float32)
        mean = np.asarray(meta.mean, dtype=np.float32)
        self._scale = torch.from_numpy(1.0 / (255.0 * std)).view(1, 3, 1, 1).to(self.device)
        self._bias = torch.from_numpy(-mean / std).view(1, 3, 1, 1).to(self.device)
        self._u8 = torch.empty((1, h, w, 3), dtype=torch.uint8)
        if self.device.type == 'cuda':
            self._u8 = self._u8.pin_memory()
        self._out = torch.empty((1, 3, h, w), dtype=torch.float32, device=self.device).contiguous(
            memory_format=torch.channels_last
        )
        self._u8_np = self._u8[0].numpy()

    def decode_min_size(self) -> tuple[int, int]:
        """
        Smallest full-frame size (h, w) keeping the ROI at least model-input sized.

        Lets the JPEG decoder pick a reduced decode scale safely.
        """
        h, w = self.meta.input_size
        _, _, rw, rh = self.roi
        return self.mount.oriented_size(math.ceil(h / rh), math.ceil(w / rw))

    def resize(self, img: DecodedImage) -> np.ndarray:
        """Orient, crop, resize and reorder a decoded frame to ``(H, W, 3)`` uint8."""
        return crop_resize(img.pixels, img.order, self.meta, self.roi, self.mount)

    def to_tensor(self, small: np.ndarray) -> torch.Tensor:
        """Normalise an ``(H, W, 3)`` uint8 input-sized image into the model tensor."""
        # numpy assignment into the tensor's buffer: no allocation, and read-only inputs
        # (zero-copy views of msg.data) are fine, unlike torch.from_numpy.
        self._u8_np[...] = small
        src = self._u8.to(self.device, non_blocking=True).permute(0, 3, 1, 2)
        torch.addcmul(self._bias, src, self._scale, out=self._out)
        return self._out if self.dtype == torch.float32 else self._out.to(self.dtype)

    def __call__(self, img: DecodedImage) -> torch.Tensor:
        return self.to_tensor(self.resize(img))


def normalize_batch(images: torch.Tensor, meta: ModelMetadata) -> torch.Tensor:
    """Normalise a uint8 ``(N, 3, H, W)`` batch exactly as ``Preprocessor`` does (for training)."""
    std = torch.tensor(meta.std, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
    mean = torch.tensor(meta.mean, dtype=torch.float32, device=images.device).view(1, 3, 1, 1)
    scale = 1.0 / (255.0 * std)
    bias = -mean / std
    return torch.addcmul(bias, images.float(), scale)
