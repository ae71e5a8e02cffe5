# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Tiny end-to-end runs: train -> run folder -> export -> load_model -> evaluate."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from grasp_classifier_ros.core.image_codec import DecodedImage
from grasp_classifier_ros.core.model import load_model, read_metadata
from grasp_classifier_ros.core.preprocess import Preprocessor
from grasp_classifier_training import export as export_mod
from grasp_classifier_training.checkpoint import CheckpointError, load_checkpoint, restore
from grasp_classifier_training.config import load_config
from grasp_classifier_training.data import load_image
from grasp_classifier_training.evaluate import evaluate
from grasp_classifier_training.export import export_checkpoint, ExportError
from grasp_classifier_training.train import train
import numpy as np
import pytest
import torch
from toy_data import CLASSES, make_images, tiny_config


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_images(tmp_path_factory.mktemp('data'))


@pytest.fixture(scope='module')
def run_dir(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp('run')
    train([data_dir], tiny_config(), out, command='test-train', progress=False)
    return out


@pytest.fixture(scope='module')
def exported(run_dir: Path) -> Path:
    out = run_dir / 'model.pt'
    export_checkpoint(run_dir / 'checkpoints' / 'best.pt', out, command='test-export', log=print)
    return out


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_run_folder_records_everything(run_dir: Path, data_dir: Path) -> None:
    for name in ('config.yaml', 'split.json', 'run.json', 'metrics.csv', 'metrics.json'):
        assert (run_dir / name).is_file(), name
    assert (run_dir / 'curves.png').stat().st_size > 1000
    ckpts = sorted(p.name for p in (run_dir / 'checkpoints').iterdir())
    assert ckpts == ['best.pt', 'epoch_001.pt', 'epoch_002.pt', 'last.pt']
    info = json.loads((run_dir / 'run.json').read_text())
    assert info['command'] == 'test-train'
    assert info['data'][0]['path'] == str(data_dir.resolve())
    assert len(info['data'][0]['manifest_sha256']) == 64
    assert info['versions']['torch'] == torch.__version__.split('+')[0]
    assert set(info['git']) == {'commit', 'dirty'}
    assert sum(info['split'][s]['total'] for s in ('train', 'val', 'test')) == 40
    rows = _csv_rows(run_dir / 'metrics.csv')
    assert [r['epoch'] for r in rows] == ['1', '2']
    for key in ('train_loss', 'val_loss', 'val_acc_grasped', 'val_acc_notgrasped', 'test_acc'):
        assert all(r[key] != '' for r in rows), key
    final = json.loads((run_dir / 'metrics.json').read_text())
    assert final['epochs_run'] == 2
    assert final['best_epoch'] in (1, 2)
    for key in ('accuracy', 'per_class_accuracy', 'precision', 'recall', 'f1', 'ece'):
        assert key in final['test'], key


def test_test_metrics_follow_test_every(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / 'run'
    train([data_dir], tiny_config(max_epochs=3, test_every=2), out, progress=False)
    rows = _csv_rows(out / 'metrics.csv')
    assert [r['test_loss'] != '' for r in rows] == [False, True, False]


def test_same_command_and_seed_reproduce_the_metrics(
    run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    again = tmp_path / 'again'
    train([data_dir], tiny_config(), again, command='test-train', progress=False)
    assert (again / 'metrics.csv').read_text() == (run_dir / 'metrics.csv').read_text()
    assert (again / 'metrics.json').read_text() == (run_dir / 'metrics.json').read_text()
    assert (again / 'split.json').read_text() == (run_dir / 'split.json').read_text()


def test_checkpoints_are_plain_and_load_with_weights_only(run_dir: Path, tmp_path: Path) -> None:
    data = load_checkpoint(run_dir / 'checkpoints' / 'best.pt')
    model, cfg, meta = restore(data)
    assert cfg.input_size == (32, 32)
    calibration = json.loads((run_dir / 'metrics.json').read_text())['calibration']
    assert meta.temperature == pytest.approx(calibration['temperature'])
    assert meta.threshold == pytest.approx(calibration['threshold'])

    # Any pickled object outside torch's allow-list (as in Lightning checkpoints) is refused.
    evil = tmp_path / 'pickled.pt'
    torch.save({'format': 'x', 'obj': argparse.Namespace(a=1)}, evil)
    with pytest.raises(CheckpointError, match='cannot be loaded safely'):
        load_checkpoint(evil)


def test_exported_model_gives_the_eager_calibrated_probabilities(
    exported: Path, run_dir: Path, data_dir: Path
) -> None:
    model, _, meta = restore(load_checkpoint(run_dir / 'checkpoints' / 'best.pt'))
    loaded = load_model(exported, device='cpu', fp16=False)
    pre = Preprocessor(loaded.metadata)
    for path in sorted(data_dir.glob('*/*.jpg'))[::7]:
        x = pre(DecodedImage(load_image(path), 'rgb'))
        with torch.no_grad():
            eager = torch.softmax(model(x).double() / meta.temperature, dim=1).numpy()
        np.testing.assert_allclose(loaded.predict(x), eager, atol=1e-5)


def test_metadata_round_trips_with_provenance(exported: Path, run_dir: Path) -> None:
    meta = read_metadata(exported)
    ckpt_meta = restore(load_checkpoint(run_dir / 'checkpoints' / 'best.pt'))[2]
    assert meta.with_updates(provenance={}) == ckpt_meta.with_updates(provenance={})
    assert meta.class_names == CLASSES
    assert meta.success_class == 'grasped'
    assert meta.input_size == (32, 32)
    assert meta.architecture == 'grasp_net'
    prov = meta.provenance
    assert prov['train_command'] == 'test-train'
    assert prov['export']['command'] == 'test-export'
    assert prov['export']['max_abs_diff'] <= 1e-4
    assert prov['datasets'][0]['licence'] == 'no licence file in the dataset folder'
    assert set(prov['split']) == {'train', 'val', 'test'}
    assert 'accuracy' in prov['metrics']['test']
    assert prov['git']['commit']


def test_export_refuses_a_mismatching_module(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = export_mod.to_torchscript

    def off_by_one(model: torch.nn.Module, meta: Any) -> Any:
        scripted = real(model, meta)
        return lambda x: scripted(x) + 1e-3

    monkeypatch.setattr(export_mod, 'to_torchscript', off_by_one)
    out = tmp_path / 'bad.pt'
    with pytest.raises(ExportError, match='differ from eager'):
        export_checkpoint(run_dir / 'checkpoints' / 'best.pt', out, optimize='off', log=print)
    assert not out.exists()


def test_evaluate_scores_only_the_requested_split(
    exported: Path, run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    info = json.loads((run_dir / 'run.json').read_text())
    m = evaluate(
        exported,
        [data_dir],
        tmp_path / 'eval',
        split=run_dir / 'split.json',
        subset='test',
        progress=False,
    )
    assert m['n'] == info['split']['test']['total']
    written = json.loads((tmp_path / 'eval' / 'metrics.json').read_text())
    for key in ('accuracy', 'per_class_accuracy', 'precision', 'recall', 'f1', 'ece'):
        assert written[key] == m[key]
    assert written['latency_ms_p50'] > 0
    for png in ('confusion.png', 'reliability.png', 'misclassified.png'):
        assert (tmp_path / 'eval' / png).stat().st_size > 1000
    assert sum(map(sum, m['confusion_matrix'])) == m['n']


def test_compute_metrics_on_a_handmade_example() -> None:
    from grasp_classifier_ros.core.metadata import ModelMetadata
    from grasp_classifier_training.evaluate import compute_metrics

    meta = ModelMetadata(
        input_height=32, input_width=32, class_names=CLASSES, success_index=0, threshold=0.6
    )
    p = np.array([0.9, 0.6, 0.4, 0.2])
    m = compute_metrics(np.stack([p, 1 - p], axis=1), np.array([0, 1, 0, 1]), meta)
    # success called for p >= 0.6 (as the node decides): frames 0 and 1
    assert m['confusion_matrix'] == [[1, 1], [1, 1]]
    assert m['accuracy'] == 0.5
    assert m['per_class_accuracy'] == {'grasped': 0.5, 'notgrasped': 0.5}
    assert (m['precision'], m['recall'], m['f1']) == pytest.approx((0.5, 0.5, 0.5))
    assert m['roc_auc'] == pytest.approx(0.75)
    assert m['support'] == {'grasped': 2, 'notgrasped': 2}


def test_extra_data_joins_training_only(data_dir: Path, tmp_path: Path) -> None:
    extra = make_images(tmp_path / 'extra', groups=2, per_group=3)
    out = tmp_path / 'run'
    train([data_dir], tiny_config(max_epochs=1), out, extra_data=[extra], progress=False)
    split = json.loads((out / 'split.json').read_text())
    extra_root = str(extra.resolve())
    in_extra = {
        k: sum(d['path'].startswith(extra_root) for d in split[k])
        for k in split
        if k in ('train', 'val', 'test')
    }
    assert in_extra == {'train': 12, 'val': 0, 'test': 0}
    info = json.loads((out / 'run.json').read_text())
    assert [f['role'] for f in info['data']] == ['split', 'train only (--extra-data)']


def test_sampler_weights_balance_classes_within_source_shares() -> None:
    from grasp_classifier_training.lit_module import sample_weights

    labels = [0, 0, 0, 1, 0, 1, 1, 1]
    sources = [0, 0, 0, 0, 1, 1, 1, 1]
    w = sample_weights(labels, sources, {0: 0.75, 1: 0.25})
    mass = {
        (s, c): sum(wi for wi, li, si in zip(w, labels, sources) if (si, li) == (s, c))
        for s in (0, 1)
        for c in (0, 1)
    }
    total = sum(mass.values())
    assert {k: v / total for k, v in mass.items()} == pytest.approx(
        {(0, 0): 0.375, (0, 1): 0.375, (1, 0): 0.125, (1, 1): 0.125}
    )
    default = sample_weights(labels, sources)
    assert default[:3].sum() == pytest.approx(default[3])  # classes balanced in source 0


def test_tune_resumes_and_writes_a_train_config(data_dir: Path, tmp_path: Path) -> None:
    from grasp_classifier_training.tune import tune

    out = tmp_path / 'study'
    tune([data_dir], out, tiny_config(), trials=1, epochs=1)
    best = tune([data_dir], out, tiny_config(), trials=2, epochs=1)
    rows = _csv_rows(out / 'trials.csv')
    assert [r['state'] for r in rows] == ['COMPLETE', 'COMPLETE']
    assert rows[0]['lr'] != rows[1]['lr']  # the resumed session drew new parameters
    assert (out / 'optuna.db').is_file()
    assert load_config(out / 'best_config.yaml') == best


def test_export_familiarity_embeds_the_monitors_statistics(
    run_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    from grasp_classifier_ros.core.model import read_familiarity

    out = tmp_path / 'model.pt'
    export_checkpoint(run_dir / 'checkpoints' / 'best.pt', out, familiarity=[data_dir], log=print)
    record = read_familiarity(out)
    assert record is not None and (record.images, record.groups) == (40, 8)
    assert load_model(out, device='cpu').familiarity == record
    assert read_metadata(out).provenance['familiarity']['images'] == 40


def test_grasp_train_familiarity_adds_them_to_an_exported_model(
    exported: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grasp_classifier_ros.core.metadata import CHECKPOINT_FILE
    from grasp_classifier_ros.core.model import read_extra, read_familiarity
    from grasp_classifier_training.cli import main

    assert read_familiarity(exported) is None
    out = tmp_path / 'with_stats.pt'
    assert main(['familiarity', str(exported), '--data', str(data_dir), '--out', str(out)]) == 0
    assert 'familiarity: 40 frames of 8 sessions' in capsys.readouterr().out
    record = read_familiarity(out)
    assert record is not None and record.groups == 8
    # everything else is carried over: the module, the metadata, the checkpoint
    assert read_metadata(out).with_updates(provenance={}) == read_metadata(exported).with_updates(
        provenance={}
    )
    assert read_extra(out, CHECKPOINT_FILE) == read_extra(exported, CHECKPOINT_FILE)
    single = tmp_path / 'one_session'
    for cls in CLASSES:
        (single / cls).mkdir(parents=True)
        for i, f in enumerate(sorted((data_dir / cls).glob('*.jpg'))[:3]):
            (single / cls / f'only_{i:02d}.jpg').write_bytes(f.read_bytes())
    assert main(['familiarity', str(exported), '--data', str(single), '--out', str(out)]) == 2
    assert 'need at least 2 sessions' in capsys.readouterr().err
