# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
The int8 variant of a model: quantize, check parity with FP32, embed it in the model file.

ONNX Runtime's static quantization does the work (``quantize_static``: QOperator format,
per-channel int8 weights, uint8 activations, MinMax calibration): the FP32 TorchScript
is exported to ONNX (``core.onnx_backend.export_onnx``), pre-processed
(``quant_pre_process``) and calibrated on every fourth training image, run through the
runtime's own resize and normalisation. The other images are the probe set: int8 must
pick FP32's class on at least ``MIN_TOP1_AGREEMENT`` of them, and the out-of-fold
accuracy of the int8 fold models (``grasp-train cv --int8``) must stay within
``MAX_ACCURACY_DROP`` of FP32's; otherwise the quantization is refused. The result rides
in the model file (``core.metadata.INT8_*``), so one SHA-256 pins both precisions.

``grasp-train quantize MODEL --calibration DATA --cv RUN --out OUT`` adds a variant to an
exported model; ``grasp-train export --int8`` adds one at export.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
from pathlib import Path
import shlex
import sys
import tempfile
from typing import Any
import warnings
import zipfile

from grasp_classifier_ros.core.int8_backend import encode_probe, Parity, parity
from grasp_classifier_ros.core.metadata import (
    INT8_MODEL_FILE,
    INT8_PROBE_FILE,
    INT8_RECORD_FILE,
    Int8Record,
    MAX_ACCURACY_DROP,
    METADATA_FILE,
    ModelMetadata,
)
from grasp_classifier_ros.core.onnx_backend import export_onnx, INPUT, ort_session
from grasp_classifier_ros.core.preprocess import crop_resize, normalize_batch
import numpy as np
import torch

from . import data as data_mod

CALIBRATION_EVERY = 4  # every 4th image calibrates; the rest are the probe set
MAX_CALIBRATION = 512
MAX_PROBE = 2000
PROBE_FRAMES = 20  # synthetic frames embedded for the load-time check (~0.3 MB of PNG)
BATCH = 32
SETTINGS = {
    'tool': 'onnxruntime.quantization.quantize_static',
    'format': 'QOperator',
    'per_channel': True,
    'weights': 'int8',
    'activations': 'uint8',
    'calibrate_method': 'MinMax',
}


class QuantizeError(RuntimeError):
    """A quantization cannot run or failed its parity gate (the message is one line)."""


def to_batch(images: list[np.ndarray], meta: ModelMetadata) -> torch.Tensor:
    """RGB uint8 images (any size) -> the normalised ``(N, 3, H, W)`` batch, as the runtime."""
    if not images:
        return torch.zeros((0, 3, *meta.input_size))
    small = np.stack([crop_resize(im, 'rgb', meta) for im in images])
    return normalize_batch(torch.from_numpy(small).permute(0, 3, 1, 2), meta)


def split_calibration(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the calibration indices (every 4th, at most 512) and the probe indices."""
    index = np.arange(n)
    calib = index[index % CALIBRATION_EVERY == 0]
    if len(calib) > MAX_CALIBRATION:
        calib = calib[np.linspace(0, len(calib) - 1, MAX_CALIBRATION).round().astype(int)]
    probe = np.setdiff1d(index, calib)
    if len(probe) > MAX_PROBE:
        probe = probe[np.linspace(0, len(probe) - 1, MAX_PROBE).round().astype(int)]
    return calib, probe


def quantize_onnx(fp32: bytes, calibration: torch.Tensor) -> bytes:
    """Quantize serialised FP32 ONNX with ONNX Runtime (``SETTINGS``), calibrated on a batch."""
    from onnxruntime.quantization import (  # type: ignore[import-untyped, import-not-found]
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        quantize_static,
        QuantType,
    )
    from onnxruntime.quantization.shape_inference import (  # type: ignore[import-untyped, import-not-found]
        quant_pre_process,
    )

    if not len(calibration):
        raise QuantizeError('no calibration images')
    x = calibration.numpy()

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.batches = iter([{INPUT: x[i : i + BATCH]} for i in range(0, len(x), BATCH)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    with tempfile.TemporaryDirectory(prefix='grasp-int8-') as tmp:
        d = Path(tmp)
        (d / 'fp32.onnx').write_bytes(fp32)
        quant_pre_process(str(d / 'fp32.onnx'), str(d / 'pre.onnx'))
        quantize_static(
            str(d / 'pre.onnx'),
            str(d / 'int8.onnx'),
            Reader(),
            # QLinearConv & co. directly: 12-17 % faster here than QDQ, whose float Pad
            # nodes (TensorFlow 'same' padding) keep Q/DQ pairs unfused; same outputs.
            quant_format=QuantFormat.QOperator,
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        return (d / 'int8.onnx').read_bytes()


def quantize_module(module: Any, meta: ModelMetadata, calibration: torch.Tensor) -> bytes:
    """Export a TorchScript (or eager) module to ONNX and quantize it on ``calibration``."""
    return quantize_onnx(export_onnx(module, meta.input_size), calibration)


def run_onnx(model: bytes, batch: torch.Tensor) -> np.ndarray:
    """Return the logits of serialised ONNX ``model`` on a batch (one thread, in chunks)."""
    session = ort_session(model, 1)
    x = batch.numpy()
    out = [session.run(None, {INPUT: x[i : i + BATCH]})[0] for i in range(0, len(x), BATCH)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def run_torch(module: Any, batch: torch.Tensor) -> np.ndarray:
    """Return the logits of a TorchScript or eager module on a batch, in chunks."""
    with torch.inference_mode():
        out = [module(batch[i : i + BATCH]).float() for i in range(0, len(batch), BATCH)]
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def synthetic_probe(meta: ModelMetadata, n: int = PROBE_FRAMES, seed: int = 0) -> list[np.ndarray]:
    """Return ``n`` rendered gripper frames (half held), RGB uint8 at the model input size."""
    from grasp_classifier_ros.bag.synth import render_episode

    rng = np.random.default_rng(seed)
    rgb = meta.with_updates(color_order='rgb')
    return [
        crop_resize(frame, 'rgb', rgb)
        for i in range(n)
        for frame in render_episode(rng, i % 2 == 0, 1, size=max(128, *meta.input_size))
    ]


def cv_gate(fp32: dict[str, Any], int8: dict[str, Any]) -> dict[str, Any]:
    """Return the record's ``cv`` entry from the FP32 and int8 pooled out-of-fold metrics."""
    return {
        'fp32_accuracy': float(fp32['accuracy']),
        'int8_accuracy': float(int8['accuracy']),
        'fp32_failure_accuracy': float(fp32.get('failure_accuracy') or 0.0),
        'int8_failure_accuracy': float(int8.get('failure_accuracy') or 0.0),
    }


@dataclasses.dataclass(frozen=True)
class Variant:
    """An int8 variant ready to embed: its extra files, record and probe parity."""

    files: dict[str, bytes]
    record: Int8Record
    probe: Parity


def make_variant(
    module: Any,
    meta: ModelMetadata,
    images: list[np.ndarray],
    cv: dict[str, Any] | None,
    details: dict[str, Any],
    log: Any = print,
) -> Variant:
    """
    Quantize ``module`` on training ``images`` (RGB uint8), check parity, build the files.

    ``cv``: the out-of-fold gate entry (``cv_gate`` numbers plus context), or None when
    the caller waived it. QuantizeError (one line) when a gate fails.
    """
    import onnxruntime as ort  # type: ignore[import-untyped, import-not-found]

    calib, probe = split_calibration(len(images))
    if not len(probe):
        raise QuantizeError(
            f'{len(images)} images are too few: need a probe set beside calibration'
        )
    int8 = quantize_module(module, meta, to_batch([images[i] for i in calib], meta))
    x = to_batch([images[i] for i in probe], meta)
    check = parity(run_torch(module, x), run_onnx(int8, x), meta)
    log(
        f'int8 vs FP32 on {check.n} probe images (not used for calibration): same class '
        f'{check.top1_agreement:.1%}, same verdict {check.verdict_agreement:.1%}, '
        f'|dp| max {check.max_abs_dp:.3f} mean {check.mean_abs_dp:.4f}'
    )
    record = Int8Record(
        top1_agreement=check.top1_agreement,
        probe_images=check.n,
        cv=cv,
        details={
            **SETTINGS,
            'onnxruntime': ort.__version__,
            'calibration_images': int(len(calib)),
            'calibration_selection': f'every {CALIBRATION_EVERY}th image in file order',
            'probe': {**check.to_dict(), 'images': 'the other training images'},
            'load_probe': f'{PROBE_FRAMES} frames rendered by grasp_classifier_ros.bag.synth',
            'date': dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds'),
            **details,
        },
    )
    problem = record.gate_problem()
    if problem:
        raise QuantizeError(f'int8 refused: {problem}')
    files = {
        INT8_MODEL_FILE: int8,
        INT8_RECORD_FILE: record.to_json().encode(),
        INT8_PROBE_FILE: encode_probe(synthetic_probe(meta)),
    }
    return Variant(files, record, check)


def load_images(
    sources: list[Path], meta: ModelMetadata, view: data_mod.SourceOptions
) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """Return every image of ``sources`` as the model sees it (RGB uint8), and what was read."""
    from .cv import cache_images_from
    from .train import folder_info

    datasets = data_mod.scan_sources(sources, options=view, class_names=meta.class_names)
    samples = [s for ds in datasets for s in ds.samples]
    if not samples:
        raise QuantizeError(f'no images in {", ".join(map(str, sources))}')
    raw = [data_mod.sample_image(s) for s in samples]
    info = [
        folder_info(src, ds, 'int8 calibration and probe') for src, ds in zip(sources, datasets)
    ]
    return cache_images_from(raw, meta.input_size, meta, view), info


def cv_from_report(report: dict[str, Any], provenance: dict[str, Any]) -> dict[str, Any]:
    """Return the gate entry of a ``cv.json`` int8 section, checked against the model."""
    if 'int8' not in report:
        raise QuantizeError('the cv report has no int8 section: run grasp-train cv ... --int8')
    if provenance.get('config') is not None:
        differ = recipe_differences(provenance['config'], report.get('config') or {})
        if differ:
            raise QuantizeError(
                f"the cv report's recipe differs from the model's ({', '.join(differ[:3])}): "
                'cross-validate the recipe the model was trained with'
            )
    return dict(report['int8']['gate_entry'])


def recipe_differences(model: dict[str, Any], cv: dict[str, Any]) -> list[str]:
    """
    Return the config keys where a cv run's recipe differs from a model's.

    A key only the cv run has (a setting added since the model was trained) counts only
    when it is not at its default, which is what the older code did.
    """
    from .config import load_config

    defaults = load_config()
    out: list[str] = []

    def walk(a: Any, b: Any, default: Any, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                d = default.get(key) if isinstance(default, dict) else None
                if key not in a:
                    if b[key] != d:
                        out.append(where + key)
                elif key not in b:
                    out.append(where + key)
                else:
                    walk(a[key], b[key], d, f'{where}{key}.')
        elif a != b:
            out.append(where.rstrip('.'))

    walk(model, cv, defaults, '')
    return out


def attach(
    source: Path,
    out: Path,
    files: dict[str, bytes],
    provenance_note: dict[str, Any],
    key: str = 'int8',
) -> Path:
    """
    Write ``source`` with ``files`` added (an old int8 variant replaced) to ``out``, atomically.

    The TorchScript module and every other extra file are carried over unchanged; the
    metadata gains ``provenance[key]`` (a summary; the record is the extra file: the int8
    record by default, the familiarity record with ``key='familiarity'``).
    """
    from grasp_classifier_ros.core.model import read_metadata, save_model

    meta = read_metadata(source)
    extras: dict[str, bytes] = {}
    with zipfile.ZipFile(source) as zf:
        for name in zf.namelist():
            if '/extra/' in name:
                extra = name.split('/extra/', 1)[1]
                if extra not in (METADATA_FILE, *files):
                    extras[extra] = zf.read(name)
    module = torch.jit.load(str(source), map_location='cpu')
    provenance = {**meta.provenance, key: provenance_note}
    return save_model(module, meta.with_updates(provenance=provenance), out, {**extras, **files})


def summary(record: Int8Record) -> dict[str, Any]:
    """Return the short form of a record kept in the model's provenance."""
    return {
        'top1_agreement': record.top1_agreement,
        'probe_images': record.probe_images,
        'cv': record.cv,
        'record': INT8_RECORD_FILE,
    }


def check_written(path: Path, log: Any = print) -> None:
    """Load the written file as the node does with the int8 backend (its load-time gate)."""
    from grasp_classifier_ros.core.errors import ModelLoadError
    from grasp_classifier_ros.core.model import load_model

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='.*not cross-validated')  # said already
            load_model(path, device='cpu', backend='onnxruntime-int8', warmup_runs=1)
    except ModelLoadError as exc:
        raise QuantizeError(f'int8 refused at load: {exc.problem}') from exc
    log('load_model with backend onnxruntime-int8 passed (probe frames agree on this CPU)')


def quantize_file(
    model: Path,
    sources: list[Path],
    out: Path,
    *,
    cv_run: Path | None,
    view: data_mod.SourceOptions | None = None,
    command: str | None = None,
    log: Any = print,
) -> Variant:
    """Add a gated int8 variant to an exported model file; write the result to ``out``."""
    from grasp_classifier_ros.core.model import file_sha256, read_metadata

    meta = read_metadata(model)
    cv = None
    if cv_run is not None:
        report_path = cv_run / 'cv.json' if cv_run.is_dir() else cv_run
        if not report_path.is_file():
            raise QuantizeError(f"no cv report at '{report_path}'")
        cv = cv_from_report(json.loads(report_path.read_text()), meta.provenance)
        log(
            f'out-of-fold ({report_path}): accuracy FP32 {cv["fp32_accuracy"]:.3f} int8 '
            f'{cv["int8_accuracy"]:.3f}; failure-class accuracy FP32 '
            f'{cv["fp32_failure_accuracy"]:.3f} int8 {cv["int8_failure_accuracy"]:.3f}'
        )
    else:
        log('out-of-fold int8 gate waived (--skip-cv-gate): the file records cv: null')
    images, data = load_images(sources, meta, view or data_mod.SourceOptions())
    module = torch.jit.load(str(model), map_location='cpu').eval()
    details = {
        'quantized_from': {'file': model.name, 'sha256': file_sha256(model)},
        'data': data,
        'command': command or shlex.join(sys.argv),
    }
    variant = make_variant(module, meta, images, cv, details, log)
    staging = out.with_name(f'.{out.name}.staging')
    try:
        attach(model, staging, variant.files, summary(variant.record))
        check_written(staging, log)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    staging.replace(out)
    log(f'wrote {out}')
    return variant


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        'quantize',
        help='add a parity-gated int8 variant to an exported model',
        description='Quantize an exported model to int8 with ONNX Runtime (static, '
        'per-channel int8 weights, uint8 activations), calibrated on every 4th training '
        'image; refuse unless int8 picks the FP32 class on >= 99%% of the other images and '
        '(with --cv) its out-of-fold accuracy is within 0.5 points of FP32. The variant is '
        'embedded in the output model file (one SHA-256 for both precisions).',
    )
    p.add_argument('model', type=Path, help='exported model (.pt with embedded metadata)')
    p.add_argument(
        '--calibration',
        nargs='+',
        type=Path,
        required=True,
        metavar='DATA',
        help='training images: class folder(s), bags or videos (calibration + probe)',
    )
    p.add_argument('--out', type=Path, required=True, help='model file to write (may be MODEL)')
    gate = p.add_mutually_exclusive_group(required=True)
    gate.add_argument(
        '--cv',
        type=Path,
        metavar='RUN',
        help='a grasp-train cv --int8 run (or its cv.json) of the same recipe: the '
        'out-of-fold gate',
    )
    gate.add_argument(
        '--skip-cv-gate',
        action='store_true',
        help='no out-of-fold gate (the file records it; the node warns at load)',
    )
    data_mod.add_source_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    view = data_mod.source_options(args, print)
    variant = quantize_file(
        args.model, list(args.calibration), args.out, cv_run=args.cv, view=view
    )
    gate = f'>= {variant.record.min_top1_agreement:.0%} agreement on the probe images'
    if variant.record.cv is None:
        gate += '; out-of-fold gate waived (the node will warn)'
    else:
        gate += f'; out-of-fold drop <= {100 * MAX_ACCURACY_DROP:.1f} points'
    print(f'int8 parity gate passed ({gate}): {args.out}')
    return 0
