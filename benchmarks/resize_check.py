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
Check that the box-halving resize changes no verdict on camera-size frames.

``python benchmarks/resize_check.py --model M.pt [--images DIR]`` upscales every
image of a class-per-folder set (default: ../shared's grasp_verification_small,
read at run time only) to a camera frame (default 640x480), then classifies it
through ``Preprocessor`` twice: with ``area_resize``'s box halving (shipped) and
with one direct fractional ``INTER_AREA`` (before). Reports accuracy of both,
how many verdicts differ and the largest change in success probability.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

import cv2
from grasp_classifier_ros.core import preprocess
from grasp_classifier_ros.core.image_codec import DecodedImage
from grasp_classifier_ros.core.model import load_model
import numpy as np
import torch

DEFAULT_IMAGES = Path(__file__).resolve().parents[2] / 'shared/data/grasp_verification_small'
SUFFIXES = {'.jpg', '.jpeg', '.png', '.bmp'}


def labelled_images(root: Path, success_folder: str) -> list[tuple[Path, bool]]:
    """Return ``(path, is_success)`` for images in the class folders under ``root``."""
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() in SUFFIXES:
                out.append((f, folder.name == success_folder))
    return out


def success_probability(model, pre, bgr: np.ndarray, direct: bool) -> float:
    gap = preprocess.HALVING_GAP
    preprocess.HALVING_GAP = 1 << 30 if direct else gap
    try:
        x = pre(DecodedImage(bgr, 'bgr'))
        return float(model.classify(x).success[0])
    finally:
        preprocess.HALVING_GAP = gap


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', type=Path, required=True, help='exported model .pt')
    p.add_argument('--images', type=Path, default=DEFAULT_IMAGES, help='class-per-folder images')
    p.add_argument('--success-folder', default='grasped', help='folder holding success images')
    p.add_argument('--frame', default='640x480', help='camera frame size WxH')
    args = p.parse_args(argv)
    if not args.images.is_dir():
        print(f'{args.images} not found: nothing to check', file=sys.stderr)
        return 2
    w, h = (int(v) for v in args.frame.lower().split('x'))
    torch.set_num_threads(1)
    model = load_model(args.model, device='cpu')
    pre = preprocess.Preprocessor(model.metadata)
    thr = model.metadata.threshold
    rows = []
    for path, is_success in labelled_images(args.images, args.success_folder):
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            continue
        frame = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        rows.append(
            (
                is_success,
                success_probability(model, pre, frame, direct=False),
                success_probability(model, pre, frame, direct=True),
            )
        )
    y = np.array([r[0] for r in rows])
    halved = np.array([r[1] for r in rows])
    direct = np.array([r[2] for r in rows])
    diff = np.abs(halved - direct)
    flips = int(((halved >= thr) != (direct >= thr)).sum())
    print(
        f'model {model.model_id} (trained={model.metadata.trained}), {len(rows)} images as {w}x{h}'
    )
    print(f'accuracy, box halving (shipped): {np.mean((halved >= thr) == y):.4f}')
    print(f'accuracy, direct INTER_AREA:     {np.mean((direct >= thr) == y):.4f}')
    print(f'verdicts that differ: {flips} of {len(rows)} (threshold {thr:.3f})')
    print(
        f'|p_success change|: mean {diff.mean():.5f}, p99 {np.percentile(diff, 99):.5f}, '
        f'max {diff.max():.5f}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
