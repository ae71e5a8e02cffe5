# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train evaluate``: score an EXPORTED model through the runtime path.

Each image is wrapped in a ``DecodedImage`` and goes through
``grasp_classifier_ros.core.preprocess.Preprocessor`` and ``LoadedModel.predict``:
exactly what the node runs. Writes ``metrics.json`` and plots (confusion
matrix, ROC, reliability diagram, gallery of misclassified images).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
import sys
import time
from typing import Any

from grasp_classifier_ros.core.image_codec import DecodedImage
from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.metrics import (
    average_precision,
    calibration_error,
    confusion_matrix,
    per_class_accuracy,
    precision_recall_f1,
    roc_auc,
)
from grasp_classifier_ros.core.model import load_model, read_metadata
from grasp_classifier_ros.core.params import BACKEND_CHOICES
from grasp_classifier_ros.core.preprocess import Preprocessor
from grasp_classifier_ros.core.stats import percentiles
import numpy as np
import torch
from torchmetrics.functional import classification as tmf
from tqdm import tqdm

from . import data as data_mod
from .plots import plot_confusion, plot_gallery, plot_reliability, plot_roc

ECE_BINS = 15


def compute_metrics(probs: np.ndarray, labels: np.ndarray, meta: ModelMetadata) -> dict[str, Any]:
    """
    Classification metrics of calibrated ``(N, C)`` probabilities at ``meta.threshold``.

    The numbers come from ``grasp_classifier_ros.core.metrics``, as bag reports do.

    A frame is called success when ``p_success >= threshold`` (as the node
    decides), else the most probable other class. ``accuracy_argmax`` ignores
    the threshold. ECE is top-label with 15 equal-width bins; ROC/PR AUC are of
    the success probability. Undefined values (e.g. AUC with one class) are None.
    """
    probs_t = torch.as_tensor(probs, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.long)
    n, c = probs_t.shape
    s = meta.success_index
    p_success = probs_t[:, s]
    others = probs_t.clone()
    others[:, s] = -1.0
    pred = torch.where(p_success >= meta.threshold, torch.full_like(y, s), others.argmax(1))
    is_success = (y == s).long()
    pred_success = (pred == s).long()
    out: dict[str, Any] = {
        'n': int(n),
        'class_names': list(meta.class_names),
        'success_class': meta.success_class,
        'threshold': float(meta.threshold),
        'temperature': float(meta.temperature),
        'support': {name: int((y == i).sum()) for i, name in enumerate(meta.class_names)},
    }
    if n == 0:
        return out
    out['accuracy'] = float((pred == y).double().mean())
    out['accuracy_argmax'] = float((probs_t.argmax(1) == y).double().mean())
    y_np, pred_np = y.numpy(), pred.numpy()
    per_class = per_class_accuracy(y_np, pred_np, num_classes=c)
    out['per_class_accuracy'] = {
        name: (per_class[i] if out['support'][name] else None)
        for i, name in enumerate(meta.class_names)
    }
    out['balanced_accuracy'] = float(
        np.mean([v for v in out['per_class_accuracy'].values() if v is not None])
    )
    out.update(precision_recall_f1(is_success.numpy(), pred_success.numpy()))
    out['confusion_matrix'] = confusion_matrix(y_np, pred_np, num_classes=c).tolist()
    both = 0 < int(is_success.sum()) < n
    y_s, p_s = is_success.numpy(), p_success.numpy()
    out['roc_auc'] = roc_auc(y_s, p_s) if both else None
    out['pr_auc'] = average_precision(y_s, p_s) if both else None
    # Top-label ECE for any number of classes: confidence of the argmax class
    # against whether it is right (the runtime's binary ECE of that event).
    top_hit = (probs_t.argmax(1) == y).long().numpy()
    out['ece'] = calibration_error(
        top_hit, probs_t.max(1).values.numpy(), n_bins=ECE_BINS, mode='positive'
    )
    out['nll'] = float(torch.nn.functional.nll_loss(torch.log(probs_t.clamp_min(1e-12)), y).item())
    out['brier'] = float(((p_success - is_success.double()) ** 2).mean())
    return out


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def list_images(
    folders: list[Path],
    split: Path | None,
    subset: str | None,
    sources: data_mod.SourceOptions | None = None,
    recording_classes: tuple[str, ...] | None = None,
) -> tuple[list[data_mod.Sample], tuple[str, ...]]:
    """
    Return the samples of the folders or recordings, optionally one subset of a split.

    Recordings' frames are labelled with ``recording_classes`` (the model's names).
    """
    datasets = data_mod.scan_sources(
        folders,
        options=sources or data_mod.SourceOptions(),
        log=_stderr,
        class_names=recording_classes,
    )
    class_names = tuple(datasets[0].class_names)
    for f, ds in zip(folders[1:], datasets[1:]):
        if tuple(ds.class_names) != class_names:
            raise data_mod.DatasetError(
                f"'{f}' has classes {list(ds.class_names)}, expected {list(class_names)}"
            )
    items = [s for ds in datasets for s in ds.samples]
    if split is not None:
        wanted = data_mod.load_split_paths(split, subset or 'test')
        items = [s for s in items if data_mod.sample_key(s) in wanted]
        if not items:
            raise data_mod.DatasetError(
                f"no image of {[str(f) for f in folders]} is in the '{subset}' subset of {split}"
            )
    return items, class_names


def evaluate(
    model_path: Path,
    folders: list[Path],
    out: Path,
    *,
    split: Path | None = None,
    subset: str | None = None,
    device: str = 'cpu',
    threads: int = 2,
    gallery: int = 24,
    progress: bool = True,
    sources: data_mod.SourceOptions | None = None,
    backend: str = 'torchscript',
) -> dict[str, Any]:
    """
    Evaluate the exported model on the images; write metrics.json and plots to ``out``.

    ``backend``: the engine, as the node's parameter (``onnxruntime-int8`` scores the
    file's int8 variant).

    ``sources``: how recordings are read, and the camera view (roi, mount) every image
    gets through the runtime ``Preprocessor``, exactly as the node applies it.
    """
    view = sources or data_mod.SourceOptions()
    # Recordings are labelled success/failure: they take the model's class names.
    recordings = any(data_mod.is_recording(Path(f)) for f in folders)
    names = read_metadata(model_path).class_names if recordings else None
    items, class_names = list_images(folders, split, subset, view, names)
    loaded = load_model(model_path, device=device, fp16=False, backend=backend)
    meta = loaded.metadata
    names = {name: i for i, name in enumerate(meta.class_names)}
    missing = [c for c in class_names if c not in names]
    if missing:
        raise data_mod.DatasetError(
            f'data classes {missing} are not model classes {list(meta.class_names)}'
        )
    remap = [names[c] for c in class_names]
    previous_threads = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    pre = Preprocessor(meta, loaded.device, loaded.dtype, view.roi, view.mount)
    probs = np.zeros((len(items), meta.num_classes))
    labels = np.zeros(len(items), dtype=np.int64)
    latency_ms = np.zeros(len(items))
    try:
        for i, sample in enumerate(
            tqdm(items, desc='evaluating', unit='img', disable=not progress)
        ):
            label = sample.label
            img = DecodedImage(data_mod.sample_image(sample), 'rgb')
            t0 = time.perf_counter()
            p = loaded.predict(pre(img))
            latency_ms[i] = (time.perf_counter() - t0) * 1e3
            probs[i] = p[0]
            labels[i] = remap[label]
    finally:
        torch.set_num_threads(previous_threads)
    metrics = compute_metrics(probs, labels, meta)
    metrics.update(
        {
            'model': str(model_path),
            'model_id': loaded.model_id,
            'backend': loaded.runner.label,
            'data': [str(f) for f in folders],
            'split': str(split) if split else None,
            'view': {
                'roi': list(view.roi),
                'image_rotation': view.mount.rotation,
                'image_flip': view.mount.flip,
            },
            'subset': subset if split else None,
            'device': str(loaded.device),
            'threads': threads if threads > 0 else previous_threads,
            **{f'latency_ms_{k}': v for k, v in percentiles(latency_ms, (50, 95)).items()},
            'latency_ms_mean': float(latency_ms.mean()),
            'latency_scope': 'Preprocessor (crop, resize, normalise) + inference, per image',
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / 'metrics.json').write_text(json.dumps(metrics, indent=2, sort_keys=True))
    write_predictions(out / 'predictions.csv', items, labels, probs, meta)
    write_plots(out, probs, labels, meta, metrics, items, gallery)
    return metrics


def write_predictions(
    path: Path,
    items: list[data_mod.Sample],
    labels: np.ndarray,
    probs: np.ndarray,
    meta: ModelMetadata,
) -> None:
    """Write one row per image: path (a recording's frame: its key), true class, p, decision."""
    s = meta.success_index
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['path', 'true_class', 'p_success', 'called_success', 'correct'])
        for item, y, pr in zip(items, labels, probs):
            called = bool(pr[s] >= meta.threshold)
            name = str(item.path) if item.image is None else data_mod.sample_key(item)
            w.writerow(
                [name, meta.class_names[int(y)], f'{pr[s]:.6f}', called, called == (y == s)]
            )


def write_plots(
    out: Path,
    probs: np.ndarray,
    labels: np.ndarray,
    meta: ModelMetadata,
    metrics: dict[str, Any],
    items: list[data_mod.Sample],
    gallery: int,
) -> None:
    """Confusion matrix, ROC, reliability diagram and misclassified gallery PNGs."""
    s = meta.success_index
    plot_confusion(
        np.asarray(metrics['confusion_matrix']), meta.class_names, out / 'confusion.png'
    )
    is_success = torch.as_tensor(labels == s, dtype=torch.long)
    if metrics.get('roc_auc') is not None:
        # The runtime metrics module gives the area only; torchmetrics gives the curve.
        fpr, tpr, _ = tmf.binary_roc(torch.as_tensor(probs[:, s]), is_success)
        plot_roc(fpr.numpy(), tpr.numpy(), metrics['roc_auc'], out / 'roc.png')
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    plot_reliability(conf, correct, metrics['ece'], out / 'reliability.png', ECE_BINS)
    p_success = probs[:, s]
    called = np.where(p_success >= meta.threshold, s, -1)
    wrong = [i for i in range(len(items)) if (called[i] == s) != (labels[i] == s)]
    wrong.sort(key=lambda i: -abs(p_success[i] - meta.threshold))
    shown = wrong[:gallery]
    plot_gallery(
        [data_mod.sample_image(items[i]) for i in shown],
        [
            f'{data_mod.sample_key(items[i])[-26:]}\ntrue {meta.class_names[labels[i]]} '
            f'p={p_success[i]:.2f}'
            for i in shown
        ],
        out / 'misclassified.png',
    )


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        'evaluate',
        help='evaluate an exported model on image folders through the runtime path',
        description='Run the exported TorchScript model (as the node loads it) through the '
        "runtime's Preprocessor on class-per-folder images; write metrics.json and plots.",
    )
    p.add_argument('model', type=Path, help='exported .pt file')
    p.add_argument(
        'data', nargs='+', type=Path, help='class folder(s), rosbag2 bag(s) or video(s)'
    )
    p.add_argument('--out', type=Path, required=True, help='report folder')
    p.add_argument(
        '--split',
        type=Path,
        help="a run's split.json or a folds.json (grasp-train cv): evaluate only one subset",
    )
    p.add_argument(
        '--subset',
        default='test',
        help='train, val or test of a split.json; fold:K or train:K of a folds.json',
    )
    p.add_argument('--device', default='cpu', help='auto, cpu, cuda or cuda:N (default cpu)')
    p.add_argument(
        '--backend',
        choices=BACKEND_CHOICES,
        default='torchscript',
        help="inference engine, as the node's parameter (default torchscript: the FP32 "
        'model; onnxruntime-int8: its int8 variant)',
    )
    p.add_argument('--threads', type=int, default=2, help='torch CPU threads (0: leave as is)')
    p.add_argument('--gallery', type=int, default=24, help='misclassified images to show')
    p.add_argument('--no-progress', action='store_true')
    data_mod.add_source_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    m = evaluate(
        args.model,
        list(args.data),
        args.out,
        split=args.split,
        subset=args.subset,
        device=args.device,
        threads=args.threads,
        gallery=args.gallery,
        progress=not args.no_progress,
        sources=data_mod.source_options(args, _stderr),
        backend=args.backend,
    )
    pcs = ', '.join(
        f'{k} {v:.3f}' for k, v in m.get('per_class_accuracy', {}).items() if v is not None
    )
    print(
        f'n={m["n"]} accuracy {m.get("accuracy", float("nan")):.3f} ({pcs}); '
        f'precision {m.get("precision", float("nan")):.3f} '
        f'recall {m.get("recall", float("nan")):.3f} ECE {m.get("ece", float("nan")):.3f}; '
        f'latency p50 {m["latency_ms_p50"]:.2f} ms p95 {m["latency_ms_p95"]:.2f} ms -> {args.out}'
    )
    return 0
