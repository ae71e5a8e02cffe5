# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Export a checkpoint to the TorchScript file the node loads, metadata embedded.

Script (or trace), freeze, optionally ``optimize_for_inference`` when it is
measurably faster, check exported against eager outputs, write via
``grasp_classifier_ros.core.model.save_model`` and read it back with ``load_model``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import datetime as dt
import io
import os
from pathlib import Path
import shlex
import sys
import time
from typing import Any
import warnings

from grasp_classifier_ros.core.metadata import CHECKPOINT_FILE, ModelMetadata
from grasp_classifier_ros.core.model import load_model, save_model
from grasp_classifier_ros.core.preprocess import normalize_batch
import numpy as np
import torch
from torch import nn

from .checkpoint import load_checkpoint, restore
from .data import add_source_args, source_args_given, source_options, SourceOptions
from .quantize import check_written, load_images, make_variant, QuantizeError, summary, Variant

DEFAULT_TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """Exported outputs differ from the eager model or the file does not load back."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    metadata: ModelMetadata
    max_abs_diff: float
    optimized: bool
    latency_ms: dict[str, float]


def sample_batch(meta: ModelMetadata, n: int = 8, seed: int = 0) -> torch.Tensor:
    """Return ``n`` random uint8 images normalised as the runtime does."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, *meta.input_size), generator=gen, dtype=torch.uint8)
    return normalize_batch(images, meta)


def forward_latency_ms(
    module: Any, meta: ModelMetadata, runs: int = 200, warmup: int = 20, threads: int = 2
) -> float:
    """Median batch-1 forward time in ms with ``threads`` intra-op threads."""
    x = sample_batch(meta, 1)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                module(x)
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                module(x)
                times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(previous)
    return float(np.median(times) * 1e3)


def to_torchscript(model: nn.Module, meta: ModelMetadata) -> torch.jit.ScriptModule:
    """Script ``model`` (trace it if scripting fails) and freeze it (folds BN)."""
    model = model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)  # torch.jit's deprecation notice
        try:
            scripted = torch.jit.script(model)
        except Exception:  # any scripting failure: tracing is the documented fallback
            with torch.no_grad():
                scripted = torch.jit.trace(model, sample_batch(meta, 2))
        return torch.jit.freeze(scripted.eval())


def _optimize(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)
        return torch.jit.optimize_for_inference(module)


def _roundtrip(module: torch.jit.ScriptModule) -> None:
    """Raise if ``module`` cannot be saved and loaded back."""
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    buf.seek(0)
    torch.jit.load(buf)


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max())


def export_checkpoint(
    ckpt: str | Path,
    out: str | Path,
    *,
    optimize: str = 'auto',
    tolerance: float = DEFAULT_TOLERANCE,
    command: str | None = None,
    log: Any = print,
    int8: list[Path] | None = None,
    skip_cv_gate: bool = False,
    view: Any = None,
    familiarity: list[Path] | None = None,
    familiarity_record: Any = None,
) -> ExportResult:
    """
    Export ``ckpt`` to ``out``; raise ExportError when the checks fail.

    ``int8`` (training images: folders or recordings): also embed a parity-gated int8
    variant (``quantize.make_variant``); its out-of-fold gate comes from the
    checkpoint (``grasp-train cv --int8 --refit``) unless ``skip_cv_gate``.

    ``familiarity`` (training images): also embed the reference statistics of the node's
    out-of-depth monitor (``familiarity.record_from_sources``, read through ``view``); or
    ``familiarity_record``, a ``FamiliarityRecord`` fitted already (``grasp-train adapt``).

    ``optimize``: ``off`` never applies ``optimize_for_inference``, ``on``
    always does, ``auto`` keeps it only when it is at least 10 % faster at
    batch 1 on two threads (an optimized file may hold CPU-only kernels).
    """
    data = load_checkpoint(ckpt)
    model, _, meta = restore(data)
    frozen = to_torchscript(model, meta)
    latency = {'frozen_ms_p50': forward_latency_ms(frozen, meta)}
    module = frozen
    optimized = False
    if optimize != 'off':
        try:
            # A fresh compilation: optimize_for_inference also rewrites the graph it came from.
            candidate = _optimize(to_torchscript(model, meta))
            _roundtrip(candidate)
        except Exception as exc:  # some graphs cannot be optimised or saved; frozen is fine
            log(
                f'optimize_for_inference unusable ({type(exc).__name__}: '
                f'{str(exc).splitlines()[0][:80]}); keeping the frozen module'
            )
        else:
            latency['optimized_ms_p50'] = forward_latency_ms(candidate, meta)
            if optimize == 'on' or latency['optimized_ms_p50'] < 0.9 * latency['frozen_ms_p50']:
                module, optimized = candidate, True
    log(
        'forward latency (batch 1, 2 threads): '
        + ', '.join(f'{k}={v:.3f}' for k, v in latency.items())
        + f' -> using {"optimized" if optimized else "frozen"} module'
    )

    x = sample_batch(meta, 8)
    with torch.inference_mode():
        eager = model(x)
        exported = module(x)
    diff = max_abs_diff(eager, exported)
    log(f'max abs diff exported vs eager logits on a batch of {x.shape[0]}: {diff:.3g}')
    if not diff <= tolerance:
        raise ExportError(f'exported outputs differ from eager by {diff:.3g} > {tolerance:g}')

    provenance = dict(data.get('provenance', {}))
    provenance['checkpoint_epoch'] = data.get('epoch')
    provenance['checkpoint_metrics'] = data.get('metrics', {})
    provenance['export'] = {
        'date': dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds'),
        'command': command or shlex.join(sys.argv),
        'torch': torch.__version__,
        'max_abs_diff': diff,
        'optimize_for_inference': optimized,
        'latency_ms_batch1_2threads': latency,
    }
    extras = {CHECKPOINT_FILE: Path(ckpt).read_bytes()}
    if int8:
        variant = _int8_variant(module, meta, data, int8, skip_cv_gate, view, provenance, log)
        provenance['int8'] = summary(variant.record)
        extras.update(variant.files)
    if familiarity:
        from .familiarity import record_from_sources

        familiarity_record = record_from_sources(
            familiarity, meta, view, command=provenance['export']['command'], log=log
        )
    if familiarity_record is not None:
        from grasp_classifier_ros.core.metadata import FAMILIARITY_FILE

        from . import familiarity as familiarity_mod

        provenance['familiarity'] = familiarity_mod.summary(familiarity_record)
        extras[FAMILIARITY_FILE] = familiarity_record.to_json().encode()
    meta = meta.with_updates(provenance=provenance)

    target = Path(out)
    staging = target.with_name(f'.{target.name}.staging')
    # The checkpoint rides along (CHECKPOINT_FILE): grasp-train adapt starts from its weights.
    save_model(module, meta, staging, extras)
    try:
        loaded = load_model(staging, device='cpu', fp16=False)
        expected = torch.softmax(eager.double() / meta.temperature, dim=1).numpy()
        got = loaded.predict(x)
        prob_diff = float(np.abs(expected - got).max())
        if not prob_diff <= tolerance:
            raise ExportError(
                f'reloaded probabilities differ from eager by {prob_diff:.3g} > {tolerance:g}'
            )
        if loaded.metadata.to_json() != meta.to_json():
            raise ExportError('reloaded metadata differs from the metadata written')
        if loaded.familiarity != familiarity_record:
            raise ExportError('reloaded reference statistics differ from those written')
        if int8:
            check_written(staging, lambda *_: None)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    os.replace(staging, target)
    backends = 'torchscript and onnxruntime-int8' if int8 else 'torchscript'
    log(f'wrote {target} ({loaded.model_id}); load_model check passed ({backends})')
    return ExportResult(target, meta, diff, optimized, latency)


def _int8_variant(
    module: Any,
    meta: ModelMetadata,
    data: dict[str, Any],
    sources: list[Path],
    skip_cv_gate: bool,
    view: Any,
    provenance: dict[str, Any],
    log: Any,
) -> Variant:
    """Quantize the exported module on ``sources``, gated; the checkpoint holds the CV entry."""
    cv = provenance.get('int8_cv')
    if skip_cv_gate:
        cv = None
        log('out-of-fold int8 gate waived (--skip-cv-gate): the file records cv: null')
    elif cv is None:
        raise QuantizeError(
            'the checkpoint has no out-of-fold int8 scores: export the refit checkpoint of '
            "'grasp-train cv ... --int8 --refit', or pass --skip-cv-gate"
        )
    images, info = load_images(sources, meta, view or SourceOptions())
    details = {
        'quantized_from': {'checkpoint_epoch': data.get('epoch'), 'export': 'this file'},
        'data': info,
        'command': provenance['export']['command'],
    }
    return make_variant(module, meta, images, cv, details, log)


def default_output(ckpt: Path) -> Path:
    """``RUN/grasp_classifier.pt`` for ``RUN/checkpoints/*.pt``, else beside the checkpoint."""
    parent = ckpt.resolve().parent
    run = parent.parent if parent.name == 'checkpoints' else parent
    return run / 'grasp_classifier.pt'


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        'export',
        help='export a checkpoint to TorchScript with embedded metadata',
        description='Export a grasp-train checkpoint (e.g. RUN/checkpoints/best.pt) to the '
        'TorchScript file the node loads, with metadata, after checking it against the '
        'eager model.',
    )
    p.add_argument('ckpt', type=Path, help='checkpoint written by grasp-train train')
    p.add_argument('--out', type=Path, help='output .pt (default: RUN/grasp_classifier.pt)')
    p.add_argument(
        '--optimize',
        choices=('auto', 'on', 'off'),
        default='auto',
        help='torch.jit.optimize_for_inference: auto keeps it only if >= 10%% faster',
    )
    p.add_argument(
        '--tolerance',
        type=float,
        default=DEFAULT_TOLERANCE,
        help='max abs difference allowed between exported and eager outputs',
    )
    g = p.add_argument_group('int8 variant (see grasp-train quantize)')
    g.add_argument(
        '--int8',
        action='store_true',
        help='also embed a parity-gated int8 variant (needs --calibration)',
    )
    g.add_argument(
        '--calibration',
        nargs='+',
        type=Path,
        default=[],
        metavar='DATA',
        help='--int8: the training images (class folders, bags or videos)',
    )
    g.add_argument(
        '--skip-cv-gate',
        action='store_true',
        help='--int8 without out-of-fold scores (the file records it; the node warns)',
    )
    p.add_argument(
        '--familiarity',
        nargs='+',
        type=Path,
        default=[],
        metavar='DATA',
        help="also embed reference statistics of these training images for the node's "
        'out-of-depth monitor (see grasp-train familiarity)',
    )
    add_source_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = args.out or default_output(args.ckpt)
    if not args.int8:
        given = [
            f
            for f, v in (
                ('--calibration', args.calibration),
                ('--skip-cv-gate', args.skip_cv_gate),
            )
            if v
        ]
        if not args.familiarity:
            given += source_args_given(args)
        if given:
            raise ExportError(f'{", ".join(given)} only apply with --int8; add it or drop them')
    elif not args.calibration:
        raise ExportError('--int8 needs --calibration DATA (the training images)')
    export_checkpoint(
        args.ckpt,
        out,
        optimize=args.optimize,
        tolerance=args.tolerance,
        int8=list(args.calibration) if args.int8 else None,
        skip_cv_gate=args.skip_cv_gate,
        view=source_options(args, print) if args.int8 or args.familiarity else None,
        familiarity=list(args.familiarity) or None,
    )
    return 0
