# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train adapt``: learn a new robot's camera from its own recordings, honestly measured.

The one command a new lab runs. It starts from an exported model (default the shipped
one) and the trainable weights it carries (``CHECKPOINT_FILE``): its grasp-tuned
features, not ImageNet alone. Data are bags, videos or class folders, read by the
runtime's one reader with the node's camera view (``--params``: roi, image_rotation,
image_flip) applied exactly as the node applies it.

1. **Before**: the starting model, as deployed (its own temperature and threshold),
   on every frame.
2. **Leave-recordings-out CV**: whole recordings per fold (``data.group_folds``); in
   each fold the recipe (``adapt:`` in the config) adapts on the other recordings and
   predicts the held-out ones. ``finetune`` trains the starting model's trainable
   blocks and linear layer, from its own weights, on fixed augmented views of the
   fold's frames (its BatchNorm statistics kept, L2-SP towards the starting weights):
   a few recordings move it a little, many move it more, and what they do not show
   (kinds of grasp nobody recorded) it keeps from the start. ``probe`` refits the
   linear layer only, pulled towards the starting one.
3. **Calibration** on the out-of-fold logits (temperature, then the threshold for the
   target success precision); **after** is scored cross-fitted (each fold at the
   calibration chosen without it), the honest estimate of the shipped threshold.
4. **Before vs after** per recording, with 95 % bootstrap intervals over recordings
   (paired), and a warning when the data are too few to trust.
5. **Refit** on every frame and export ``OUT/model.pt`` only when the adapted model
   is better out of fold (higher balanced accuracy: a model that calls every grasp a
   failure is not better for it); ``--force`` writes it anyway, saying so.

``--learning-curve`` re-runs the CV with 1, 2, 4, ... training recordings per fold:
accuracy against the number of labelled recordings and episodes.
Output: ``model.pt`` (+ ``checkpoint.pt``), ``report.json``, ``report.md``,
``folds.json``, ``oof.csv``, ``reliability.png`` and ``learning_curve.png``.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import asdict, dataclass
import hashlib
import json
import math
from pathlib import Path
import shlex
import sys
import time
from typing import Any

import numpy as np

from . import data as data_mod
from .config import ConfigError

MIN_RECORDINGS = 3  # fewer: the CV cannot say much about an unseen recording
MIN_PER_CLASS = 10  # fewer failures (or successes): the class's accuracy is a coin's worth
BOOTSTRAP = 2000
MAX_FOLDS = 5
MIN_STEPS = 25


class AdaptError(ValueError):
    """Adaptation cannot run as asked (too little data, a model without weights, ...)."""


@dataclass(frozen=True)
class AdaptSettings:
    """The ``adapt`` config section: how one fold adapts the starting model."""

    method: str = 'finetune'
    epochs: int = 20
    lr: float = 0.0005
    weight_decay: float = 0.0
    l2sp: float = 0.1
    batch: int = 64
    views: int = 16
    strength: float = 0.5
    warmup: float = 0.1
    probe_l2: float = 1.0
    label_smoothing: float = 0.05
    target_precision: float | None = None  # None: the starting model's recipe's
    temperature: str = 'start'  # start: keep the starting model's | fit: on out-of-fold logits
    threshold_floor: bool = True  # never below the starting model's threshold

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> AdaptSettings:
        raw = dict(cfg.get('adapt') or {})
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f'unknown adapt settings {unknown}')
        s = cls(**raw)
        if s.method not in ('finetune', 'probe'):
            raise ConfigError(f"adapt.method='{s.method}' must be finetune or probe")
        if s.temperature not in ('start', 'fit'):
            raise ConfigError(f"adapt.temperature='{s.temperature}' must be start or fit")
        if s.views < 1 or s.epochs < 0 or s.batch < 1:
            raise ConfigError('adapt.views and adapt.batch must be >= 1, adapt.epochs >= 0')
        return s


# -- the starting model ------------------------------------------------------------------------


@dataclass
class StartModel:
    """An exported model and the trainable weights it carries."""

    path: Path
    sha256: str
    model: Any  # the eager nn.Module (eval mode)
    model_cfg: Any  # models.ModelConfig
    meta: Any  # its runtime ModelMetadata (temperature, threshold, provenance)
    recipe: dict[str, Any]  # the config it was trained with


def load_start(path: Path) -> StartModel:
    """Read an exported model and rebuild its trainable network from the checkpoint it carries."""
    from grasp_classifier_ros.core.model import read_metadata

    from .checkpoint import load_embedded, restore

    meta = read_metadata(path)
    model, model_cfg, _ = restore(load_embedded(path))
    if getattr(model, 'frozen', 0) < 1 and model_cfg.name == 'efficientnet_lite0':
        raise AdaptError(
            f"'{path}' has no frozen stem (model.freeze < 1): adapt needs an "
            'efficientnet_lite0 model like the shipped one'
        )
    if model_cfg.name != 'efficientnet_lite0':
        raise AdaptError(
            f"'{path}' is a {model_cfg.name}; adapt starts from an efficientnet_lite0 model "
            '(the shipped default, or one adapt wrote)'
        )
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    recipe = dict(meta.provenance.get('config') or {})
    return StartModel(path, sha, model, model_cfg, meta, recipe)


# -- one fold's adaptation ---------------------------------------------------------------------


class Adapter:
    """
    Fold-independent work done once: the frozen stem's activations over views of every image.

    ``images`` are RGB uint8 camera images at the cache size, the camera view (roi, mount)
    already applied; ``labels`` index the starting model's classes.
    """

    def __init__(
        self,
        start: StartModel,
        images: list[np.ndarray],
        labels: np.ndarray,
        settings: AdaptSettings,
        seed: int = 0,
    ) -> None:
        import torch

        from .distil import _batches, frozen_stem, make_views

        self.start = start
        self.settings = settings
        self.seed = seed
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
        stem = frozen_stem(start.model).eval()
        acts = []
        with torch.inference_mode():
            for view in make_views(images, settings.views, settings.strength, seed):
                acts.append(torch.cat([stem(x) for x in _batches(view, start.meta)]))
        self.activations = torch.stack(acts)  # views x images x C x h x w

    def fit(self, index: np.ndarray) -> Any:
        """Adapt a copy of the starting model on the images ``index``; return it in eval mode."""
        import torch
        from torch import nn
        from torch.nn import functional as F  # noqa: N812

        from .distil import tail_features, trained_tail
        from .linear_probe import fit_logistic

        s = self.settings
        idx = torch.as_tensor(np.asarray(index), dtype=torch.long)
        y = self.labels[idx]
        model = copy.deepcopy(self.start.model).eval()
        n_classes = int(model.fc.out_features)
        counts = torch.bincount(y, minlength=n_classes).double()
        if int((counts > 0).sum()) < 2:
            return model  # one class only: nothing to learn a boundary from; keep the start
        if s.method == 'probe' or s.epochs == 0:
            # The linear layer refitted on the new frames, pulled towards the starting one.
            first = min(2, s.views)
            with torch.no_grad():
                feats = torch.cat(
                    [tail_features(model, self.activations[v, idx]) for v in range(first)]
                )
                fitted = fit_logistic(feats.double(), y.repeat(first), s.probe_l2, model.fc)
                model.fc.weight.copy_(fitted.weight)
                model.fc.bias.copy_(fitted.bias)
            return model.eval()
        weights = (counts.sum() / (n_classes * counts.clamp_min(1))).float()
        params = [p for p in model.parameters() if p.requires_grad]
        anchor = [p.detach().clone() for p in params]
        opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)
        # At least MIN_STEPS: the one-cycle schedule needs room for its warm-up.
        steps = max(MIN_STEPS, s.epochs * math.ceil(len(idx) / s.batch))
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=s.lr, total_steps=steps, pct_start=s.warmup
        )
        gen = torch.Generator().manual_seed(self.seed)
        model.train()
        for m in model.modules():
            # Batches of a few dozen new frames would drag the BatchNorm statistics about.
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        for _ in range(steps):
            j = torch.randint(0, len(idx), (s.batch,), generator=gen)
            v = torch.randint(0, s.views, (s.batch,), generator=gen)
            logits = trained_tail(model, self.activations[v, idx[j]])
            loss = F.cross_entropy(logits, y[j], weight=weights, label_smoothing=s.label_smoothing)
            if s.l2sp:
                drift = sum(((p - a) ** 2).sum() for p, a in zip(params, anchor))
                loss = loss + 0.5 * s.l2sp * drift
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        return model.eval()


# -- scores ------------------------------------------------------------------------------------


def binary_scores(called: np.ndarray, success: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-class accuracy, balanced accuracy and success precision of decisions."""
    n, n_s = len(success), int(success.sum())
    n_f = n - n_s
    right = called == success
    out: dict[str, Any] = {
        'n': n,
        'n_success': n_s,
        'n_failure': n_f,
        'accuracy': float(right.mean()) if n else None,
        'success_accuracy': float(right[success].mean()) if n_s else None,
        'failure_accuracy': float(right[~success].mean()) if n_f else None,
        'false_successes': int((called & ~success).sum()),
        'false_failures': int((~called & success).sum()),
        'precision': float(success[called].mean()) if called.any() else None,
    }
    per = [v for v in (out['success_accuracy'], out['failure_accuracy']) if v is not None]
    out['balanced_accuracy'] = float(np.mean(per)) if per else None
    return out


def bootstrap(
    groups: np.ndarray,
    success: np.ndarray,
    right_before: np.ndarray,
    right_after: np.ndarray,
    reps: int = BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """95 % intervals of accuracy and balanced accuracy, before, after and after - before."""
    names = sorted(set(groups.tolist()))
    g = np.array([names.index(x) for x in groups])
    k = len(names)

    def per_group(mask: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=mask.astype(float), minlength=k)

    n_s, n_f = per_group(success), per_group(~success)
    tallies = {
        'before': (per_group(right_before & success), per_group(right_before & ~success)),
        'after': (per_group(right_after & success), per_group(right_after & ~success)),
    }
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, k, size=(reps, k))
    counts = np.stack([np.bincount(d, minlength=k) for d in draws]).astype(float)

    def metrics(which: str) -> tuple[np.ndarray, np.ndarray]:
        rs, rf = tallies[which]
        ns, nf = counts @ n_s, counts @ n_f
        acc = (counts @ (rs + rf)) / np.maximum(ns + nf, 1)
        with np.errstate(invalid='ignore', divide='ignore'):
            bal = np.nanmean(np.stack([(counts @ rs) / ns, (counts @ rf) / nf]), axis=0)
        return acc, bal

    out: dict[str, Any] = {'recordings': k, 'reps': reps}
    acc_b, bal_b = metrics('before')
    acc_a, bal_a = metrics('after')
    for name, values in (
        ('accuracy_before', acc_b),
        ('accuracy_after', acc_a),
        ('accuracy_gain', acc_a - acc_b),
        ('balanced_accuracy_before', bal_b),
        ('balanced_accuracy_after', bal_a),
        ('balanced_accuracy_gain', bal_a - bal_b),
    ):
        v = values[np.isfinite(values)]
        out[name] = (
            [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if len(v) else None
        )
    return out


@dataclass(frozen=True)
class AdaptCalibration:
    """Temperature and threshold of an adapted model, and how they were chosen."""

    temperature: float
    threshold: float
    chosen_threshold: float  # what the out-of-fold data asked for, before the floor
    floor: float | None  # the starting model's threshold, when it applies

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_adapt_calibration(
    logits: np.ndarray,
    labels: np.ndarray,
    success_index: int,
    target: float,
    settings: AdaptSettings,
    start_meta: Any,
) -> AdaptCalibration:
    """
    Calibrate adapted logits: temperature (the start's, or fitted), then the threshold.

    The threshold is the lowest reaching ``target`` success precision on these logits, but
    not below the starting model's (``threshold_floor``): a few easy recordings (every
    failure an open gripper, say) would otherwise pull it down to where an unseen kind of
    failure passes as a grasp that held.
    """
    import torch

    from .calibrate import select_threshold
    from .cv import choose_calibration

    if settings.temperature == 'fit':
        t = choose_calibration(logits, labels, success_index, target).temperature
    else:
        t = float(start_meta.temperature)
    p = torch.softmax(torch.as_tensor(logits, dtype=torch.float64) / t, 1).numpy()
    chosen = select_threshold(p[:, success_index], labels == success_index, target).threshold
    floor = float(start_meta.threshold) if settings.threshold_floor else None
    return AdaptCalibration(t, max(chosen, floor or 0.0), chosen, floor)


def cross_fitted(
    logits: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    success_index: int,
    target: float,
    settings: AdaptSettings,
    start_meta: Any,
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Success probabilities and decisions of each fold at a calibration chosen without it."""
    import torch

    p = np.zeros(len(labels))
    called = np.zeros(len(labels), bool)
    cals = []
    for i in range(int(folds.max()) + 1):
        rest, held = folds != i, folds == i
        c = choose_adapt_calibration(
            logits[rest], labels[rest], success_index, target, settings, start_meta
        )
        probs = torch.softmax(torch.as_tensor(logits[held]) / c.temperature, 1).numpy()
        p[held] = probs[:, success_index]
        called[held] = p[held] >= c.threshold
        cals.append({'fold': i, **c.to_dict()})
    return p, called, cals


# -- the run -------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """The user's data as adapt needs it: cached images, labels, groups, episodes."""

    samples: list[Any]
    labels: np.ndarray  # class indices of the starting model
    success: np.ndarray  # bool
    groups: np.ndarray  # recording of each frame
    episodes: np.ndarray  # '<recording>#<episode>'
    train_imgs: list[np.ndarray]
    eval_imgs: list[np.ndarray]
    datasets: list[Any]


def prepare(
    sources: list[Path], start: StartModel, view: data_mod.SourceOptions, cache: int, log: Any
) -> Prepared:
    """Read the data with the starting model's class names; cache it through the camera view."""
    from .cv import cache_images_from

    meta = start.meta
    datasets = data_mod.scan_sources(sources, options=view, log=log, class_names=meta.class_names)
    for src, ds in zip(sources, datasets):
        if tuple(ds.class_names) != tuple(meta.class_names):
            raise AdaptError(
                f"'{src}' has classes {list(ds.class_names)}, the starting model "
                f'{list(meta.class_names)}: name the class folders like the model'
            )
    samples = [s for ds in datasets for s in ds.samples]
    keys = [data_mod.sample_key(s) for s in samples]
    if len(set(keys)) != len(keys):
        raise AdaptError('two images share a name across the data (the same data given twice?)')
    labels = np.array([s.label for s in samples])
    images = [data_mod.sample_image(s) for s in samples]
    size = (max(cache, meta.input_height), max(cache, meta.input_width))
    return Prepared(
        samples,
        labels,
        labels == meta.success_index,
        np.array([s.group for s in samples]),
        np.array([_episode(s) for s in samples]),
        cache_images_from(images, size, meta, view),
        cache_images_from(images, meta.input_size, meta, view),
        datasets,
    )


def _episode(sample: Any) -> str:
    """Return a sample's episode: a recording's labelled attempt; a file's session and class."""
    return sample.episode or f'{sample.group}#{sample.class_name}'


def predict_start(start: StartModel, images: list[np.ndarray]) -> np.ndarray:
    """Return p(success) of the starting model as deployed: its file through the runtime."""
    from grasp_classifier_ros.core.model import load_model
    from grasp_classifier_ros.core.preprocess import normalize_batch
    import torch

    loaded = load_model(start.path, device='cpu', fp16=False, warmup_runs=0)
    out = []
    for i in range(0, len(images), 64):
        x = torch.from_numpy(np.stack(images[i : i + 64])).permute(0, 3, 1, 2)
        out.append(loaded.predict(normalize_batch(x, loaded.metadata)))
    return np.concatenate(out)[:, start.meta.success_index]


def run_adapt(
    sources: list[Path],
    out: Path,
    *,
    start_path: Path,
    cfg: dict[str, Any],
    view: data_mod.SourceOptions | None = None,
    folds: int = MAX_FOLDS,
    force: bool = False,
    learning_curve: bool = False,
    command: str | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Adapt, measure before and after, and write the report (and the model when better)."""
    import torch

    from .cv import write_oof
    from .provenance import git_revision, library_versions, utc_now

    t0 = time.perf_counter()
    settings = AdaptSettings.from_config(cfg)
    seed = int(cfg['seed'])
    view = view or data_mod.SourceOptions()
    start = load_start(start_path)
    meta = start.meta
    target = settings.target_precision or float(
        start.recipe.get('calibration', {}).get('target_precision', 0.95)
    )
    prep = prepare(sources, start, view, int(cfg['data']['cache_size'][0]), log)
    recordings = sorted(set(prep.groups.tolist()))
    if len(recordings) < 2:
        raise AdaptError(
            f'adapt needs at least 2 recordings (sessions) for leave-recordings-out CV; got '
            f'{len(recordings)} ({recordings[0]}): record more grasps as separate bags'
        )
    if prep.success.all() or not prep.success.any():
        raise AdaptError('the data hold only one class: record both held and failed grasps')
    out.mkdir(parents=True, exist_ok=True)
    k = min(folds, len(recordings))
    fold_spec = data_mod.group_folds(prep.samples, k, seed=seed)
    keys = [data_mod.sample_key(s) for s in prep.samples]
    fold = np.array([fold_spec.fold_of[key] for key in keys])
    fold_spec.write(out / 'folds.json')
    log(
        f'{len(prep.samples)} frames of {len(recordings)} recordings '
        f'({int(prep.success.sum())} success, {int((~prep.success).sum())} failure); '
        f'{k}-fold leave-recordings-out CV of adapt.method={settings.method}'
    )

    # Before: the starting model as deployed, on every frame.
    t1 = time.perf_counter()
    p_before = predict_start(start, prep.eval_imgs)
    called_before = p_before >= meta.threshold

    adapter = Adapter(start, prep.train_imgs, prep.labels, settings, seed)
    log(f'views of every frame: {time.perf_counter() - t1:.1f} s')
    oof = np.zeros((len(keys), meta.num_classes))
    fold_times = []
    for i in range(k):
        t1 = time.perf_counter()
        model = adapter.fit(np.flatnonzero(fold != i))
        held = np.flatnonzero(fold == i)
        oof[held] = _logits(model, [prep.eval_imgs[j] for j in held], meta)
        fold_times.append(round(time.perf_counter() - t1, 1))
        log(f'fold {i}: {len(held)} frames held out, {fold_times[-1]} s')
    cal = choose_adapt_calibration(oof, prep.labels, meta.success_index, target, settings, meta)
    p_after, called_after, fold_cals = cross_fitted(
        oof, prep.labels, fold, meta.success_index, target, settings, meta
    )
    before = binary_scores(called_before, prep.success)
    after = binary_scores(called_after, prep.success)
    before['roc_auc'] = _auc(p_before, prep.success)
    after['roc_auc'] = _auc(p_after, prep.success)
    interval = bootstrap(
        prep.groups,
        prep.success,
        called_before == prep.success,
        called_after == prep.success,
        seed=seed,
    )
    per_recording = []
    for r in recordings:
        m = prep.groups == r
        per_recording.append(
            {
                'recording': r,
                'frames': int(m.sum()),
                'episodes': len(set(prep.episodes[m].tolist())),
                'fold': int(fold[m][0]),
                'before': binary_scores(called_before[m], prep.success[m]),
                'after': binary_scores(called_after[m], prep.success[m]),
            }
        )
    warnings = data_warnings(len(recordings), before['n_failure'], before['n_success'])
    better = (after['balanced_accuracy'] or 0.0) > (before['balanced_accuracy'] or 0.0)
    write_oof(out / 'oof.csv', keys, prep.groups.tolist(), fold, prep.labels, oof)
    _plot_reliability(p_after, prep.success, out / 'reliability.png')

    report: dict[str, Any] = {
        'command': command or shlex.join(sys.argv),
        'start_model': {
            'path': str(start.path),
            'sha256': start.sha256,
            'threshold': meta.threshold,
            'temperature': meta.temperature,
        },
        'data': [str(s) for s in sources],
        'view': _view_dict(view),
        'settings': asdict(settings),
        'target_precision': target,
        'frames': len(keys),
        'recordings': len(recordings),
        'episodes': len(set(prep.episodes.tolist())),
        'folds': k,
        'fold_wall_time_s': fold_times,
        'calibration': {
            **cal.to_dict(),
            'fitted_on': f'out-of-fold logits of {k}-fold leave-recordings-out CV',
            'cross_fitted_folds': fold_cals,
        },
        'before': before,
        'after': after,
        'after_scored': 'cross-fitted: each fold at the calibration chosen without it',
        'bootstrap_95': interval,
        'per_recording': per_recording,
        'warnings': warnings,
        'better': better,
        'decision_rule': 'after is better when its out-of-fold balanced accuracy (mean of the '
        'success- and failure-class accuracy) beats the starting model as deployed',
        'git': git_revision(),
        'versions': library_versions(),
        'started': utc_now(),
    }
    if learning_curve:
        report['learning_curve'] = run_learning_curve(adapter, prep, fold, meta, target, seed, log)
        _plot_learning_curve(report['learning_curve'], before, out / 'learning_curve.png')
    report['model'] = None
    if better or force:
        t1 = time.perf_counter()
        report['model'] = export_adapted(adapter, prep, start, cal, report, out, log)
        report['refit_wall_time_s'] = round(time.perf_counter() - t1, 1)
    report['wall_time_s'] = round(time.perf_counter() - t0, 1)
    (out / 'report.json').write_text(json.dumps(report, indent=2, default=_json))
    (out / 'report.md').write_text(report_markdown(report))
    del torch
    return report


def _logits(model: Any, images: list[np.ndarray], meta: Any) -> np.ndarray:
    from .train import predict_logits

    return predict_logits(model, images, meta).numpy()


def _auc(p: np.ndarray, success: np.ndarray) -> float | None:
    from grasp_classifier_ros.core.metrics import roc_auc

    if success.all() or not success.any():
        return None
    return float(roc_auc(success.astype(int), p))


def _json(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f'{type(value).__name__} is not JSON-serialisable')


def _view_dict(view: data_mod.SourceOptions) -> dict[str, Any]:
    return {
        'image_rotation': view.mount.rotation,
        'image_flip': view.mount.flip,
        'roi': list(view.roi),
    }


def data_warnings(recordings: int, failures: int, successes: int) -> list[str]:
    """Say when the data are too few for the figures to be trusted."""
    out = []
    if recordings < MIN_RECORDINGS:
        out.append(
            f'only {recordings} recordings: out-of-fold figures say little about an unseen '
            f'recording; record at least {MIN_RECORDINGS} (better 10) sessions'
        )
    for n, name in ((failures, 'failed'), (successes, 'held')):
        if n < MIN_PER_CLASS:
            out.append(
                f'only {n} {name}-grasp frames: the {name} class accuracy is too uncertain; '
                f'record at least {MIN_PER_CLASS} {name} grasps'
            )
    return out


def export_adapted(
    adapter: Adapter,
    prep: Prepared,
    start: StartModel,
    cal: Any,
    report: dict[str, Any],
    out: Path,
    log: Any,
) -> dict[str, Any]:
    """Refit on every frame; write checkpoint.pt and the exported, calibrated model.pt."""
    from .checkpoint import save_checkpoint
    from .export import export_checkpoint

    model = adapter.fit(np.arange(len(prep.samples)))
    meta = start.meta
    provenance = {
        **{k: v for k, v in meta.provenance.items() if k not in ('export', 'checkpoint_epoch')},
        'adapted': {
            'from': report['start_model'],
            'data': [_dataset_info(d) for d in prep.datasets],
            'view': report['view'],
            'settings': report['settings'],
            'command': report['command'],
            'cv': {
                'folds': report['folds'],
                'before': {k: report['before'][k] for k in ('accuracy', 'balanced_accuracy')},
                'after': {k: report['after'][k] for k in ('accuracy', 'balanced_accuracy')},
                'better': report['better'],
            },
        },
        'calibration': {
            'temperature': cal.temperature,
            'threshold': cal.threshold,
            'fitted_on': report['calibration']['fitted_on'],
        },
    }
    calibrated = meta.with_updates(
        temperature=cal.temperature, threshold=cal.threshold, provenance=provenance
    )
    ckpt = save_checkpoint(
        out / 'checkpoint.pt',
        model,
        start.model_cfg,
        calibrated,
        epoch=adapter.settings.epochs,
        metrics={},
        provenance=provenance,
    )
    result = export_checkpoint(
        ckpt,
        out / 'model.pt',
        command=report['command'],
        log=log,
        familiarity_record=familiarity_of(prep, report, log),
    )
    sha = hashlib.sha256(result.path.read_bytes()).hexdigest()
    return {'path': str(result.path), 'sha256': sha, 'forced': not report['better']}


def familiarity_of(prep: Prepared, report: dict[str, Any], log: Any) -> Any:
    """
    Return the reference statistics of the adapted model's inputs (the recordings), or None.

    None (logged) when they cannot be fitted: the written model then has no monitor limits.
    """
    from grasp_classifier_ros.core.familiarity import FamiliarityError

    from .familiarity import record_from_inputs

    order = sorted(range(len(prep.samples)), key=lambda i: (prep.groups[i], i))
    try:
        record = record_from_inputs(
            [prep.eval_imgs[i] for i in order],
            [str(prep.groups[i]) for i in order],
            {'data': report['data'], 'view': report['view'], 'command': report['command']},
        )
    except FamiliarityError as exc:
        log(f'familiarity: no reference statistics in the adapted model ({exc})')
        return None
    log(
        f'familiarity: limits distance {record.threshold:.2f}, turn ratio '
        f'{record.orientation_threshold:.2f} from {record.groups} recordings'
    )
    return record


def _dataset_info(ds: Any) -> dict[str, Any]:
    return {
        'path': str(Path(ds.root).resolve()),
        'frames': len(ds.samples),
        'manifest_sha256': data_mod.manifest_hash(ds),
    }


# -- learning curve --------------------------------------------------------------------------


def run_learning_curve(
    adapter: Adapter,
    prep: Prepared,
    fold: np.ndarray,
    meta: Any,
    target: float,
    seed: int,
    log: Any,
) -> list[dict[str, Any]]:
    """Accuracy on held-out folds when adapting on 1, 2, 4, ... of the training recordings."""
    rng = np.random.default_rng(seed)
    k = int(fold.max()) + 1
    most = min(len(set(prep.groups[fold != i].tolist())) for i in range(k))
    sizes = sorted({min(most, 2**j) for j in range(int(math.log2(max(most, 1))) + 1)} | {most})
    rows = []
    for n in sizes:
        called = np.zeros(len(fold), bool)
        episodes = []
        for i in range(k):
            train_groups = sorted(set(prep.groups[fold != i].tolist()))
            chosen = rng.choice(train_groups, size=n, replace=False)
            idx = np.flatnonzero(np.isin(prep.groups, chosen))
            episodes.append(len(set(prep.episodes[idx].tolist())))
            model = adapter.fit(idx)
            held = np.flatnonzero(fold == i)
            fit_logits = _logits(model, [prep.eval_imgs[j] for j in idx], meta)
            if len(set(prep.labels[idx].tolist())) > 1:
                c = choose_adapt_calibration(
                    fit_logits,
                    prep.labels[idx],
                    meta.success_index,
                    target,
                    adapter.settings,
                    meta,
                )
                t, thr = c.temperature, c.threshold
            else:
                t, thr = meta.temperature, meta.threshold
            logits = _logits(model, [prep.eval_imgs[j] for j in held], meta)
            z = logits / t
            p = np.exp(z - z.max(1, keepdims=True))
            p = p[:, meta.success_index] / p.sum(1)
            called[held] = p >= thr
        s = binary_scores(called, prep.success)
        row = {
            'recordings': int(n),
            'episodes_mean': float(np.mean(episodes)),
            'accuracy': s['accuracy'],
            'failure_accuracy': s['failure_accuracy'],
            'success_accuracy': s['success_accuracy'],
            'balanced_accuracy': s['balanced_accuracy'],
        }
        rows.append(row)
        log(
            f'learning curve: {n} recordings (~{row["episodes_mean"]:.0f} episodes) -> '
            f'accuracy {s["accuracy"]:.3f}, failure-class {s["failure_accuracy"]}'
        )
    return rows


# -- report ------------------------------------------------------------------------------------


def _pct(v: Any) -> str:
    return '-' if v is None else f'{100 * v:.1f} %'


def _auc_text(v: float | None) -> str:
    return '-' if v is None else f'{v:.3f}'


def _span(v: Any) -> str:
    return '-' if not v else f'{100 * v[0]:.1f} .. {100 * v[1]:.1f}'


def report_markdown(r: dict[str, Any]) -> str:
    """Render the report a person reads: before / after, per recording, intervals, verdict."""
    b, a, ci = r['before'], r['after'], r['bootstrap_95']
    lines = [
        '# grasp-train adapt',
        '',
        f'`{r["command"]}`',
        '',
        f'Starting model `{r["start_model"]["path"]}` '
        f'(sha256 `{r["start_model"]["sha256"][:12]}…`, threshold '
        f'{r["start_model"]["threshold"]:.3f}); {r["frames"]} frames of '
        f'{r["recordings"]} recordings ({r["episodes"]} episodes); camera view '
        f'image_rotation {r["view"]["image_rotation"]}, image_flip '
        f'{str(r["view"]["image_flip"]).lower()}, roi {r["view"]["roi"]}; '
        f'{r["folds"]}-fold leave-recordings-out CV of `adapt.method: {r["settings"]["method"]}`.',
        '',
    ]
    if r['warnings']:
        lines += ['**Too little data to trust these figures:**', '']
        lines += [f'- {w}' for w in r['warnings']]
        lines.append('')
    lines += [
        '| | accuracy (95 % interval over recordings) | balanced | failure-class | '
        'success-class | false successes | AUC |',
        '|---|---|---|---|---|---|---|',
    ]
    for name, m, acc_ci in (
        ('before: the starting model as deployed', b, ci['accuracy_before']),
        ('after: adapted, out of fold (cross-fitted)', a, ci['accuracy_after']),
    ):
        lines.append(
            f'| {name} | {_pct(m["accuracy"])} ({_span(acc_ci)}) | '
            f'{_pct(m["balanced_accuracy"])} | {_pct(m["failure_accuracy"])} | '
            f'{_pct(m["success_accuracy"])} | {m["false_successes"]} of {m["n_failure"]} | '
            f'{_auc_text(m.get("roc_auc"))} |'
        )
    lines += [
        '',
        f'Gain (after - before), 95 % bootstrap interval over recordings: accuracy '
        f'{_span(ci["accuracy_gain"])} points, balanced accuracy '
        f'{_span(ci["balanced_accuracy_gain"])} points.',
        '',
    ]
    model = r.get('model')
    if model and not model.get('forced'):
        lines.append(
            f'**Better out of fold: wrote `{model["path"]}`** (sha256 `{model["sha256"]}`, '
            f'temperature {r["calibration"]["temperature"]:.3f}, threshold '
            f'{r["calibration"]["threshold"]:.3f}: {_threshold_story(r)}).'
        )
    elif model:
        lines.append(
            f'**Not better out of fold, written anyway (--force): `{model["path"]}`** '
            f'(sha256 `{model["sha256"]}`).'
        )
    else:
        lines.append(
            '**Not better than the starting model out of fold: no model written** '
            '(--force writes it anyway).'
        )
    lines += [
        '',
        f'Decision rule: {r["decision_rule"]}.',
        '',
        '## Per recording',
        '',
        '| recording | frames | episodes | fold | before | after | '
        'false successes before → after |',
        '|---|---|---|---|---|---|---|',
    ]
    for p in r['per_recording']:
        lines.append(
            f'| {p["recording"]} | {p["frames"]} | {p["episodes"]} | {p["fold"]} | '
            f'{_pct(p["before"]["accuracy"])} | {_pct(p["after"]["accuracy"])} | '
            f'{p["before"]["false_successes"]} → {p["after"]["false_successes"]} |'
        )
    if r.get('learning_curve'):
        lines += [
            '',
            '## Learning curve (held-out folds, adapting on a subset of the training recordings)',
            '',
            '| recordings | episodes (mean) | accuracy | failure-class | success-class |',
            '|---|---|---|---|---|',
        ]
        for row in r['learning_curve']:
            lines.append(
                f'| {row["recordings"]} | {row["episodes_mean"]:.0f} | {_pct(row["accuracy"])} | '
                f'{_pct(row["failure_accuracy"])} | {_pct(row["success_accuracy"])} |'
            )
    if r.get('model'):
        path, sha = r['model']['path'], r['model']['sha256']
        lines += [
            '',
            '## Deploy',
            '',
            'Check it on a recording it never saw, then hot-reload it into the running node '
            '(path and hash in one call):',
            '',
            '```bash',
            f'evaluate_bag NEW_BAG --model {path} --params PARAMS.yaml',
            'ros2 service call /grasp_classifier/set_parameters_atomically \\',
            '  rcl_interfaces/srv/SetParametersAtomically \\',
            f'  "{{parameters: [{{name: model_path, value: {{type: 4, string_value: {path}}}}},',
            '                 {name: model_sha256, value: {type: 4, string_value: '
            f'{sha}}}}}]}}"',
            '```',
        ]
    return '\n'.join(lines) + '\n'


def _threshold_story(r: dict[str, Any]) -> str:
    c = r['calibration']
    target = f'{r["target_precision"]:.2f} success precision out of fold'
    if c['floor'] is not None and c['chosen_threshold'] < c['floor']:
        return (
            f"{target} asked for {c['chosen_threshold']:.3f}; kept at the starting model's "
            f'{c["floor"]:.3f}, never looser (adapt.threshold_floor)'
        )
    return f'the lowest reaching {target}'


def _plot_reliability(p: np.ndarray, success: np.ndarray, path: Path) -> None:
    from grasp_classifier_ros.core.metrics import calibration_error

    from .plots import plot_reliability

    conf = np.maximum(p, 1 - p)
    correct = (p >= 0.5) == success
    ece = calibration_error(success.astype(int), p, 15)
    plot_reliability(conf, correct, ece, path, 15)


def _plot_learning_curve(rows: list[dict[str, Any]], before: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    n = [r['recordings'] for r in rows]
    ax.plot(n, [r['accuracy'] for r in rows], 'o-', label='accuracy (adapted)')
    ax.plot(n, [r['failure_accuracy'] for r in rows], 's--', label='failure-class accuracy')
    ax.axhline(before['accuracy'], color='grey', lw=1, label='starting model')
    ax.set_xscale('log', base=2)
    ax.set_xlabel('labelled recordings used for adapting')
    ax.set_ylabel('held-out accuracy')
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc='lower right')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- command line ------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    from grasp_classifier_ros.core.paths import default_model_path

    p: argparse.ArgumentParser = subparsers.add_parser(
        'adapt',
        help='adapt a model to your robot from its recordings; before/after out of fold',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        'data',
        nargs='+',
        type=Path,
        help='rosbag2 bag(s), video(s), class folder(s) or folders of bags (a capture_dir)',
    )
    p.add_argument('--out', type=Path, required=True, help='report (and model) folder')
    p.add_argument(
        '--from',
        dest='start',
        type=Path,
        default=default_model_path(),
        help='the model to start from (default: the shipped %(default)s)',
    )
    p.add_argument(
        '--folds', type=int, default=MAX_FOLDS, help='at most K leave-recordings-out folds'
    )
    p.add_argument('--force', action='store_true', help='write the model even if not better')
    p.add_argument(
        '--learning-curve',
        action='store_true',
        help='also measure accuracy against the number of training recordings (slower)',
    )
    p.add_argument('--config', help="YAML config over configs/default.yaml (its 'adapt:' part)")
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override')
    p.add_argument('--seed', type=int, help='override the config seed')
    data_mod.add_source_args(p)
    from .train import add_trainer_flags

    add_trainer_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .train import refuse_trainer_flags, resolve_config

    refuse_trainer_flags(
        args,
        'adapt trains the starting model in its own loop on cached CPU features (seconds '
        'per fold on a few recordings), not with Lightning, and in one process',
    )
    cfg = resolve_config(args.config, args.set, args.seed, None)
    AdaptSettings.from_config(cfg)
    if args.folds < 2:
        raise AdaptError(f'--folds {args.folds}: leave-recordings-out CV needs at least 2')
    if args.out.exists() and (args.out / 'model.pt').exists():
        raise AdaptError(f"'{args.out}' already holds a model.pt; choose a new --out folder")
    report = run_adapt(
        list(args.data),
        args.out,
        start_path=args.start,
        cfg=cfg,
        view=data_mod.source_options(args, print),
        folds=args.folds,
        force=args.force,
        learning_curve=args.learning_curve,
    )
    b, a = report['before'], report['after']
    print(
        f'before (starting model as deployed): accuracy {_pct(b["accuracy"])}, failure-class '
        f'{_pct(b["failure_accuracy"])}; after (adapted, out of fold): accuracy '
        f'{_pct(a["accuracy"])}, failure-class {_pct(a["failure_accuracy"])}; 95 % gain '
        f'interval {_span(report["bootstrap_95"]["accuracy_gain"])} points'
    )
    for w in report['warnings']:
        print(f'warning: {w}')
    print(f'report: {args.out / "report.md"}')
    if report['model'] is None:
        print(
            'grasp-train adapt: not better than the starting model out of fold: no model '
            'written (--force writes it anyway)',
            file=sys.stderr,
        )
        return 3
    if report['model']['forced']:
        print('warning: the model is NOT better out of fold; written because of --force')
    print(f'model: {report["model"]["path"]} sha256 {report["model"]["sha256"]}')
    return 0
