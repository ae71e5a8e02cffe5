# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Model registry: every architecture maps ``(N, 3, H, W)`` floats to ``(N, 2)`` logits.

Build models with ``build_model(ModelConfig)``; the config is plain JSON-able
data so a checkpoint can rebuild its model without pickled objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

NUM_CLASSES = 2
# model.pretrained value meaning "no pretrained weights" (null means the architecture's default).
RANDOM_INIT = 'random'


@dataclass(frozen=True)
class ModelConfig:
    """JSON-able description of a model; ``input_size`` is ``(height, width)``."""

    name: str = 'grasp_net'
    input_size: tuple[int, int] = (128, 128)
    width: float = 1.0
    dropout: float = 0.1
    pretrained: str | None = None
    blocks: int = 0  # efficientnet_lite0: keep the first N of its 16 blocks (0 = all)
    freeze: int = 0  # efficientnet_lite0: freeze stem + first N blocks (-1 = whole backbone)
    padding: str = 'same'  # efficientnet_lite0: same (TensorFlow, as trained) | symmetric (faster)
    pool_grid: int = 1  # efficientnet_lite0: average-pool the last map to G x G cells (1: global)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d['input_size'] = list(self.input_size)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        d = dict(data)
        size = d.get('input_size', cls.input_size)
        if isinstance(size, int):
            size = (size, size)
        d['input_size'] = (int(size[0]), int(size[1]))
        return cls(**d)


def _conv_bn_relu(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SeedCNN(nn.Module):
    """
    The original notebook's network (224x224 input).

    Three Conv-BN-ReLU-Dropout2d(0.1) blocks 3->256 (5x5), 256->128 (3x3),
    128->64 (3x3) with 'same' padding, 2x2 max-pools after blocks 1 and 3, then a
    56x56 convolution to the two logits (a dense layer over the 56x56x64 map).
    """

    def __init__(self, dropout: float = 0.1) -> None:
        super().__init__()

        def block(cin: int, cout: int, k: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, k, padding=k // 2),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.Dropout2d(dropout),
            )

        self.features = nn.Sequential(
            block(3, 256, 5),
            nn.MaxPool2d(2),
            block(256, 128, 3),
            block(128, 64, 3),
            nn.MaxPool2d(2),
        )
        self.head = nn.Conv2d(64, NUM_CLASSES, 56)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.head(self.features(x)), 1)


class _SeparableBlock(nn.Module):
    """Depthwise 3x3 (optionally strided) then pointwise 1x1, each with BN + ReLU."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.dw = _conv_bn_relu(cin, cin, 3, stride=stride, groups=cin)
        self.pw = _conv_bn_relu(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class GraspNet(nn.Module):
    """
    Fast default: strided stem, four depthwise-separable stages, global pooling.

    Designed for <= 2 ms per frame at 128x128 on two CPU cores once frozen
    with TorchScript (BN folds into the convolutions). Five stride-2 stages
    shrink the input 32x; global average pooling makes any input size work.
    """

    STEM = 16
    # (output channels, stride) of the separable blocks
    BLOCKS = ((32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (160, 2))

    def __init__(self, width: float = 1.0, dropout: float = 0.1) -> None:
        super().__init__()

        def scaled(c: int) -> int:
            return max(8, int(round(c * width / 8)) * 8)

        cin = scaled(self.STEM)
        self.stem = _conv_bn_relu(3, cin, 3, stride=2)
        blocks = []
        for cout, stride in self.BLOCKS:
            blocks.append(_SeparableBlock(cin, scaled(cout), stride))
            cin = scaled(cout)
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stages(self.stem(x)))
        return self.fc(self.dropout(torch.flatten(x, 1)))


def _load_pretrained(model: nn.Module, path: str | None) -> None:
    """Load a local ImageNet state_dict (never downloads); skips the classifier shapes."""
    if not path or path == RANDOM_INIT:
        return
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"pretrained weights '{p}' do not exist")
    state = torch.load(p, map_location='cpu', weights_only=True)
    if isinstance(state, dict) and 'state_dict' in state:
        state = state['state_dict']
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        raise ValueError(f"pretrained weights '{p}' share no tensors with the model")
    model.load_state_dict(usable, strict=False)


def _mobilenet_v3_small(cfg: ModelConfig) -> nn.Module:
    from torchvision.models import mobilenet_v3_small

    model = mobilenet_v3_small(weights=None, width_mult=cfg.width, dropout=cfg.dropout)
    # torchvision's BN momentum 0.01 suits ImageNet-length runs; with ~20 steps an epoch the
    # running statistics barely move and eval mode collapses to a constant output.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    _load_pretrained(model, cfg.pretrained)
    last = model.classifier[-1]
    assert isinstance(last, nn.Linear)
    model.classifier[-1] = nn.Linear(last.in_features, NUM_CLASSES)
    return model


def _resnet18(cfg: ModelConfig) -> nn.Module:
    from torchvision.models import resnet18

    model = resnet18(weights=None)
    _load_pretrained(model, cfg.pretrained)
    model.fc = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(model.fc.in_features, NUM_CLASSES))
    return model


def _seed_cnn(cfg: ModelConfig) -> nn.Module:
    if cfg.input_size != (224, 224):
        raise ValueError(f'seed_cnn needs input_size 224x224, got {cfg.input_size}')
    return SeedCNN(cfg.dropout)


def _grasp_net(cfg: ModelConfig) -> nn.Module:
    return GraspNet(cfg.width, cfg.dropout)


def _efficientnet_lite0(cfg: ModelConfig) -> nn.Module:
    from .efficientnet import EfficientNetLite0, NUM_BLOCKS

    return EfficientNetLite0(
        blocks=cfg.blocks or NUM_BLOCKS,
        dropout=cfg.dropout,
        num_classes=NUM_CLASSES,
        pretrained=cfg.pretrained,
        freeze=cfg.freeze,
        input_size=cfg.input_size,
        padding=cfg.padding,
        pool_grid=cfg.pool_grid,
    )


MODELS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    'grasp_net': _grasp_net,
    'seed_cnn': _seed_cnn,
    'mobilenet_v3_small': _mobilenet_v3_small,
    'resnet18': _resnet18,
    'efficientnet_lite0': _efficientnet_lite0,
}

DEFAULT_INPUT_SIZE: dict[str, tuple[int, int]] = {
    'grasp_net': (128, 128),
    'seed_cnn': (224, 224),
    'mobilenet_v3_small': (128, 128),
    'resnet18': (128, 128),
    'efficientnet_lite0': (128, 128),
}


def normalisation(name: str) -> dict[str, tuple[float, float, float]]:
    """Input ``mean``/``std`` (0..1 pixels) the architecture's pretrained weights expect."""
    if name == 'efficientnet_lite0':
        from .efficientnet import MEAN, STD

        return {'mean': MEAN, 'std': STD}
    return {}  # the metadata defaults: ImageNet mean/std


def weights_provenance(cfg: ModelConfig) -> dict[str, str] | None:
    """Source, licence and sha256 of the pretrained weights ``cfg`` loads (None: random init)."""
    if cfg.pretrained == RANDOM_INIT:
        return None
    if cfg.name == 'efficientnet_lite0':
        from .efficientnet import weights_provenance as lite0

        return lite0(Path(cfg.pretrained) if cfg.pretrained else None)
    if cfg.pretrained:
        from .efficientnet import sha256_of

        return {
            'source': 'local file',
            'file': str(cfg.pretrained),
            'sha256': sha256_of(Path(cfg.pretrained)),
        }
    return None


def build_model(cfg: ModelConfig) -> nn.Module:
    """Build the registered model ``cfg.name``; raise ValueError for unknown names."""
    try:
        factory = MODELS[cfg.name]
    except KeyError:
        raise ValueError(f"unknown model '{cfg.name}'; choose one of {sorted(MODELS)}") from None
    lite0_only = cfg.blocks or cfg.freeze or cfg.padding != 'same' or cfg.pool_grid != 1
    if cfg.name != 'efficientnet_lite0' and lite0_only:
        raise ValueError(
            'model.blocks/freeze/padding/pool_grid apply to efficientnet_lite0 only, '
            f'not {cfg.name}'
        )
    return factory(cfg)
