# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""int8 variants: cv --int8, export --int8, grasp-train quantize, the parity gate's refusals."""

from __future__ import annotations

import json
from pathlib import Path

from grasp_classifier_ros.core import int8_backend
from grasp_classifier_ros.core.metadata import INT8_RECORD_FILE, Int8Record, ModelMetadata
from grasp_classifier_ros.core.model import (
    file_sha256,
    load_model,
    read_extra,
    read_metadata,
    save_model,
)
from grasp_classifier_training import quantize
from grasp_classifier_training.checkpoint import load_checkpoint
from grasp_classifier_training.cli import main
from grasp_classifier_training.config import load_config
from grasp_classifier_training.cv import run_cv
from grasp_classifier_training.export import export_checkpoint
import pytest
import torch
from torch import nn
from toy_data import CLASSES, make_images, tiny_config

pytestmark = pytest.mark.skipif(
    not int8_backend.available(), reason='onnxruntime not installed (int8 variants)'
)


class Outlier(nn.Module):
    """
    The verdict hangs on a small channel beside a huge one: int8 fails parity.

    Activations share one scale per tensor, so channel 0 (1000 x the brightness) leaves
    channel 1 (blue minus red, what the verdict reads) no quantization steps.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)
        self.fc = nn.Linear(2, 2)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.zero_()
            self.conv.weight[0, :, 0, 0] = 1000.0
            self.conv.weight[1, :, 0, 0] = torch.tensor([-1.0, 0.0, 1.0])
            self.fc.weight.copy_(torch.tensor([[0.0, 10.0], [0.0, 0.0]]))
            self.fc.bias.copy_(torch.tensor([-2.0, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(self.conv(x), 1), 1)
        return self.fc(pooled)


class Conv(nn.Module):
    """A small conv net whose toy-data verdicts have clear margins (it passes parity)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv(x))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def exported(path: Path, module: nn.Module, config: dict | None = None) -> Path:
    meta = ModelMetadata(
        input_height=32,
        input_width=32,
        class_names=CLASSES,
        success_index=0,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        provenance={'config': config or {'recipe': 'test'}},
    )
    return save_model(torch.jit.freeze(torch.jit.script(module.eval())), meta, path)


@pytest.fixture(scope='module')
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_images(tmp_path_factory.mktemp('toy'), groups=4, per_group=5)


def one_error_line(capsys: pytest.CaptureFixture[str], command: str) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f'grasp-train {command}: error: ')
    return lines[0]


def test_quantize_adds_a_gated_variant_and_keeps_the_fp32_model(toy: Path, tmp_path: Path) -> None:
    model = exported(tmp_path / 'm.pt', Conv())
    out = tmp_path / 'm_int8.pt'
    assert (
        main(
            [
                'quantize',
                str(model),
                '--calibration',
                str(toy),
                '--skip-cv-gate',
                '--out',
                str(out),
            ]
        )
        == 0
    )
    record = Int8Record.from_json(read_extra(out, INT8_RECORD_FILE) or b'')
    assert record.cv is None and record.probe_images == 30  # 40 images: every 4th calibrates
    assert record.details['quantized_from']['sha256'] == file_sha256(model)
    assert read_metadata(out).provenance['int8']['top1_agreement'] == record.top1_agreement
    x = quantize.to_batch(quantize.synthetic_probe(read_metadata(out), 4), read_metadata(out))
    before = load_model(model, device='cpu').forward(x)
    assert torch.equal(load_model(out, device='cpu').forward(x), before)  # FP32 unchanged
    with pytest.warns(UserWarning, match='not cross-validated'):
        assert load_model(out, device='cpu', backend='auto').backend == 'onnxruntime-int8'
    report = tmp_path / 'eval'
    with pytest.warns(UserWarning, match='not cross-validated'):
        argv = ['evaluate', str(out), str(toy), '--out', str(report), '--no-progress']
        assert main([*argv, '--backend', 'onnxruntime-int8']) == 0
    assert json.loads((report / 'metrics.json').read_text())['backend'] == 'onnxruntime-int8'


def test_a_quantization_failing_probe_parity_is_refused_with_one_line(
    toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = exported(tmp_path / 'm.pt', Outlier())
    out = tmp_path / 'out.pt'
    argv = ['quantize', str(model), '--calibration', str(toy), '--skip-cv-gate', '--out', str(out)]
    assert main(argv) == 2
    line = one_error_line(capsys, 'quantize')
    assert 'int8 refused: int8 agrees with FP32 on' in line and '(gate: >= 99%)' in line
    assert not out.exists() and not list(tmp_path.glob('.*staging'))


def test_a_quantization_failing_the_out_of_fold_gate_is_refused_with_one_line(
    toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {'recipe': 'conv'}
    model = exported(tmp_path / 'm.pt', Conv(), config)
    entry = {
        'fp32_accuracy': 0.95,
        'int8_accuracy': 0.94,
        'fp32_failure_accuracy': 0.97,
        'int8_failure_accuracy': 0.97,
    }
    run = tmp_path / 'cv'
    run.mkdir()
    (run / 'cv.json').write_text(json.dumps({'config': config, 'int8': {'gate_entry': entry}}))
    out = tmp_path / 'out.pt'
    argv = ['quantize', str(model), '--calibration', str(toy), '--cv', str(run), '--out', str(out)]
    assert main(argv) == 2
    line = one_error_line(capsys, 'quantize')
    assert 'int8 out-of-fold accuracy 0.940 is 1.0 points below FP32 0.950' in line
    assert not out.exists()
    # A cv run of another recipe is not evidence for this model.
    (run / 'cv.json').write_text(json.dumps({'config': {'x': 1}, 'int8': {'gate_entry': entry}}))
    assert main(argv) == 2
    assert "recipe differs from the model's" in one_error_line(capsys, 'quantize')


def test_cv_int8_scores_each_fold_and_export_int8_reads_its_gate(tmp_path: Path) -> None:
    data = make_images(tmp_path / 'data', groups=3, per_group=4)
    run = tmp_path / 'cv'
    report = run_cv(
        [data], tiny_config(max_epochs=1), run, k=3, refit=True, int8=True, progress=False
    )
    section = report['int8']
    assert (run / 'oof_int8.csv').is_file()
    entry = section['gate_entry']
    assert entry['fp32_accuracy'] == pytest.approx(report['pooled']['accuracy'])
    assert 0.0 <= entry['oof_top1_agreement'] <= 1.0 and entry['folds'] == 3
    assert section['passed'] == (section['problem'] == '')
    ckpt = run / 'refit' / 'checkpoints' / 'best.pt'
    assert load_checkpoint(ckpt)['provenance']['int8_cv'] == entry
    out = tmp_path / 'model.pt'
    if section['passed']:
        export_checkpoint(ckpt, out, int8=[data], log=print)
        assert Int8Record.from_json(read_extra(out, INT8_RECORD_FILE) or b'').cv == entry
    else:  # 24 toy images: one flip is 4 points
        with pytest.raises(quantize.QuantizeError, match='int8 out-of-fold .* points below'):
            export_checkpoint(ckpt, out, int8=[data], log=print)
        assert not out.exists()
    export_checkpoint(ckpt, out, int8=[data], skip_cv_gate=True, log=print)
    assert Int8Record.from_json(read_extra(out, INT8_RECORD_FILE) or b'').cv is None
    assert read_metadata(out).provenance['int8']['cv'] is None


def test_export_int8_options_are_checked(
    toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = tmp_path / 'none.pt'
    assert main(['export', str(ckpt), '--calibration', str(toy)]) == 2
    assert '--calibration only apply with --int8' in one_error_line(capsys, 'export')
    assert main(['export', str(ckpt), '--every', '2']) == 2
    assert '--every only apply with --int8' in one_error_line(capsys, 'export')
    assert main(['export', str(ckpt), '--int8']) == 2
    assert '--int8 needs --calibration' in one_error_line(capsys, 'export')


def test_quantize_needs_a_gate_choice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(['quantize', 'm.pt', '--calibration', 'd', '--out', 'o.pt'])
    assert 'one of the arguments --cv --skip-cv-gate is required' in capsys.readouterr().err


def test_calibration_and_probe_images_never_overlap() -> None:
    calib, probe = quantize.split_calibration(10)
    assert calib.tolist() == [0, 4, 8] and set(probe) == set(range(10)) - {0, 4, 8}
    calib, probe = quantize.split_calibration(10_000)
    assert len(calib) == quantize.MAX_CALIBRATION and len(probe) == quantize.MAX_PROBE
    assert not set(calib) & set(probe)


def test_a_cv_recipe_matches_a_model_trained_before_new_settings_existed() -> None:
    model = {'seed': 0, 'distil': {'alpha': 0.7}}
    same = {'seed': 0, 'distil': {'alpha': 0.7, 'camera': 0.0}, 'adapt': load_config()['adapt']}
    assert quantize.recipe_differences(model, same) == []
    moved = {'seed': 1, 'distil': {'alpha': 0.7, 'camera': 1.0}}
    assert quantize.recipe_differences(model, moved) == ['distil.camera', 'seed']
