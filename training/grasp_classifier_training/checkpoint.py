# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Plain checkpoints: a state_dict plus JSON-able settings, loadable with ``weights_only=True``.

Lightning's own checkpoints pickle arbitrary objects; these hold only tensors,
strings, numbers, lists and dicts, so loading one never runs untrusted code.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any
import zipfile

from grasp_classifier_ros.core.metadata import CHECKPOINT_FILE, METADATA_FILE, ModelMetadata
import torch
from torch import nn

from .models import build_model, ModelConfig, RANDOM_INIT

FORMAT = 'grasp_classifier_training/checkpoint-1'


class CheckpointError(ValueError):
    """A checkpoint file is missing or not one this package wrote."""


def save_checkpoint(
    path: Path,
    model: nn.Module,
    model_cfg: ModelConfig,
    meta: ModelMetadata,
    *,
    epoch: int,
    metrics: dict[str, float],
    provenance: dict[str, Any],
) -> Path:
    """Write ``model``'s weights and everything export needs, atomically."""
    payload = {
        'format': FORMAT,
        'state_dict': {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        'model': model_cfg.to_dict(),
        'metadata': meta.to_dict(),
        'epoch': int(epoch),
        'metrics': {k: float(v) for k, v in metrics.items()},
        'provenance': provenance,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def _is_exported_model(path: Path) -> bool:
    """Tell whether ``path`` is a TorchScript archive with the runtime's embedded metadata."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith('/extra/' + METADATA_FILE) for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; raise CheckpointError if it is not ours."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint '{p}' does not exist")
    if _is_exported_model(p):
        raise CheckpointError(
            f"'{p}' is already an exported model (TorchScript with metadata); pass the "
            'grasp-train checkpoint it came from (RUN/checkpoints/best.pt)'
        )
    try:
        data = torch.load(p, map_location='cpu', weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or corrupt files
        raise CheckpointError(
            f"checkpoint '{p}' cannot be loaded safely ({type(exc).__name__}: "
            f'{str(exc).splitlines()[0] if str(exc) else ""})'
        ) from exc
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise CheckpointError(f"'{p}' is not a grasp-train checkpoint (format {FORMAT})")
    return data


def load_embedded(model_path: str | Path) -> dict[str, Any]:
    """
    Load the checkpoint an exported model carries (``CHECKPOINT_FILE``), weights only.

    CheckpointError naming the fix when the file carries none (exported before
    ``grasp-train adapt`` existed, or not by ``grasp-train``).
    """
    from grasp_classifier_ros.core.model import read_extra

    p = Path(model_path)
    raw = read_extra(p, CHECKPOINT_FILE)
    if raw is None:
        raise CheckpointError(
            f"'{p}' carries no trainable weights ({CHECKPOINT_FILE}): re-export its checkpoint "
            "with 'grasp-train export', or start from models/grasp_classifier.pt"
        )
    try:
        data = torch.load(io.BytesIO(raw), map_location='cpu', weights_only=True)
    except Exception as exc:  # a corrupt or foreign payload
        raise CheckpointError(f"'{p}': its {CHECKPOINT_FILE} cannot be loaded safely") from exc
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise CheckpointError(f"'{p}': its {CHECKPOINT_FILE} is not a grasp-train checkpoint")
    return data


def restore(data: dict[str, Any]) -> tuple[nn.Module, ModelConfig, ModelMetadata]:
    """Rebuild the eval-mode model, its config and metadata from loaded checkpoint data."""
    cfg = ModelConfig.from_dict(data['model'])
    cfg = ModelConfig(**{**cfg.to_dict(), 'input_size': cfg.input_size, 'pretrained': RANDOM_INIT})
    model = build_model(cfg)
    model.load_state_dict(data['state_dict'])
    model.eval()
    return model, cfg, ModelMetadata.from_dict(data['metadata'])
