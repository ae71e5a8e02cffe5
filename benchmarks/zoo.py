# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Model zoo table: test accuracy vs CPU latency vs MFLOPs vs parameters.

``python benchmarks/zoo.py [--runs DIR ...]`` measures, for every registered
architecture at its configured input size, parameters, MFLOPs (one forward
pass under ``torch.utils.flop_counter.FlopCounterMode``; a multiply-add is
two FLOPs) and batch-1 CPU latency of the exported model as ``load_model``
serves it (frozen TorchScript, channels_last input; without and with oneDNN
fusion, and ONNX Runtime when installed). Accuracy columns come
from the trainer's run folders (``config.yaml`` + ``metrics.json``, test split
of the group-aware split); with several runs of one architecture the one with
the best *validation* accuracy is shown. Prints one Markdown table and writes
it to ``benchmarks/zoo.md``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
from pathlib import Path
import sys
import tempfile
import time
from typing import Any
import warnings

import machine
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
import yaml

from grasp_classifier_ros import onnx_backend
from grasp_classifier_ros.metadata import ModelMetadata
from grasp_classifier_ros.model import load_model, save_model

ARCHITECTURES = ('seed_cnn', 'grasp_net', 'mobilenet_v3_small', 'resnet18')
SLOW_TO_TRAIN = {'seed_cnn', 'resnet18'}
DEFAULT_RUNS = (Path('/work/runs'), Path(__file__).resolve().parent.parent / 'runs')
OUT = Path(__file__).resolve().parent / 'zoo.md'


@dataclass
class Run:
    """One finished training run folder."""

    path: Path
    name: str
    input_size: tuple[int, int]
    metrics: dict[str, Any]

    @property
    def val_accuracy(self) -> float:
        return float(self.metrics.get('val', {}).get('accuracy', float('-inf')))


def find_runs(roots: list[Path]) -> list[Run]:
    """Return every run folder under ``roots`` holding ``config.yaml`` and ``metrics.json``."""
    runs = []
    for root in roots:
        if not root.exists():
            continue
        for metrics in sorted(root.rglob('metrics.json')):
            cfg_file = metrics.parent / 'config.yaml'
            if not cfg_file.is_file():
                continue
            try:
                cfg = yaml.safe_load(cfg_file.read_text())
                data = json.loads(metrics.read_text())
                model = cfg['model']
                size = model.get('input_size', [0, 0])
                runs.append(
                    Run(metrics.parent, str(model['name']), (int(size[0]), int(size[1])), data)
                )
            except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
                print(f'skipping {metrics.parent}: {exc}', file=sys.stderr)
    return runs


def default_input_size(name: str) -> tuple[int, int]:
    """Input size the training package uses for ``name`` (the default config for its default)."""
    from grasp_classifier_training.config import load_config
    from grasp_classifier_training.models import DEFAULT_INPUT_SIZE

    cfg = load_config()['model']
    if cfg['name'] == name:
        return int(cfg['input_size'][0]), int(cfg['input_size'][1])
    return DEFAULT_INPUT_SIZE[name]


def build(name: str, size: tuple[int, int]) -> torch.nn.Module:
    from grasp_classifier_training.models import ModelConfig, build_model

    torch.manual_seed(0)
    return build_model(ModelConfig(name=name, input_size=size)).eval()


def mflops(model: torch.nn.Module, size: tuple[int, int]) -> float:
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, 3, *size))
    return counter.get_total_flops() / 1e6


def latency_ms(fn: Any, x: torch.Tensor, budget_s: float = 3.0) -> dict[str, float]:
    """Batch-1 latency p50/p99 in ms: warm up, then run for about ``budget_s`` (10..500 runs)."""
    with torch.inference_mode():
        for _ in range(5):
            fn(x)
        t0 = time.perf_counter()
        fn(x)
        one = max(time.perf_counter() - t0, 1e-6)
        runs = int(min(500, max(10, budget_s / one)))
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - t0)
    arr = np.asarray(times) * 1e3
    return {'p50': float(np.median(arr)), 'p99': float(np.percentile(arr, 99)), 'runs': runs}


def measure(name: str, size: tuple[int, int], budget_s: float) -> dict[str, Any]:
    """Parameters, MFLOPs and CPU latency of one architecture, loaded as the node loads it."""
    from grasp_classifier_training.export import to_torchscript

    model = build(name, size)
    meta = ModelMetadata(
        input_height=size[0],
        input_width=size[1],
        class_names=('failure', 'success'),
        success_index=1,
        architecture=name,
        trained=False,
    )
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix='grasp-zoo-') as tmp:
        warnings.simplefilter('ignore')
        path = save_model(to_torchscript(model, meta), meta, Path(tmp) / f'{name}.pt')
        x = torch.randn(1, 3, *size).contiguous(memory_format=torch.channels_last)
        row: dict[str, Any] = {
            'model': name,
            'input_size': list(size),
            'params': sum(p.numel() for p in model.parameters()),
            'mflops': mflops(model, size),
        }
        plain = load_model(path, device='cpu', onednn_fusion=False)
        row['torchscript_ms'] = latency_ms(plain.forward, x, budget_s)
        fused = load_model(path, device='cpu')
        row['fused'] = fused.onednn_fusion
        row['torchscript_fused_ms'] = latency_ms(fused.forward, x, budget_s)
        row['onnxruntime_ms'] = None
        if onnx_backend.available():
            ort = load_model(path, device='cpu', backend='onnxruntime')
            row['onnxruntime_ms'] = latency_ms(ort.forward, x, budget_s)
    return row


def accuracy_columns(name: str, runs: list[Run]) -> dict[str, Any]:
    mine = [r for r in runs if r.name == name]
    if not mine:
        why = 'n/a: no run found' + (' (slow to train on CPU)' if name in SLOW_TO_TRAIN else '')
        return {'run': None, 'note': why}
    best = max(mine, key=lambda r: r.val_accuracy)
    test = best.metrics.get('test', {})
    return {
        'run': str(best.path),
        'runs_found': len(mine),
        'input_size': list(best.input_size),
        'test_n': test.get('n'),
        'test_accuracy': test.get('accuracy'),
        'test_balanced_accuracy': test.get('balanced_accuracy'),
        'test_roc_auc': test.get('roc_auc'),
        'val_accuracy': best.metrics.get('val', {}).get('accuracy'),
    }


def _num(v: Any, fmt: str = '.3f') -> str:
    return '-' if v is None else format(v, fmt)


def table(rows: list[dict[str, Any]], threads: int) -> str:
    lines = [
        f'| model | input | params | MFLOPs | CPU ms p50/p99, TorchScript ({threads} thr) '
        '| + oneDNN fusion (node default) | ONNX Runtime | test acc | test balanced acc '
        '| test ROC AUC | test n | run |',
        '|' + '---|' * 12,
    ]
    for r in rows:
        acc = r['accuracy']
        ts = r['torchscript_ms']
        fz = r['torchscript_fused_ms']
        fz_cell = f'{fz["p50"]:.2f}/{fz["p99"]:.2f}' + ('' if r['fused'] else ' (not fused)')
        ort = r['onnxruntime_ms']
        ort_cell = f'{ort["p50"]:.2f}/{ort["p99"]:.2f}' if ort else 'not installed'
        if acc.get('run'):
            cells = (
                f'{_num(acc["test_accuracy"])} | {_num(acc["test_balanced_accuracy"])} '
                f'| {_num(acc["test_roc_auc"])} | {acc["test_n"]} | `{acc["run"]}` |'
            )
        else:
            cells = f'{acc["note"]} | - | - | - | - |'
        h, w = r['input_size']
        lines.append(
            f'| {r["model"]} | {h}x{w} | {r["params"] / 1e6:.2f} M | {r["mflops"]:.1f} '
            f'| {ts["p50"]:.2f}/{ts["p99"]:.2f} | {fz_cell} | {ort_cell} | {cells}'
        )
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        '--runs',
        type=Path,
        nargs='*',
        default=list(DEFAULT_RUNS),
        help='folders searched (recursively) for run folders with metrics.json',
    )
    p.add_argument('--threads', type=int, default=1, help='torch/ONNX Runtime threads')
    p.add_argument('--budget', type=float, default=3.0, help='seconds of timing per model')
    p.add_argument('--models', default=','.join(ARCHITECTURES), help='comma-separated names')
    p.add_argument('--out', type=Path, default=OUT, help='Markdown output')
    p.add_argument('--json', type=Path, help='also write the rows as JSON')
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    runs = find_runs(args.runs)
    rows = []
    for name in (m.strip() for m in args.models.split(',') if m.strip()):
        acc = accuracy_columns(name, runs)
        size = tuple(acc['input_size']) if acc.get('input_size') else default_input_size(name)
        print(f'measuring {name} at {size[0]}x{size[1]} ...', file=sys.stderr)
        row = measure(name, size, args.budget)  # type: ignore[arg-type]
        row['accuracy'] = acc
        rows.append(row)
    info = machine.describe()
    header = (
        f'Measured by `python benchmarks/zoo.py` on {info["cpu_model"]} '
        f'({info["usable_cores"]} cores, load {info["load_average_1_5_15"]}), '
        f'torch {info["torch"]}, batch 1, channels_last input, random weights for timing. '
        'Accuracy: test split of the group-aware split, from the run with the best '
        f'validation accuracy (searched: {", ".join(str(r) for r in args.runs)}).'
    )
    text = f'{header}\n\n{table(rows, args.threads)}\n'
    print(text)
    args.out.write_text(f'# Model zoo\n\n{text}')
    if args.json:
        args.json.write_text(
            json.dumps({'machine': info, 'rows': rows}, indent=2, default=str) + '\n'
        )
    print(f'wrote {args.out}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
