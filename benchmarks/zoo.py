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
Model zoo table: test accuracy vs CPU latency vs MFLOPs vs parameters.

``python benchmarks/zoo.py [--runs DIR ...]`` measures, for every registered
architecture at its configured input size, parameters, MFLOPs (one forward
pass under ``torch.utils.flop_counter.FlopCounterMode``; a multiply-add is
two FLOPs) and batch-1 CPU latency of the exported model as ``load_model``
serves it (frozen TorchScript, channels_last input; without and with oneDNN
fusion, and ONNX Runtime when installed). Accuracy columns come
from the trainer's run folders (``config.yaml`` + ``metrics.json``; the
exported model's ``eval_real_test/metrics.json`` when the run has one): only
runs on the shipped model's split (strategy, fractions, seed) are compared.
The shipped architecture is measured at the shipped model's input size, with
the accuracy of the run it was trained in; for the others, the run with the
best *validation* accuracy is shown. Runs trained with fewer epochs or batches
than the default config are marked capped. Prints one Markdown table and
writes it to ``benchmarks/zoo.md``.
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

ARCHITECTURES = ('seed_cnn', 'grasp_net', 'mobilenet_v3_small', 'resnet18')
# Why an architecture has no run here (measured on the 2-core dev VM).
NOT_TRAINED = {
    'seed_cnn': 'slow to train on CPU',
    'resnet18': 'too slow to train here',
}
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = (Path('/work/runs'), ROOT / 'runs')
SHIPPED = ROOT / 'models' / 'grasp_classifier.pt'
OUT = Path(__file__).resolve().parent / 'zoo.md'
EVAL_DIR = 'eval_real_test'


@dataclass
class Run:
    """One finished training run folder."""

    path: Path
    name: str
    input_size: tuple[int, int]
    metrics: dict[str, Any]
    config: dict[str, Any]

    @property
    def val_accuracy(self) -> float:
        return float(self.metrics.get('val', {}).get('accuracy', float('-inf')))

    @property
    def split(self) -> tuple[Any, ...]:
        return split_key(self.config)


@dataclass
class Shipped:
    """The shipped model: architecture, input size, split and the run it came from."""

    name: str
    input_size: tuple[int, int]
    split: tuple[Any, ...] | None
    run: Path | None


def split_key(config: dict[str, Any]) -> tuple[Any, ...]:
    """Return what decides the real test split of a training config."""
    data = config.get('data', {})
    seed = data.get('split_seed')
    return (
        data.get('split_strategy'),
        data.get('val_fraction'),
        data.get('test_fraction'),
        config.get('seed') if seed is None else seed,
        data.get('group_regex'),
    )


def _out_arg(command: str) -> Path | None:
    words = command.split()
    if '--out' not in words[:-1]:
        return None
    out = Path(words[words.index('--out') + 1])
    return (out if out.is_absolute() else ROOT / out).resolve()


def shipped_model(path: Path = SHIPPED) -> Shipped | None:
    """Read the shipped model's metadata; ``None`` when there is no shipped model."""
    if not path.is_file():
        return None
    meta = read_metadata(path)
    prov = meta.provenance or {}
    config = prov.get('config')
    command = prov.get('train_command')
    return Shipped(
        name=meta.architecture,
        input_size=(meta.input_height, meta.input_width),
        split=split_key(config) if isinstance(config, dict) else None,
        run=_out_arg(command) if isinstance(command, str) else None,
    )


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
                    Run(
                        metrics.parent,
                        str(model['name']),
                        (int(size[0]), int(size[1])),
                        data,
                        cfg,
                    )
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
    from grasp_classifier_training.models import build_model, ModelConfig

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
        row['fused'] = fused.runner.label == 'torchscript+onednn-fusion'
        row['torchscript_fused_ms'] = latency_ms(fused.forward, x, budget_s)
        row['onnxruntime_ms'] = None
        if onnx_backend.available():
            ort = load_model(path, device='cpu', backend='onnxruntime')
            row['onnxruntime_ms'] = latency_ms(ort.forward, x, budget_s)
    return row


def training_note(run: Run) -> str:
    """Describe how long ``run`` trained, marked capped when below the default config."""
    from grasp_classifier_training.config import load_config

    default = load_config()['train']
    train = run.config.get('train', {})
    max_epochs = train.get('max_epochs')
    limit = train.get('limit_train_batches')
    text = f'{run.metrics.get("epochs_run", "?")}/{max_epochs} epochs'
    if limit:
        text += f' x {limit} batches of {train.get("batch_size")}'
    if limit or (max_epochs or 0) < default['max_epochs']:
        text += f' (capped; default {default["max_epochs"]} epochs, all batches)'
    if isinstance(run.metrics.get('epochs_run'), int) and run.metrics['epochs_run'] < (
        max_epochs or 0
    ):
        text += ' (early stop)'
    text += f', best {run.metrics.get("best_epoch", "?")}'
    try:
        wall = json.loads((run.path / 'run.json').read_text())['wall_time_s']
        text += f', {float(wall):.0f} s'
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return text


def accuracy_columns(name: str, runs: list[Run], shipped: Shipped | None) -> dict[str, Any]:
    """Real-test accuracy of the run shown for ``name`` (only runs on the shipped split)."""
    mine = [r for r in runs if r.name == name]
    if shipped is not None and shipped.split is not None:
        mine = [r for r in mine if r.split == shipped.split]
    if shipped is not None and name == shipped.name:
        mine = [r for r in mine if r.input_size == shipped.input_size]
        own = [r for r in mine if r.path.resolve() == shipped.run]
        mine = own or mine
    if not mine:
        why = 'n/a: no run found'
        if name in NOT_TRAINED:
            why += f' ({NOT_TRAINED[name]})'
        return {'run': None, 'note': why}
    best = max(mine, key=lambda r: r.val_accuracy)
    test = best.metrics.get('test', {})
    source = 'metrics.json'
    evaluated = best.path / EVAL_DIR / 'metrics.json'
    if evaluated.is_file():
        test = json.loads(evaluated.read_text())
        source = f'{EVAL_DIR}/metrics.json'
    return {
        'run': str(best.path),
        'source': source,
        'shipped': shipped is not None and best.path.resolve() == shipped.run,
        'runs_found': len(mine),
        'input_size': list(best.input_size),
        'training': training_note(best),
        'test_n': test.get('n'),
        'test_accuracy': test.get('accuracy'),
        'test_balanced_accuracy': test.get('balanced_accuracy'),
        'test_roc_auc': test.get('roc_auc'),
        'constant_output': test.get('roc_auc') == 0.5 and test.get('balanced_accuracy') == 0.5,
        'val_accuracy': best.metrics.get('val', {}).get('accuracy'),
    }


def _split_text(shipped: Shipped | None) -> str:
    if shipped is None or shipped.split is None:
        return 'no shipped model: runs on any split'
    strategy, val, test, seed, _ = shipped.split
    return f'{strategy}, val {val}, test {test}, seed {seed}'


def _num(v: Any, fmt: str = '.3f') -> str:
    return '-' if v is None else format(v, fmt)


def table(rows: list[dict[str, Any]], threads: int) -> str:
    lines = [
        f'| model | input | params | MFLOPs | CPU ms p50/p99, TorchScript ({threads} thr) '
        '| + oneDNN fusion (node default) | ONNX Runtime | test acc | test balanced acc '
        '| test ROC AUC | test n | training | run |',
        '|' + '---|' * 13,
    ]
    for r in rows:
        acc = r['accuracy']
        ts = r['torchscript_ms']
        fz = r['torchscript_fused_ms']
        fz_cell = f'{fz["p50"]:.2f}/{fz["p99"]:.2f}' + ('' if r['fused'] else ' (not fused)')
        ort = r['onnxruntime_ms']
        ort_cell = f'{ort["p50"]:.2f}/{ort["p99"]:.2f}' if ort else 'not installed'
        if acc.get('run'):
            run = f'`{acc["run"]}`' + (' (shipped)' if acc['shipped'] else '')
            if acc['constant_output']:
                run += ' (one class for every test image: degenerate)'
            cells = (
                f'{_num(acc["test_accuracy"])} | {_num(acc["test_balanced_accuracy"])} '
                f'| {_num(acc["test_roc_auc"])} | {acc["test_n"]} | {acc["training"]} | {run} |'
            )
        else:
            cells = f'{acc["note"]} | - | - | - | - | - |'
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
    shipped = shipped_model()
    rows = []
    for name in (m.strip() for m in args.models.split(',') if m.strip()):
        acc = accuracy_columns(name, runs, shipped)
        if shipped is not None and name == shipped.name:
            size = shipped.input_size
        elif acc.get('input_size'):
            size = tuple(acc['input_size'])
        else:
            size = default_input_size(name)
        print(f'measuring {name} at {size[0]}x{size[1]} ...', file=sys.stderr)
        row = measure(name, size, args.budget)  # type: ignore[arg-type]
        row['accuracy'] = acc
        rows.append(row)
    info = machine.describe()
    header = (
        f'Measured by `python benchmarks/zoo.py` on {info["cpu_model"]} '
        f'({info["usable_cores"]} cores, load {info["load_average_1_5_15"]}), '
        f'torch {info["torch"]}, batch 1, channels_last input, random weights for timing. '
        "Accuracy: real test split of the shipped model's group-aware split "
        f'({_split_text(shipped)}), evaluated on the exported model ({EVAL_DIR}) where '
        "the run has it; grasp_net is the shipped model's own run, the others the run "
        'with the best validation accuracy '
        f'(searched: {", ".join(str(r) for r in args.runs)}). '
        'Training: epochs run / max epochs (x batches per epoch when limited), best '
        'epoch, training wall time on the machine that trained it; capped = fewer epochs '
        'or batches than the default config.'
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
