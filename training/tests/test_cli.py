# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``grasp-train`` command line: help texts and one-line errors with non-zero exit."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys

import cv2
from grasp_classifier_training.cli import build_parser, main, SUBCOMMANDS
import numpy as np
import pytest
import torch

COMMANDS = (
    'inspect',
    'train',
    'cv',
    'adapt',
    'label',
    'extract',
    'evaluate',
    'export',
    'quantize',
    'familiarity',
    'tune',
    'augment',
    'synth',
)


def _write_images(folder: Path, n: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f'session{i}_{i:02d}.jpg'), img)


def _one_error_line(capsys: pytest.CaptureFixture[str], command: str) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f'grasp-train {command}: error: '), lines[0]
    return lines[0]


def test_every_subcommand_is_registered() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == 'command')
    assert tuple(sub.choices) == COMMANDS  # in this order in --help
    assert len(SUBCOMMANDS) == len(COMMANDS)


@pytest.mark.parametrize('command', COMMANDS)
def test_help_of_every_subcommand(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, '--help'])
    assert exc.value.code == 0
    assert f'usage: grasp-train {command}' in capsys.readouterr().out


def test_train_on_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / 'nope'
    assert main(['train', str(missing), '--out', str(tmp_path / 'run')]) == 2
    assert str(missing) in _one_error_line(capsys, 'train')


def test_train_with_an_empty_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / 'data'
    _write_images(data / 'grasped')
    (data / 'notgrasped').mkdir()
    assert main(['train', str(data), '--out', str(tmp_path / 'run')]) == 2
    assert 'notgrasped' in _one_error_line(capsys, 'train')


def test_train_on_a_single_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / 'data'
    _write_images(data / 'grasped')
    assert main(['train', str(data), '--out', str(tmp_path / 'run')]) == 2
    _one_error_line(capsys, 'train')


def test_train_with_an_unknown_config_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / 'c.yaml'
    cfg.write_text('optim:\n  lrr: 0.1\n')
    assert main(['train', str(tmp_path), '--config', str(cfg), '--out', str(tmp_path / 'r')]) == 2
    assert "unknown config key 'optim.lrr'" in _one_error_line(capsys, 'train')


def test_train_with_an_unknown_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ['train', str(tmp_path), '--set', 'model.name=nonet', '--out', str(tmp_path / 'r')]
    assert main(argv) == 2
    assert "unknown model 'nonet'" in _one_error_line(capsys, 'train')


def test_export_of_a_missing_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(['export', str(tmp_path / 'none.pt')]) == 2
    assert 'does not exist' in _one_error_line(capsys, 'export')


def test_export_of_a_foreign_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / 'weights.pt'
    torch.save({'w': torch.zeros(2)}, foreign)
    assert main(['export', str(foreign)]) == 2
    assert 'is not a grasp-train checkpoint' in _one_error_line(capsys, 'export')


def test_evaluate_with_a_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / 'data'
    _write_images(data / 'grasped')
    _write_images(data / 'notgrasped')
    argv = ['evaluate', str(tmp_path / 'm.pt'), str(data), '--out', str(tmp_path / 'e')]
    assert main(argv) == 2
    assert 'm.pt' in _one_error_line(capsys, 'evaluate')


def test_help_and_usage_errors_import_neither_torch_nor_lightning() -> None:
    # A fresh interpreter: this test process has imported torch already.
    code = (
        'import sys\n'
        'from grasp_classifier_training.cli import main\n'
        'for argv in (["--help"], ["trian"], []):\n'
        '    try:\n'
        '        main(argv)\n'
        '    except SystemExit:\n'
        '        pass\n'
        'print(sorted(m for m in ("torch", "lightning", "timm") if m in sys.modules))\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip().splitlines()[-1] == '[]'
    assert 'invalid choice' in out.stderr


def test_evaluate_with_a_json_that_is_not_a_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / 'data'
    _write_images(data / 'grasped')
    _write_images(data / 'notgrasped')
    not_a_split = tmp_path / 'metrics.json'
    not_a_split.write_text('{"accuracy": 0.8, "model": {"architecture": "grasp_net"}}')
    argv = ['evaluate', str(tmp_path / 'm.pt'), str(data), '--out', str(tmp_path / 'e')]
    assert main([*argv, '--split', str(not_a_split)]) == 2
    assert 'is not a split file' in _one_error_line(capsys, 'evaluate')


def test_export_of_an_already_exported_model(capsys: pytest.CaptureFixture[str]) -> None:
    shipped = Path(__file__).resolve().parents[2] / 'models' / 'grasp_classifier.pt'
    assert main(['export', str(shipped), '--out', '/nonexistent/never.pt']) == 2
    line = _one_error_line(capsys, 'export')
    assert 'is already an exported model' in line
    assert 'weights_only' not in line


def test_cv_refuses_a_fold_count_that_contradicts_the_folds_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folds = Path(__file__).resolve().parents[2] / 'models' / 'folds.json'
    argv = ['cv', str(tmp_path), '--out', str(tmp_path / 'o'), '--folds-file', str(folds)]
    assert main([*argv, '--folds', '3']) == 2
    assert 'contradicts --folds-file' in _one_error_line(capsys, 'cv')
