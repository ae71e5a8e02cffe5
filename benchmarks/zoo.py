# Copyright 2026 The grasp_classifier_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
#
# SPDX-License-Identifier: Apache-2.0
"""
Model zoo table: cross-validated accuracy vs CPU latency vs MFLOPs vs parameters.

``python benchmarks/zoo.py [--runs DIR ...]`` reads every ``grasp-train cv`` report
folder under the given roots (``cv.json`` + ``config.yaml`` + ``run.json``): one
row per recipe (architecture, kept blocks, input size, method; the newest run of
each, or the shipped model's own run). For each row it measures parameters,
MFLOPs (one forward pass under ``FlopCounterMode``; a multiply-add is two FLOPs)
and batch-1 CPU latency of the architecture exported as ``load_model`` serves it
(frozen TorchScript, channels_last input, with oneDNN fusion as the node does,
and ONNX Runtime when installed; random weights: timing does not depend on
them). Accuracy columns are the cross-validation report's: mean ± sd over the
leave-sessions-out folds at the out-of-fold temperature and threshold, pooled
out-of-fold AUC and ECE. Prints one Markdown table and writes it to
``benchmarks/zoo.md`` (``--out`` elsewhere; ``make bench`` writes ``zoo.md``).
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

from grasp_classifier_ros.core import onnx_backend
from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.model import load_model, read_metadata, save_model
import machine
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = (ROOT.parent / 'runs', ROOT / 'runs')
SHIPPED = ROOT / 'models' / 'grasp_classifier.pt'
ACCURATE = ROOT / 'models' / 'grasp_classifier_accurate.pt'  # the default's teacher
OUT = Path(__file__).resolve().parent / 'zoo.md'


@dataclass
class CvRun:
    """One finished ``grasp-train cv`` report folder."""

    path: Path
    config: dict[str, Any]
    report: dict[str, Any]
    info: dict[str, Any]

    @property
    def key(self) -> tuple[Any, ...]:
        """Return what makes two runs the same recipe row."""
        m, t = self.config['model'], self.config['train']
        return (
            m['name'],
            int(m.get('blocks') or 0),
            tuple(m['input_size']),
            t.get('method', 'gradient'),
            int(m.get('freeze') or 0),
            int(t['max_epochs']) if t.get('method', 'gradient') != 'linear_probe' else 0,
            m.get('padding', 'same'),
            self.extra_images,
            int(m.get('pool_grid') or 1),
            self.teacher,
            float((self.config.get('calibration') or {}).get('target_precision', 0.95)),
        )

    @property
    def teacher(self) -> str:
        """Return the distillation teacher's config name (a path's stem); '' if not distilled."""
        if self.config['train'].get('method') != 'distil':
            return ''
        return Path(str((self.config.get('distil') or {}).get('teacher', '?'))).stem

    @property
    def extra_images(self) -> int:
        """Images of ``--extra-data`` folders (train only, e.g. synthetic frames)."""
        return sum(
            int(d.get('images') or 0)
            for d in self.info.get('data') or []
            if str(d.get('role', '')).startswith('train only')
        )

    @property
    def label(self) -> str:
        name, blocks, _, method, freeze, epochs, padding, extra, grid, teacher, target = self.key
        text = name + (f' first {blocks} blocks' if blocks else '')
        text += f', threshold for {target:g} precision' if target != 0.95 else ''
        text += f', {grid}x{grid} pooling grid' if grid != 1 else ''
        text += ', symmetric padding' if padding != 'same' else ''
        text += f', + {extra} extra training images' if extra else ''
        if method == 'linear_probe':
            return f'{text}, frozen, linear probe'
        if method == 'distil':
            return f'{text}, stem+{freeze} frozen, distilled from {teacher}, {epochs} epochs'
        tuned = 'full fine-tune' if freeze == 0 else f'stem+{freeze} blocks frozen'
        return (
            f'{text}, {tuned}, {epochs} epochs'
            if name.startswith('efficientnet')
            else (f'{text}, {epochs} epochs')
        )


def shipped_run(path: Path = SHIPPED) -> Path | None:
    """Return the cv run folder the shipped model was refitted in (from its provenance)."""
    if not path.is_file():
        return None
    command = (read_metadata(path).provenance or {}).get('train_command')
    if not isinstance(command, str):
        return None
    words = command.split()
    if '--out' not in words[:-1]:
        return None
    out = Path(words[words.index('--out') + 1])
    return (out if out.is_absolute() else ROOT / out).resolve()


def find_cv_runs(roots: list[Path]) -> list[CvRun]:
    """Every cv report folder under ``roots`` (newest first)."""
    runs = []
    for root in roots:
        if not root.exists():
            continue
        for report in root.rglob('cv.json'):
            folder = report.parent
            try:
                runs.append(
                    CvRun(
                        folder,
                        yaml.safe_load((folder / 'config.yaml').read_text()),
                        json.loads(report.read_text()),
                        json.loads((folder / 'run.json').read_text()),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
                print(f'skipping {folder}: {exc}', file=sys.stderr)
    return sorted(runs, key=lambda r: -(r.path / 'cv.json').stat().st_mtime)


def pick_rows(runs: list[CvRun], *shipped: Path | None) -> list[CvRun]:
    """One run per recipe: a shipped model's own run, else the newest."""
    chosen: dict[tuple[Any, ...], CvRun] = {}
    for run in runs:
        if run.key not in chosen or run.path.resolve() in shipped:
            chosen[run.key] = run
    return sorted(chosen.values(), key=lambda r: r.key)


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


def measure(model_cfg: dict[str, Any], budget_s: float) -> dict[str, Any]:
    """Parameters, MFLOPs and CPU latency of one architecture, loaded as the node loads it."""
    from grasp_classifier_training.export import to_torchscript
    from grasp_classifier_training.models import build_model, ModelConfig

    torch.manual_seed(0)
    cfg = ModelConfig.from_dict({**model_cfg, 'pretrained': 'random'})  # timing only
    model = build_model(cfg).eval()
    name, size = cfg.name, cfg.input_size
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
            'input_size': list(size),
            'params': sum(p.numel() for p in model.parameters()),
            'mflops': mflops(model, size),
        }
        plain = load_model(path, device='cpu', onednn_fusion=False)
        row['torchscript_ms'] = latency_ms(plain.forward, x, budget_s)
        fused = load_model(path, device='cpu')
        row['fused'] = fused.runner.label == 'torchscript+onednn-fusion'
        row['torchscript_fused_ms'] = latency_ms(fused.forward, x, budget_s)
        row['onnxruntime_ms'] = row['int8_ms'] = None
        if onnx_backend.available():
            ort = load_model(path, device='cpu', backend='onnxruntime')
            row['onnxruntime_ms'] = latency_ms(ort.forward, x, budget_s)
            row['int8_ms'] = int8_latency(fused.runner.module, meta, x, budget_s)
    return row


def int8_latency(
    module: Any, meta: ModelMetadata, x: torch.Tensor, budget_s: float
) -> dict[str, float]:
    """Latency of the architecture quantized as ``grasp-train quantize`` does (timing only)."""
    from grasp_classifier_ros.core.onnx_backend import INPUT, ort_session
    from grasp_classifier_training.quantize import quantize_module, synthetic_probe, to_batch

    # Random weights: calibrated on rendered frames, no parity gate; only the speed counts.
    int8 = quantize_module(module, meta, to_batch(synthetic_probe(meta, 16), meta))
    session = ort_session(int8, torch.get_num_threads())
    arr = x.contiguous().numpy()
    return latency_ms(lambda _: session.run(None, {INPUT: arr}), x, budget_s)


def _pm(summary: dict[str, Any], key: str) -> str:
    s = summary.get(key) or {}
    if s.get('mean') is None:
        return '-'
    return f'{s["mean"]:.3f} ± {s["sd"]:.3f}'


def _num(v: Any, fmt: str = '.3f') -> str:
    return '-' if v is None else format(v, fmt)


def int8_oof(gate: dict[str, Any] | None) -> str:
    """Return the int8 fold models' all-OOF accuracy and failure-class accuracy, or '-'."""
    if not gate:
        return '- (no cv --int8)'
    return (
        f'{gate["int8_accuracy"]:.3f} / {gate["int8_failure_accuracy"]:.3f} (FP32 '
        f'{gate["fp32_accuracy"]:.3f} / {gate["fp32_failure_accuracy"]:.3f}; same class '
        f'{gate["oof_top1_agreement"]:.1%})'
    )


def training_text(run: CvRun) -> str:
    """Per-fold training time and the refit's, on the machine and load it ran with."""
    times = run.report.get('fold_wall_time_s') or []
    text = f'{np.mean(times):.0f} s/fold' if times else '?'
    if run.report.get('refit_wall_time_s') is not None:
        text += f', refit {run.report["refit_wall_time_s"]:.0f} s'
    return text


def table(rows: list[dict[str, Any]], threads: int) -> str:
    lines = [
        f'| recipe | input | params | MFLOPs | CPU ms p50/p99, node default ({threads} thr) '
        '| ONNX Runtime | int8 (ONNX Runtime) | CV accuracy: folds / all OOF '
        '| CV failure-class acc: folds / all OOF | CV success precision '
        '| OOF AUC | OOF ECE | int8 all OOF: accuracy / failure-class acc | training | run |',
        '|' + '---|' * 15,
    ]
    for r in rows:
        fz = r['torchscript_fused_ms']
        fz_cell = f'{fz["p50"]:.2f}/{fz["p99"]:.2f}' + ('' if r['fused'] else ' (not fused)')
        ort, int8 = r['onnxruntime_ms'], r['int8_ms']
        ort_cell = f'{ort["p50"]:.2f}/{ort["p99"]:.2f}' if ort else 'not installed'
        int8_cell = f'{int8["p50"]:.2f}/{int8["p99"]:.2f}' if int8 else 'not installed'
        s, pooled = r['summary'], r['pooled']
        h, w = r['input_size']
        run = f'`{r["run"]}`' + (' (**shipped**, default)' if r['shipped'] else '')
        run += ' (**shipped**, accurate)' if r.get('shipped_accurate') else ''
        lines.append(
            f'| {r["recipe"]} | {h}x{w} | {r["params"] / 1e6:.2f} M | {r["mflops"]:.1f} '
            f'| {fz_cell} | {ort_cell} | {int8_cell} '
            f'| {_pm(s, "accuracy")} / {_num(pooled.get("accuracy"))} '
            f'| {_pm(s, "failure_accuracy")} / {_num(pooled.get("failure_accuracy"))} '
            f'| {_pm(s, "precision")} | {_num(pooled.get("roc_auc"))} | {_num(pooled.get("ece"))} '
            f'| {int8_oof(r.get("int8"))} | {r["training"]} | {run} |'
        )
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        '--runs',
        type=Path,
        nargs='*',
        default=list(DEFAULT_RUNS),
        help='folders searched (recursively) for grasp-train cv report folders',
    )
    p.add_argument('--threads', type=int, default=1, help='torch/ONNX Runtime threads')
    p.add_argument('--budget', type=float, default=3.0, help='seconds of timing per model')
    p.add_argument('--out', type=Path, default=OUT, help='Markdown output')
    p.add_argument('--json', type=Path, help='also write the rows as JSON')
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    shipped, accurate = shipped_run(), shipped_run(ACCURATE)
    runs = pick_rows(find_cv_runs(args.runs), shipped, accurate)
    if not runs:
        print(
            f'zoo: no grasp-train cv report under {[str(r) for r in args.runs]} '
            '(make model writes one): nothing to tabulate',
            file=sys.stderr,
        )
        return 0
    rows = []
    for run in runs:
        print(f'measuring {run.label} ({run.path}) ...', file=sys.stderr)
        row = measure(run.config['model'], args.budget)
        row.update(
            {
                'recipe': run.label,
                'run': str(run.path),
                'shipped': run.path.resolve() == shipped,
                'shipped_accurate': run.path.resolve() == accurate,
                'k': run.report['k'],
                'n': run.report['n'],
                'summary': run.report['summary'],
                'pooled': {
                    k: run.report['pooled'].get(k)
                    for k in ('accuracy', 'failure_accuracy', 'roc_auc', 'ece')
                },
                'calibration': {
                    k: run.report['calibration'][k] for k in ('temperature', 'threshold')
                },
                'training': training_text(run),
                'int8': (run.report.get('int8') or {}).get('gate_entry'),
                'training_load': run.info.get('load_average'),
            }
        )
        rows.append(row)
    info = machine.describe()
    folds = ', '.join(
        f'{k} folds, {n} real images' for k, n in sorted({(r['k'], r['n']) for r in rows})
    )
    header = (
        f'Measured by `python benchmarks/zoo.py` on {info["cpu_model"]} '
        f'({info["usable_cores"]} cores, load {info["load_average_1_5_15"]}), '
        f'torch {info["torch"]}, batch 1, channels_last input, random weights for timing '
        '(inference only: preprocessing adds ~0.3 ms at 640x480, see `make bench`). '
        f'Accuracy: `grasp-train cv` leave-sessions-out CV ({folds}), '
        'mean ± sd over folds at the out-of-fold temperature and threshold (target success '
        'precision 0.95), then over all out-of-fold predictions (folds differ in size); AUC '
        'and ECE over all out-of-fold predictions. Training: wall time per fold and of the '
        'final refit on the shared 2-core machine, at whatever load it had then. '
        f'Runs searched: {", ".join(str(r) for r in args.runs)}.'
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
