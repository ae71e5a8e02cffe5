# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train cv``: leave-sessions-out cross-validation, out-of-fold calibration, refit.

Whole videos/sessions go to K folds (``data.group_folds``; no group in two
folds). For each fold a model is trained with the config's recipe on the other
folds for ``train.max_epochs`` (no early stopping: the epoch count is part of the
recipe CV judges) and predicts the held-out fold. The out-of-fold (OOF) logits
of every image then choose the temperature (NLL) and the threshold (lowest one
reaching ``calibration.target_precision`` success precision); each fold is scored
at that shipped temperature and threshold. ``cross_fitted`` repeats the choice
with each fold's own predictions left out, the honest estimate of how the chosen
calibration transfers. ``--refit`` then trains the same recipe on all images and
writes a checkpoint carrying the OOF temperature and threshold.

Output: ``folds.json`` (file names, groups, folds), ``oof.csv``, ``cv.json``
(per-fold and mean ± sd metrics, pooled OOF metrics, calibration, wall times),
``reliability.png`` (OOF), ``config.yaml``, ``run.json``; with ``--refit``
``refit/checkpoints/best.pt``.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
import shlex
import sys
import time
from typing import Any

import numpy as np

from . import data as data_mod
from .config import add_recipe_args, ConfigError, dump

SUMMARY_KEYS = ('accuracy', 'failure_accuracy', 'precision', 'roc_auc', 'ece')


def fold_metrics(
    logits: np.ndarray, labels: np.ndarray, temperature: float, threshold: float, meta: Any
) -> dict[str, Any]:
    """
    Metrics of one set of logits at a given temperature and threshold.

    ``failure_accuracy`` is the accuracy on the non-success classes (1 - the
    false-success rate); ``precision`` is the success precision.
    """
    import torch

    from .evaluate import compute_metrics

    probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float64) / temperature, 1).numpy()
    m = compute_metrics(
        probs, labels, meta.with_updates(temperature=temperature, threshold=threshold)
    )
    if m['n']:
        fail = labels != meta.success_index
        called = probs[:, meta.success_index] >= threshold
        m['failure_accuracy'] = float((~called[fail]).mean()) if fail.any() else None
        if not called.any():
            m['precision'] = None  # no success called: precision is undefined, not 0
    return m


def choose_calibration(
    logits: np.ndarray, labels: np.ndarray, success_index: int, target_precision: float
) -> Any:
    """Temperature and threshold fitted on (out-of-fold) logits: ``calibrate.Calibration``."""
    import torch

    from .calibrate import calibrate

    return calibrate(
        torch.as_tensor(logits, dtype=torch.float64),
        torch.as_tensor(labels, dtype=torch.long),
        success_index,
        target_precision,
    )


def summarise(per_fold: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Mean and sd (ddof 0) over folds of each headline metric (folds where it is defined)."""
    out: dict[str, dict[str, float | None]] = {}
    for key in SUMMARY_KEYS:
        vals = [float(m[key]) for m in per_fold if m.get(key) is not None]
        out[key] = {
            'mean': float(np.mean(vals)) if vals else None,
            'sd': float(np.std(vals)) if vals else None,
            'folds': len(vals),
        }
    return out


def score_oof(
    logits: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    meta: Any,
    target_precision: float,
) -> dict[str, Any]:
    """Calibrate on all OOF logits; score every fold and the pool; cross-fit per fold."""
    k = int(folds.max()) + 1
    cal = choose_calibration(logits, labels, meta.success_index, target_precision)
    t, thr = cal.temperature, cal.threshold
    per_fold = [
        fold_metrics(logits[folds == i], labels[folds == i], t, thr, meta) for i in range(k)
    ]
    cross = []
    for i in range(k):
        rest = folds != i
        c = choose_calibration(logits[rest], labels[rest], meta.success_index, target_precision)
        m = fold_metrics(logits[~rest], labels[~rest], c.temperature, c.threshold, meta)
        cross.append(
            {
                'fold': i,
                'temperature': c.temperature,
                'threshold': c.threshold,
                **{key: m.get(key) for key in SUMMARY_KEYS},
            }
        )
    return {
        'calibration': cal.to_dict(),
        'folds': [{'fold': i, **m} for i, m in enumerate(per_fold)],
        'summary': summarise(per_fold),
        'pooled': fold_metrics(logits, labels, t, thr, meta),
        'cross_fitted': {'folds': cross, 'summary': summarise(cross)},
    }


def check_method(cfg: dict[str, Any]) -> str:
    """Validate ``train.method`` (gradient, linear_probe, distil) and return it."""
    method = str(cfg['train']['method'])
    if method in ('gradient', 'distil'):
        return method
    if method != 'linear_probe':
        raise ConfigError(f"train.method='{method}' must be gradient, linear_probe or distil")
    if int(cfg['model']['freeze']) != -1 or float(cfg['augment']['strength']) != 0:
        raise ConfigError(
            'train.method=linear_probe needs model.freeze=-1 (frozen backbone) and '
            'augment.strength=0 (features are computed once; augment.hflip adds mirrored copies)'
        )
    return method


def distiller(
    cfg: dict[str, Any],
    model_cfg: Any,
    meta: Any,
    class_names: tuple[str, ...],
    images: list[np.ndarray],
    labels: list[int],
    extra: list[np.ndarray],
    extra_labels: list[int] | None = None,
) -> Any:
    """Build the fold-independent part of ``train.method: distil`` (``distil.Distiller``)."""
    from .config import load_config
    from .distil import Distiller, DistilSettings
    from .models import build_model, ModelConfig
    from .train import model_metadata

    settings = DistilSettings.from_config(cfg)
    tcfg = load_config(settings.teacher)
    if check_method(tcfg) != 'linear_probe':
        raise ConfigError(
            f"distil.teacher='{settings.teacher}' must be a linear-probe recipe "
            f'(train.method linear_probe), not {tcfg["train"]["method"]}'
        )
    teacher_cfg = ModelConfig.from_dict(tcfg['model'])
    return Distiller(
        settings,
        build_model(teacher_cfg),
        model_metadata(teacher_cfg, class_names),
        float(tcfg['optim']['weight_decay']),
        lambda: build_model(model_cfg),
        meta,
        images,
        labels,
        extra,
        extra_labels or [],
        seed=int(cfg['seed']),
    )


def fit(
    cfg: dict[str, Any],
    model_cfg: Any,
    meta: Any,
    images: list[np.ndarray],
    labels: list[int],
    sources: list[int],
    shares: dict[int, float] | None,
    progress: bool,
    trainer_overrides: dict[str, Any] | None = None,
) -> Any:
    """Train the config's recipe on cached images for ``train.max_epochs``; return the model."""
    import lightning as L  # noqa: N812

    from .lit_module import build_augment, CachedImageSet, GraspDataModule, GraspLitModule, Loaders
    from .train import check_global_batch, optim_config, trainer_settings

    seed = int(cfg['seed'])
    L.seed_everything(seed, workers=True, verbose=False)
    tcfg = cfg['train']
    balance = str(cfg['data']['balance'])
    if balance not in ('sampler', 'loss', 'none'):
        raise ConfigError(f"data.balance='{balance}' must be sampler, loss or none")
    class_weights = None
    if balance == 'loss':
        counts = np.bincount(labels, minlength=meta.num_classes).astype(float)
        class_weights = (counts.sum() / (meta.num_classes * np.maximum(counts, 1))).tolist()
    aug = build_augment(cfg['augment']['strength'], bool(cfg['augment']['hflip']))
    dm = GraspDataModule(
        CachedImageSet(images, labels, meta, aug),
        CachedImageSet([], [], meta),
        None,
        Loaders(int(tcfg['batch_size']), int(tcfg['num_workers']), balance, seed, shares),
        train_sources=sources,
    )
    module = GraspLitModule(model_cfg, meta, optim_config(cfg['optim']), class_weights)
    limit = tcfg['limit_train_batches']
    trainer = L.Trainer(
        max_epochs=int(tcfg['max_epochs']),
        limit_train_batches=1.0 if limit is None else limit,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=progress,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **trainer_settings(cfg, trainer_overrides or {}),
    )
    check_global_batch(int(tcfg['batch_size']), trainer.world_size)
    trainer.fit(module, datamodule=dm)  # ddp_spawn: the weights come back to this process
    return module.model.eval()


def _source_shares(
    cfg: dict[str, Any], sources: list[int], n_real: int, n_folders: int
) -> dict[int, float] | None:
    """Sampler mass per data folder: extra folders share ``data.extra_share`` (as in train)."""
    share = cfg['data']['extra_share']
    if share is None or n_folders == n_real:
        return None
    share = float(share)
    if not 0.0 <= share < 1.0:
        raise ConfigError(f'data.extra_share={share} must be in [0, 1) or null')
    counts = {i: sources.count(i) for i in range(n_real)}
    total = max(1, sum(counts.values()))
    shares = {i: (1.0 - share) * n / total for i, n in counts.items()}
    shares.update(dict.fromkeys(range(n_real, n_folders), share / (n_folders - n_real)))
    return shares


def run_cv(
    data_dirs: list[Path],
    cfg: dict[str, Any],
    out: Path,
    *,
    k: int = 5,
    folds_file: Path | None = None,
    extra_data: list[Path] | None = None,
    refit: bool = False,
    shifts: list[str] | None = None,
    sources: Any = None,
    command: str | None = None,
    progress: bool = True,
    log: Any = print,
    int8: bool = False,
    trainer_overrides: dict[str, Any] | None = None,
    fold_models: bool = False,
) -> dict[str, Any]:
    """
    Cross-validate the config's recipe; write the report folder; return ``cv.json``'s data.

    ``fold_models``: also save each fold's model, which never saw its held-out fold, as
    ``fold_models/fold<K>.pt`` (a checkpoint for ``grasp-train export``) at the calibration
    cross-fitted without that fold: an honest starting point for studies on held-out
    sessions (``benchmarks/new_robot.py``).

    ``int8``: every fold model is also quantized (``quantize``, calibrated on a quarter
    of its fold's training images) and scored on its held-out fold at the FP32
    out-of-fold calibration: ``cv.json['int8']``, ``oof_int8.csv``, and (``--refit``)
    the gate entry in the refit checkpoint for ``grasp-train export --int8``.

    ``shifts`` (names in ``shifts.SHIFTS``): each held-out fold is also scored as another
    camera would see it, at the calibration chosen on the unshifted predictions.
    ``sources`` (``data.SourceOptions``): how recordings are read and the camera view.
    """
    import torch

    from .checkpoint import save_checkpoint
    from .linear_probe import fit_linear_probe
    from .models import build_model, ModelConfig
    from .plots import plot_reliability
    from .provenance import utc_now
    from .shifts import get_shift
    from .train import folder_info, model_metadata, predict_logits, run_header, train_cache_size

    t_start = time.perf_counter()
    extra = [Path(d) for d in extra_data or []]
    try:
        model_cfg = ModelConfig.from_dict(cfg['model'])
        build_model(model_cfg)  # validate (and find the weights) before the slow work
    except (TypeError, ValueError) as exc:
        raise ConfigError(f'model config {cfg["model"]}: {exc}') from exc
    regex = cfg['data']['group_regex'] or data_mod.DEFAULT_GROUP_REGEX
    view = sources or data_mod.SourceOptions()
    datasets = data_mod.scan_sources(
        [*data_dirs, *extra], group_regex=regex, options=view, log=log
    )
    class_names = tuple(datasets[0].class_names)
    for d, ds in zip([*data_dirs, *extra][1:], datasets[1:]):
        if tuple(ds.class_names) != class_names:
            raise data_mod.DatasetError(
                f"'{d}' has classes {list(ds.class_names)} but '{data_dirs[0]}' has "
                f'{list(class_names)}; every data folder needs the same class folders'
            )
    real = [s for ds in datasets[: len(data_dirs)] for s in ds.samples]
    keys = [data_mod.sample_key(s) for s in real]
    if len(set(keys)) != len(keys):
        raise data_mod.DatasetError('two images share a class/file name across the data folders')
    seed = int(cfg['seed'])
    split_seed = seed if cfg['data']['split_seed'] is None else int(cfg['data']['split_seed'])
    if folds_file is not None:
        folds = data_mod.Folds.read(folds_file)
        missing = [key for key in keys if key not in folds.fold_of]
        if missing or len(folds.fold_of) != len(keys):
            raise data_mod.DatasetError(
                f"folds file '{folds_file}' does not list exactly the images of the data "
                f'({len(folds.fold_of)} listed, {len(keys)} found, e.g. missing {missing[:2]})'
            )
        k = folds.k
    else:
        folds = data_mod.group_folds(real, k, seed=split_seed, group_regex=regex)
    fold = np.array([folds.fold_of[key] for key in keys])
    labels = np.array([s.label for s in real])
    out.mkdir(parents=True, exist_ok=True)
    folds.write(out / 'folds.json')
    dump(cfg, out / 'config.yaml')
    meta = model_metadata(model_cfg, class_names)
    command = command or shlex.join(sys.argv)
    folders = [
        folder_info(
            d, ds, 'cross-validated' if i < len(data_dirs) else 'train only (--extra-data)'
        )
        for i, (d, ds) in enumerate(zip([*data_dirs, *extra], datasets))
    ]
    run_info: dict[str, Any] = {
        **run_header(command, seed, model_cfg),
        'folds': k,
        'data': folders,
    }
    (out / 'run.json').write_text(json.dumps(run_info, indent=2))

    train_size = train_cache_size(cfg, meta)
    recs = [data_mod.sample_image(s) for s in real]
    train_imgs = cache_images_from(recs, train_size, meta, view)
    eval_imgs = cache_images_from(recs, meta.input_size, meta, view)
    shifted_imgs = {
        name: cache_images_from(
            [get_shift(name).apply(im, seed=j) for j, im in enumerate(recs)],
            meta.input_size,
            meta,
            view,
        )
        for name in shifts or []
    }
    extra_samples = [s for ds in datasets[len(data_dirs) :] for s in ds.samples]
    extra_imgs = cache_images_from(
        [data_mod.sample_image(s) for s in extra_samples], train_size, meta, view
    )
    extra_sources = [
        len(data_dirs) + j for j, ds in enumerate(datasets[len(data_dirs) :]) for _ in ds.samples
    ]
    real_sources = [i for i, ds in enumerate(datasets[: len(data_dirs)]) for _ in ds.samples]

    method = check_method(cfg)
    probe = method == 'linear_probe'
    if probe and extra_samples:
        raise ConfigError('train.method=linear_probe does not use --extra-data; drop it')
    distil = (
        distiller(
            cfg,
            model_cfg,
            meta,
            class_names,
            train_imgs,
            labels.tolist(),
            extra_imgs,
            [int(s.label) for s in extra_samples],
        )
        if method == 'distil'
        else None
    )

    def train_on(index: np.ndarray) -> Any:
        y = [int(labels[i]) for i in index] + [int(s.label) for s in extra_samples]
        if probe:
            return fit_linear_probe(
                build_model(model_cfg),
                [eval_imgs[i] for i in index],
                y,
                meta,
                l2=float(cfg['optim']['weight_decay']),
                hflip=bool(cfg['augment']['hflip']),
            )
        if distil is not None:
            o, t = cfg['optim'], cfg['train']
            return distil.student(
                index,
                epochs=int(t['max_epochs']),
                lr=float(o['lr']),
                weight_decay=float(o['weight_decay']),
                batch=int(t['batch_size']),
                warmup=float(o['warmup_fraction']),
                seed=seed,
            )
        imgs = [train_imgs[i] for i in index] + extra_imgs
        src = [real_sources[i] for i in index] + extra_sources
        shares = _source_shares(cfg, src, len(data_dirs), len(datasets))
        return fit(cfg, model_cfg, meta, imgs, y, src, shares, progress, trainer_overrides)

    oof = np.zeros((len(real), meta.num_classes))
    oof_int8 = np.zeros_like(oof)
    oof_shifted = {name: np.zeros_like(oof) for name in shifted_imgs}
    fold_times = []
    kept: dict[int, Any] = {}
    for i in range(k):
        t0 = time.perf_counter()
        trained = np.flatnonzero(fold != i)
        model = train_on(trained)
        if fold_models:
            kept[i] = model
        held = np.flatnonzero(fold == i)
        oof[held] = predict_logits(model, [eval_imgs[j] for j in held], meta).numpy()
        if int8:
            oof_int8[held] = int8_logits(model, meta, eval_imgs, trained, held)
        for name, imgs in shifted_imgs.items():
            oof_shifted[name][held] = predict_logits(model, [imgs[j] for j in held], meta).numpy()
        fold_times.append(round(time.perf_counter() - t0, 1))
        acc = float((oof[held].argmax(1) == labels[held]).mean())
        log(f'fold {i}: {len(held)} images, argmax accuracy {acc:.3f}, {fold_times[-1]} s')

    target = float(cfg['calibration']['target_precision'])
    report = score_oof(oof, labels, fold, meta, target)
    report.update(
        {
            'k': k,
            'n': int(len(real)),
            'fold_sizes': np.bincount(fold, minlength=k).tolist(),
            'fold_groups': [
                sorted({folds.group_of[key] for key, f in zip(keys, fold) if f == i})
                for i in range(k)
            ],
            'fold_wall_time_s': fold_times,
            'config': cfg,
        }
    )
    write_oof(out / 'oof.csv', keys, [folds.group_of[key] for key in keys], fold, labels, oof)
    cal = report['calibration']
    if int8:
        report['int8'] = int8_section(oof, oof_int8, labels, fold, meta, report)
        write_oof(
            out / 'oof_int8.csv',
            keys,
            [folds.group_of[key] for key in keys],
            fold,
            labels,
            oof_int8,
        )
        log(int8_line(report['int8']))
    if oof_shifted:
        report['shifts'] = shift_table(oof_shifted, labels, fold, meta, cal)
    probs = torch.softmax(torch.as_tensor(oof) / cal['temperature'], 1).numpy()
    plot_reliability(
        probs.max(1),
        probs.argmax(1) == labels,
        report['pooled']['ece'],
        out / 'reliability.png',
        15,
    )
    common = {
        'datasets': folders,
        'git': run_info['git'],
        'train_command': command,
        'seed': seed,
        'config': cfg,
        'pretrained_weights': run_info['pretrained_weights'],
    }
    for i, model in kept.items():
        cross = report['cross_fitted']['folds'][i]
        save_checkpoint(
            out / 'fold_models' / f'fold{i}.pt',
            model,
            model_cfg,
            meta.with_updates(temperature=cross['temperature'], threshold=cross['threshold']),
            epoch=int(cfg['train']['max_epochs']),
            metrics={},
            provenance={
                **common,
                'trained_on': f'the {int((fold != i).sum())} images outside fold {i} of {k}',
                'held_out_groups': report['fold_groups'][i],
                'calibration': {
                    'temperature': cross['temperature'],
                    'threshold': cross['threshold'],
                    'fitted_on': f'out-of-fold logits of the folds other than {i}',
                },
            },
        )
    if refit:
        t0 = time.perf_counter()
        model = train_on(np.arange(len(real)))
        calibrated = meta.with_updates(temperature=cal['temperature'], threshold=cal['threshold'])
        provenance = {
            **common,
            'trained_on': f'all {len(real)} images of the cross-validated folders',
            'calibration': {**cal, 'fitted_on': f'out-of-fold logits of {k}-fold CV'},
            'cv': {key: report['summary'][key] for key in SUMMARY_KEYS},
        }
        if int8:
            provenance['int8_cv'] = report['int8']['gate_entry']
        if distil is not None:
            provenance['distillation'] = {
                **cfg['distil'],
                'teacher_fitted_on': f'all {len(real)} images (per fold: its training images)',
            }
        save_checkpoint(
            out / 'refit' / 'checkpoints' / 'best.pt',
            model,
            model_cfg,
            calibrated,
            epoch=int(cfg['train']['max_epochs']),
            metrics={},
            provenance=provenance,
        )
        report['refit_wall_time_s'] = round(time.perf_counter() - t0, 1)
    (out / 'cv.json').write_text(json.dumps(report, indent=2, sort_keys=True))
    run_info['finished'] = utc_now()
    run_info['wall_time_s'] = round(time.perf_counter() - t_start, 1)
    (out / 'run.json').write_text(json.dumps(run_info, indent=2))
    return report


def shift_table(
    oof_shifted: dict[str, np.ndarray],
    labels: np.ndarray,
    folds: np.ndarray,
    meta: Any,
    cal: dict[str, Any],
) -> dict[str, Any]:
    """Score shifted held-out images per shift (pooled, fold mean) at the unshifted calibration."""
    from .shifts import get_shift

    k = int(folds.max()) + 1
    t, thr = cal['temperature'], cal['threshold']
    out = {}
    for name, logits in oof_shifted.items():
        per_fold = [
            fold_metrics(logits[folds == i], labels[folds == i], t, thr, meta) for i in range(k)
        ]
        pooled = fold_metrics(logits, labels, t, thr, meta)
        out[name] = {
            'description': get_shift(name).description,
            'mount': get_shift(name).mount,
            'pooled': {key: pooled.get(key) for key in SUMMARY_KEYS},
            'summary': summarise(per_fold),
        }
    return out


def int8_logits(
    model: Any, meta: Any, images: list[np.ndarray], trained: np.ndarray, held: np.ndarray
) -> np.ndarray:
    """Held-out logits of a fold model quantized on a quarter of its own training images."""
    from .export import to_torchscript
    from .quantize import quantize_module, run_onnx, split_calibration, to_batch

    calib, _ = split_calibration(len(trained))
    int8 = quantize_module(
        to_torchscript(model, meta), meta, to_batch([images[j] for j in trained[calib]], meta)
    )
    return run_onnx(int8, to_batch([images[j] for j in held], meta))


def int8_section(
    oof: np.ndarray,
    oof_int8: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    meta: Any,
    report: dict[str, Any],
) -> dict[str, Any]:
    """Score the int8 fold models at the FP32 out-of-fold calibration; the gate entry."""
    from grasp_classifier_ros.core.int8_backend import parity
    from grasp_classifier_ros.core.metadata import cv_gate_problem, MAX_ACCURACY_DROP

    from .quantize import cv_gate

    k = int(folds.max()) + 1
    t, thr = report['calibration']['temperature'], report['calibration']['threshold']
    per_fold = [
        fold_metrics(oof_int8[folds == i], labels[folds == i], t, thr, meta) for i in range(k)
    ]
    pooled = fold_metrics(oof_int8, labels, t, thr, meta)
    agree = parity(oof, oof_int8, meta.with_updates(temperature=t, threshold=thr))
    summary = summarise(per_fold)
    entry = {
        **cv_gate(report['pooled'], pooled),
        'fold_mean_fp32_accuracy': report['summary']['accuracy']['mean'],
        'fold_mean_int8_accuracy': summary['accuracy']['mean'],
        'oof_top1_agreement': agree.top1_agreement,
        'oof_verdict_agreement': agree.verdict_agreement,
        'folds': k,
        'images': int(len(labels)),
        'method': 'grasp-train cv --int8: each fold model quantized on every 4th of its '
        'training images, scored on its held-out fold at the FP32 out-of-fold temperature '
        'and threshold',
    }
    problem = cv_gate_problem(entry, MAX_ACCURACY_DROP)
    return {
        'folds': [{'fold': i, **m} for i, m in enumerate(per_fold)],
        'summary': summary,
        'pooled': pooled,
        'agreement_with_fp32': agree.to_dict(),
        'gate_entry': entry,
        'max_accuracy_drop': MAX_ACCURACY_DROP,
        'passed': not problem,
        'problem': problem,
    }


def int8_line(section: dict[str, Any]) -> str:
    """One line: int8 against FP32 out of fold, and the gate."""
    e = section['gate_entry']
    verdict = 'passes' if section['passed'] else f'FAILS ({section["problem"]})'
    return (
        f'int8 out of fold: accuracy {e["int8_accuracy"]:.3f} (FP32 {e["fp32_accuracy"]:.3f}), '
        f'failure-class accuracy {e["int8_failure_accuracy"]:.3f} (FP32 '
        f'{e["fp32_failure_accuracy"]:.3f}), same class as FP32 on '
        f'{e["oof_top1_agreement"]:.1%}; the 0.5-point gate {verdict}'
    )


def cache_images_from(
    images: list[np.ndarray], size: tuple[int, int], meta: Any, view: Any = None
) -> list[np.ndarray]:
    """
    Orient, crop and resize decoded RGB camera images with the runtime's ``crop_resize``.

    ``view`` (``data.SourceOptions``): the node's roi and camera mount (default: none).
    """
    from grasp_classifier_ros.core.preprocess import crop_resize

    view = view or data_mod.SourceOptions()
    rgb = meta.with_updates(input_height=size[0], input_width=size[1], color_order='rgb')
    return [crop_resize(im, 'rgb', rgb, view.roi, view.mount) for im in images]


def write_oof(
    path: Path,
    keys: list[str],
    groups: list[str],
    folds: np.ndarray,
    labels: np.ndarray,
    logits: np.ndarray,
) -> None:
    """One row per image: file, group, fold, label, raw logits."""
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(
            ['file', 'group', 'fold', 'label', *[f'logit_{i}' for i in range(logits.shape[1])]]
        )
        for row in zip(keys, groups, folds, labels, logits):
            w.writerow([row[0], row[1], int(row[2]), int(row[3]), *[f'{v:.6f}' for v in row[4]]])


def format_report(report: dict[str, Any]) -> str:
    """Human-readable per-fold and mean ± sd table."""
    cal = report['calibration']
    lines = [
        f'{report["k"]}-fold leave-sessions-out CV, {report["n"]} images; temperature '
        f'{cal["temperature"]:.3f}, threshold {cal["threshold"]:.3f} '
        '(chosen on out-of-fold predictions)',
        'fold     n  accuracy  failure-acc  precision  AUC    ECE',
    ]

    def fmt(v: Any) -> str:
        return f'{v:.3f}' if isinstance(v, (int, float)) else '  -  '

    for m in report['folds']:
        cells = [fmt(m.get(key)) for key in SUMMARY_KEYS]
        lines.append(
            f'{m["fold"]:>4} {m["n"]:>5}  {cells[0]}     {cells[1]}        {cells[2]}      '
            f'{cells[3]}  {cells[4]}'
        )
    s = report['summary']
    lines.append(
        'mean ± sd     '
        + '  '.join(f'{fmt(s[key]["mean"])}±{fmt(s[key]["sd"])}' for key in SUMMARY_KEYS)
    )
    p = report['pooled']
    lines.append(
        f'pooled out-of-fold: accuracy {fmt(p.get("accuracy"))}, failure-acc '
        f'{fmt(p.get("failure_accuracy"))}, precision {fmt(p.get("precision"))}, '
        f'AUC {fmt(p.get("roc_auc"))}, ECE {fmt(p.get("ece"))}'
    )
    if report.get('int8'):
        lines.append(int8_line(report['int8']))
    c = report['cross_fitted']['summary']
    lines.append(
        'cross-fitted calibration (each fold calibrated on the others): '
        + ', '.join(f'{key} {fmt(c[key]["mean"])}±{fmt(c[key]["sd"])}' for key in SUMMARY_KEYS)
    )
    if report.get('shifts'):
        lines.append('held-out sessions through another camera (same calibration):')
        lines.append('shift           accuracy (folds)  pooled  failure-acc  AUC')
        for name, row in report['shifts'].items():
            m, pooled = row['summary'], row['pooled']
            lines.append(
                f'{name:<15} {fmt(m["accuracy"]["mean"])}±{fmt(m["accuracy"]["sd"])}      '
                f'{fmt(pooled["accuracy"])}   {fmt(pooled["failure_accuracy"])}        '
                f'{fmt(pooled["roc_auc"])}'
            )
    return '\n'.join(lines)


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        'cv',
        help='leave-sessions-out cross-validation; out-of-fold calibration; optional refit',
        description='Cross-validate a training recipe with whole videos/sessions per fold, '
        'choose temperature and threshold on the out-of-fold predictions, and (--refit) '
        'train the shipped model on all images with that calibration.',
    )
    p.add_argument(
        'data',
        nargs='+',
        type=Path,
        help='class folder(s), rosbag2 bag(s) or video(s); each recording is one group',
    )
    p.add_argument(
        '--folds', type=int, help='number of folds K (default 5, or that of --folds-file)'
    )
    p.add_argument(
        '--folds-file', type=Path, help='reuse the folds of a folds.json (e.g. models/folds.json)'
    )
    p.add_argument('--out', type=Path, required=True, help='report folder to create')
    add_recipe_args(p, 'a folder used for training only in every fold (e.g. synthetic frames)')
    data_mod.add_source_args(p)
    from .train import add_trainer_flags

    add_trainer_flags(p)
    p.add_argument(
        '--refit',
        action='store_true',
        help='then train on all images: OUT/refit/checkpoints/best.pt',
    )
    p.add_argument(
        '--int8',
        action='store_true',
        help='also quantize every fold model to int8 and score it out of fold (the gate '
        'grasp-train export --int8 reads from the refit checkpoint)',
    )
    p.add_argument(
        '--fold-models',
        action='store_true',
        help='also save each fold model (never saw its held-out fold), calibrated without '
        'that fold, as OUT/fold_models/fold<K>.pt for grasp-train export',
    )
    p.add_argument(
        '--shifts',
        default='',
        help="comma-separated camera shifts to score held-out folds under too ('all': "
        'every one in shifts.py: rotations, field of view, tilt, noise, exposure, ...)',
    )
    p.set_defaults(func=run)


def parse_shifts(text: str) -> list[str]:
    """``--shifts`` names (or 'all'), checked before any work."""
    from .shifts import get_shift, SHIFTS

    if text.strip() == 'all':
        return list(SHIFTS)
    names = [n.strip() for n in text.split(',') if n.strip()]
    for n in names:
        get_shift(n)
    return names


def trainer_overrides(args: argparse.Namespace, method: str) -> dict[str, Any]:
    """
    Return the Lightning flags for each fold's fit (``train.method: gradient`` only).

    The fold models train one after another in this process. ``ddp_spawn`` starts a
    fold's processes inside its fit and hands the weights back; ``ddp`` would re-run the
    whole command (every fold, every report file) in every process, so it is refused.
    """
    from .train import refuse_trainer_flags, trainer_flags_given, trainer_overrides_from

    why = {
        'linear_probe': 'train.method=linear_probe fits its linear layer in closed form on '
        'frozen features (seconds, one CPU process); no Lightning trainer runs',
        'distil': 'train.method=distil trains its student in its own loop on cached CPU '
        'features (~30 s per fold), not with Lightning, and in one process',
    }
    if method in why:
        refuse_trainer_flags(args, why[method])
        return {}
    overrides = trainer_overrides_from(args)
    strategy = str(overrides.get('strategy') or '')
    if (
        strategy.startswith('ddp')
        and strategy != 'ddp_spawn'
        or (overrides.get('num_nodes') or 1) > 1
    ):
        raise ConfigError(
            f'{", ".join(trainer_flags_given(args))}: cv fits its fold models one after '
            'another in this process; use --strategy ddp_spawn (each fit starts and joins its '
            'processes) on one node, or grasp-train train for DDP across nodes'
        )
    if _processes(args) > 1 and strategy != 'ddp_spawn':
        raise ConfigError(
            f'--devices {args.devices}: several processes per fold need --strategy ddp_spawn '
            'in cv (Lightning would pick ddp, which re-runs the whole command)'
        )
    return overrides


def _processes(args: argparse.Namespace) -> int:
    """How many processes ``--devices`` asks for ('auto': every GPU, or one CPU process)."""
    devices = args.devices
    if devices is None:
        return 1
    if devices == 'auto':
        import torch

        cpu = args.accelerator == 'cpu' or not torch.cuda.is_available()
        return 1 if cpu else torch.cuda.device_count()
    return len(devices) if isinstance(devices, list) else int(devices)


def run(args: argparse.Namespace) -> int:
    from .train import resolve_config

    cfg = resolve_config(args.config, args.set, args.seed, args.max_epochs)
    overrides = trainer_overrides(args, check_method(cfg))
    if args.folds_file is not None and args.folds is not None:
        k_file = data_mod.Folds.read(args.folds_file).k
        if k_file != args.folds:
            raise ConfigError(
                f'--folds {args.folds} contradicts --folds-file {args.folds_file} '
                f'({k_file} folds); drop --folds'
            )
    report = run_cv(
        list(args.data),
        cfg,
        args.out,
        k=args.folds or 5,
        folds_file=args.folds_file,
        extra_data=list(args.extra_data),
        refit=args.refit,
        shifts=parse_shifts(args.shifts),
        sources=data_mod.source_options(args, print),
        progress=not args.no_progress,
        int8=args.int8,
        trainer_overrides=overrides,
        fold_models=args.fold_models,
    )
    print(format_report(report))
    print(f'report folder {args.out}')
    return 0
