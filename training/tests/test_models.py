# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Model registry: output shapes, the seed network's layout, errors, pretrained loading."""

from __future__ import annotations

from pathlib import Path

from grasp_classifier_training.models import (
    build_model,
    DEFAULT_INPUT_SIZE,
    ModelConfig,
    MODELS,
    SeedCNN,
)
import pytest
import torch
from torch import nn


@pytest.mark.parametrize('name', sorted(MODELS))
def test_every_model_outputs_two_logits(name: str) -> None:
    size = DEFAULT_INPUT_SIZE[name]
    model = build_model(ModelConfig(name=name, input_size=size)).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 3, *size))
    assert out.shape == (2, 2)
    assert out.dtype == torch.float32


def test_seed_cnn_matches_the_notebook_layout() -> None:
    model = build_model(ModelConfig(name='seed_cnn', input_size=(224, 224)))
    assert isinstance(model, SeedCNN)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (3, 256, (5, 5)),
        (256, 128, (3, 3)),
        (128, 64, (3, 3)),
        (64, 2, (56, 56)),
    ]
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 2
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout2d)] == [0.1, 0.1, 0.1]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 3
    with torch.no_grad():
        assert model.eval()(torch.zeros(1, 3, 224, 224)).shape == (1, 2)


def test_seed_cnn_rejects_other_input_sizes() -> None:
    with pytest.raises(ValueError, match='224x224'):
        build_model(ModelConfig(name='seed_cnn', input_size=(96, 96)))


def test_unknown_model_name_lists_choices() -> None:
    with pytest.raises(ValueError, match="unknown model 'nope'.*grasp_net"):
        build_model(ModelConfig(name='nope'))


def test_grasp_net_width_scales_channels_and_any_size_works() -> None:
    small = build_model(ModelConfig(name='grasp_net', width=0.5))
    big = build_model(ModelConfig(name='grasp_net', width=1.0))
    n_small = sum(p.numel() for p in small.parameters())
    n_big = sum(p.numel() for p in big.parameters())
    assert n_small < n_big
    with torch.no_grad():
        assert small.eval()(torch.zeros(1, 3, 80, 64)).shape == (1, 2)


def test_grasp_net_freezes_to_torchscript_with_same_outputs() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(name='grasp_net', input_size=(64, 64))).eval()
    x = torch.randn(3, 3, 64, 64)
    frozen = torch.jit.freeze(torch.jit.script(model))
    with torch.no_grad():
        assert torch.allclose(model(x), frozen(x), atol=1e-5)
    # BatchNorm is folded into the convolutions by freezing.
    assert 'batch_norm' not in str(frozen.graph)


def test_model_config_round_trips_through_json_types() -> None:
    cfg = ModelConfig(name='resnet18', input_size=(96, 128), width=0.75, dropout=0.2)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert ModelConfig.from_dict({'name': 'grasp_net', 'input_size': 72}).input_size == (72, 72)


def test_pretrained_weights_load_from_a_local_file_only(tmp_path: Path) -> None:
    from torchvision.models import resnet18

    torch.manual_seed(1)
    reference = resnet18(weights=None)
    path = tmp_path / 'r18.pt'
    torch.save(reference.state_dict(), path)
    model = build_model(ModelConfig(name='resnet18', pretrained=str(path)))
    assert torch.equal(model.conv1.weight, reference.conv1.weight)
    with pytest.raises(FileNotFoundError, match='do not exist'):
        build_model(ModelConfig(name='resnet18', pretrained=str(tmp_path / 'missing.pt')))


def test_mobilenet_batchnorm_momentum_suits_short_runs() -> None:
    from grasp_classifier_training.models import build_model, ModelConfig
    from torch import nn

    model = build_model(ModelConfig(name='mobilenet_v3_small', input_size=(128, 128)))
    momenta = {m.momentum for m in model.modules() if isinstance(m, nn.BatchNorm2d)}
    assert momenta == {0.1}
