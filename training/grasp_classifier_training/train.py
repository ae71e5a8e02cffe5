# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train train``: fit, checkpoint, calibrate and record a run folder.

The run folder holds ``config.yaml``, ``split.json``, ``run.json`` (command,
data manifest hashes and licences, git revision, library versions, wall
time), ``metrics.csv`` + ``curves.png`` (per epoch), ``metrics.json`` (final
validation/test metrics and calibration) and ``checkpoints/`` (plain
state_dicts: ``best.pt``, ``last.pt``, ``epoch_NNN.pt``). Everything in
``metrics.csv``/``metrics.json`` is reproduced by the same command and seed.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shlex
import sys
import time
from typing import Any

from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.preprocess import crop_resize, normalize_batch
import lightning as L  # noqa: N812
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.utilities import rank_zero_only
import numpy as np
import torch
from tqdm import tqdm
import yaml

from . import data as data_mod
from .calibrate import calibrate
from .checkpoint import load_checkpoint, restore, save_checkpoint
from .config import add_recipe_args, ConfigError, dump, load_config, set_dotted
from .evaluate import compute_metrics
from .lit_module import (
    build_augment,
    CachedImageSet,
    GraspDataModule,
    GraspLitModule,
    Loaders,
    OptimConfig,
)
from .models import build_model, ModelConfig, normalisation, weights_provenance
from .plots import plot_curves
from .provenance import git_revision, library_versions, licence_note, utc_now

SUCCESS_CLASS_NAMES = ('grasped', 'success', 'grasp_success')


@dataclass
class Record:
    """One image of the combined dataset."""

    path: Path
    label: int
    source: int  # index of the data folder it came from
    image: np.ndarray | None = None  # a recording's frame (files are read when cached)


@dataclass
class PreparedData:
    class_names: tuple[str, ...]
    success_index: int
    split: Any  # data.Split
    records: dict[str, list[Record]]  # 'train' | 'val' | 'test'
    folders: list[dict[str, Any]]


def success_index_of(class_names: tuple[str, ...]) -> int:
    """Index of the success class: a known success name, else the first class."""
    for i, name in enumerate(class_names):
        if name.lower() in SUCCESS_CLASS_NAMES:
            return i
    return 0


def prepare_data(
    dirs: list[Path],
    cfg: dict[str, Any],
    seed: int,
    extra: list[Path] | None = None,
    sources: data_mod.SourceOptions | None = None,
) -> PreparedData:
    """
    Scan every data folder or recording, check classes agree, split ``dirs`` by group.

    ``extra`` folders (e.g. synthetic frames) join the training split whole, so
    validation (early stopping, calibration) and test stay on ``dirs`` alone.
    """
    dcfg = cfg['data']
    regex = dcfg['group_regex'] or data_mod.DEFAULT_GROUP_REGEX
    extra = list(extra or [])
    all_dirs = list(dirs) + extra
    datasets = data_mod.scan_sources(
        all_dirs, group_regex=regex, options=sources or data_mod.SourceOptions(), log=print
    )
    class_names = tuple(datasets[0].class_names)
    for d, ds in zip(all_dirs[1:], datasets[1:]):
        if tuple(ds.class_names) != class_names:
            raise data_mod.DatasetError(
                f"'{d}' has classes {list(ds.class_names)} but '{all_dirs[0]}' has "
                f'{list(class_names)}; every data folder needs the same class folders'
            )
    split_seed = seed if dcfg['split_seed'] is None else int(dcfg['split_seed'])
    split = data_mod.group_split(
        datasets[: len(dirs)],
        val_fraction=float(dcfg['val_fraction']),
        test_fraction=float(dcfg['test_fraction']),
        seed=split_seed,
        group_regex=regex,
        strategy=str(dcfg['split_strategy']),
    )
    for ds in datasets[len(dirs) :]:
        split.train.extend(ds.samples)
    source_of = {}
    for i, ds in enumerate(datasets):
        for s in ds.samples:
            source_of[id(s)] = i
    records = {
        name: [Record(Path(s.path), int(s.label), source_of[id(s)], s.image) for s in subset]
        for name, subset in (('train', split.train), ('val', split.val), ('test', split.test))
    }
    folders = [
        folder_info(d, ds, 'split' if i < len(dirs) else 'train only (--extra-data)')
        for i, (d, ds) in enumerate(zip(all_dirs, datasets))
    ]
    return PreparedData(class_names, success_index_of(class_names), split, records, folders)


def folder_info(folder: Path, ds: Any, role: str) -> dict[str, Any]:
    """JSON-able description of one data folder: path, licence, counts, manifest hash."""
    return {
        'path': str(Path(folder).resolve()),
        'name': Path(folder).resolve().name,
        'role': role,
        'licence': licence_note(Path(folder)),
        'images': len(ds.samples),
        'skipped_unreadable': len(ds.skipped),
        'manifest_sha256': data_mod.manifest_hash(ds),
    }


def run_header(command: str, seed: int, model_cfg: ModelConfig) -> dict[str, Any]:
    """Command, seed, git revision, library and pretrained-weights versions of a run."""
    return {
        'command': command,
        'seed': seed,
        'git': git_revision(),
        'versions': library_versions(),
        'pretrained_weights': weights_provenance(model_cfg),
        'started': utc_now(),
    }


def train_cache_size(cfg: dict[str, Any], meta: ModelMetadata) -> tuple[int, int]:
    """Size training images are cached (and augmented) at: data.cache_size, >= the input."""
    csize = cfg['data']['cache_size']
    csize = (csize, csize) if isinstance(csize, int) else tuple(csize)
    return (max(csize[0], meta.input_height), max(csize[1], meta.input_width))


def cache_images(
    records: list[Record],
    size: tuple[int, int],
    meta: ModelMetadata,
    desc: str,
    view: data_mod.SourceOptions | None = None,
) -> list[np.ndarray]:
    """Decode each image once; orient, crop and resize it with the runtime's ``crop_resize``."""
    view = view or data_mod.SourceOptions()
    rgb = meta.with_updates(input_height=size[0], input_width=size[1], color_order='rgb')
    out = []
    for r in tqdm(records, desc=f'caching {desc}', unit='img', leave=False, disable=None):
        image = r.image if r.image is not None else data_mod.load_image(r.path)
        out.append(crop_resize(image, 'rgb', rgb, view.roi, view.mount))
    return out


def split_summary(prep: PreparedData) -> dict[str, Any]:
    """Count images per subset, class and data folder (JSON-able)."""
    out: dict[str, Any] = {}
    for name, recs in prep.records.items():
        per: dict[str, Any] = {'total': len(recs)}
        for ci, cname in enumerate(prep.class_names):
            per[cname] = sum(r.label == ci for r in recs)
        for fi, folder in enumerate(prep.folders):
            per[f'from:{folder["name"]}'] = sum(r.source == fi for r in recs)
        out[name] = per
    return out


@torch.inference_mode()
def predict_logits(
    model: torch.nn.Module, images: list[np.ndarray], meta: ModelMetadata, batch: int = 128
) -> torch.Tensor:
    """Logits of cached RGB input-sized images, normalised as the runtime does."""
    model.eval()
    outs = []
    for i in range(0, len(images), batch):
        chunk = [crop_resize(im, 'rgb', meta) for im in images[i : i + batch]]
        x = torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2)
        outs.append(model(normalize_batch(x, meta)).float())
    if not outs:
        return torch.zeros((0, meta.num_classes))
    return torch.cat(outs)


class RunRecorder(L.Callback):
    """Per epoch: append ``metrics.csv``; save last, periodic and best checkpoints."""

    def __init__(
        self,
        out: Path,
        model_cfg: ModelConfig,
        meta: ModelMetadata,
        provenance: dict[str, Any],
        ckpt_every: int,
        monitor: str,
    ) -> None:
        self.out = out
        self.model_cfg = model_cfg
        self.meta = meta
        self.provenance = provenance
        self.ckpt_every = max(1, int(ckpt_every))
        self.monitor = monitor
        self.maximize = 'acc' in monitor
        self.best: float | None = None
        self.best_epoch = 0
        self.rows: list[dict[str, float]] = []

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.maximize else value < self.best

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        assert isinstance(pl_module, GraspLitModule)
        m = dict(pl_module.epoch_metrics)
        if not m or (self.rows and self.rows[-1]['epoch'] == m['epoch']):
            return
        self.rows.append(m)
        if not trainer.is_global_zero:
            return
        write_csv(self.rows, self.out / 'metrics.csv')
        epoch = int(m['epoch'])
        ckpts = self.out / 'checkpoints'

        def save(name: str) -> None:
            save_checkpoint(
                ckpts / name,
                pl_module.model,
                self.model_cfg,
                self.meta,
                epoch=epoch,
                metrics=m,
                provenance=self.provenance,
            )

        save('last.pt')
        if epoch % self.ckpt_every == 0:
            save(f'epoch_{epoch:03d}.pt')
        value = m.get(self.monitor)
        if value is not None and self._improved(value):
            self.best, self.best_epoch = value, epoch
            save('best.pt')

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero and self.rows:
            plot_curves(self.rows, self.out / 'curves.png')


def write_csv(rows: list[dict[str, float]], path: Path) -> None:
    """Write epoch rows; columns are the union of keys, missing values left empty."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f'{v:.6g}' if isinstance(v, float) else v) for k, v in r.items()})


def optim_config(ocfg: dict[str, Any]) -> OptimConfig:
    """Return the ``optim`` section of a config as an OptimConfig."""
    return OptimConfig(
        lr=float(ocfg['lr']),
        weight_decay=float(ocfg['weight_decay']),
        label_smoothing=float(ocfg['label_smoothing']),
        warmup_fraction=float(ocfg['warmup_fraction']),
        layer_decay=float(ocfg['layer_decay']),
    )


def model_metadata(model_cfg: ModelConfig, class_names: tuple[str, ...]) -> ModelMetadata:
    """Metadata of a new model: input size, classes, and the normalisation its weights expect."""
    return ModelMetadata(
        input_height=model_cfg.input_size[0],
        input_width=model_cfg.input_size[1],
        class_names=class_names,
        success_index=success_index_of(class_names),
        architecture=model_cfg.name,
        **normalisation(model_cfg.name),
    )


def trainer_settings(cfg: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Lightning Trainer arguments: CPU or one GPU by default, AMP on CUDA."""
    accelerator = overrides.get('accelerator') or 'auto'
    use_cuda = accelerator in ('gpu', 'cuda') or (
        accelerator == 'auto' and torch.cuda.is_available()
    )
    precision = overrides.get('precision') or cfg['train']['precision']
    if precision == 'auto':
        precision = '16-mixed' if use_cuda else '32-true'
    deterministic: bool | str = bool(cfg['train']['deterministic'])
    if deterministic and use_cuda:
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
        deterministic = (
            'warn'  # some CUDA kernels (e.g. pooling backward) have no deterministic twin
        )
    devices = overrides.get('devices') or 1
    count = len(devices) if isinstance(devices, list) else devices
    several = count == 'auto' or count > 1 or int(overrides.get('num_nodes') or 1) > 1
    settings: dict[str, Any] = {
        'accelerator': accelerator,
        'devices': devices,
        'precision': precision,
        'deterministic': deterministic,
        # BatchNorm statistics over the global batch, as one process computes them; torch's
        # SyncBatchNorm runs on GPUs only (on CPU each process normalises its own share).
        'sync_batchnorm': bool(use_cuda and several),
        'use_distributed_sampler': False,  # lit_module.ShardedSampler does it, in order
    }
    if overrides.get('strategy'):
        settings['strategy'] = overrides['strategy']
    if overrides.get('num_nodes'):
        settings['num_nodes'] = int(overrides['num_nodes'])
    return settings


def check_global_batch(batch_size: int, world_size: int) -> None:
    """``train.batch_size`` is the global batch: it must split evenly over the processes."""
    if batch_size % world_size:
        raise ConfigError(
            f'train.batch_size={batch_size} is the global batch and must split evenly over '
            f'the {world_size} processes (devices x nodes); choose a multiple of {world_size}'
        )


def _parse_devices(value: str) -> Any:
    if value == 'auto':
        return value
    if ',' in value:
        return [int(v) for v in value.split(',') if v]
    return int(value)


def train(
    data_dirs: list[Path],
    cfg: dict[str, Any],
    out: Path,
    *,
    extra_data: list[Path] | None = None,
    trainer_overrides: dict[str, Any] | None = None,
    command: str | None = None,
    progress: bool = True,
    extra_callbacks: list[L.Callback] | None = None,
    sources: data_mod.SourceOptions | None = None,
) -> dict[str, Any]:
    """Run one training; return the final metrics (also in ``out/metrics.json``)."""
    t_start = time.perf_counter()
    seed = int(cfg['seed'])
    L.seed_everything(seed, workers=True, verbose=False)
    out.mkdir(parents=True, exist_ok=True)

    if cfg['train']['method'] != 'gradient':
        raise ConfigError(
            f'train.method={cfg["train"]["method"]} is run by grasp-train cv (--refit for the '
            'final model); grasp-train train supports train.method=gradient'
        )
    mcfg = cfg['model']
    try:
        model_cfg = ModelConfig.from_dict(mcfg)
        build_model(model_cfg)  # validate name/size before the slow data work
    except (TypeError, ValueError) as exc:
        raise ConfigError(f'model config {mcfg}: {exc}') from exc

    prep = prepare_data(
        [Path(d) for d in data_dirs], cfg, seed, [Path(d) for d in extra_data or []], sources
    )
    for name in ('train', 'val'):
        if not prep.records[name]:
            raise data_mod.DatasetError(
                f'the {name} split is empty; add images from more groups or change '
                'data.val_fraction/data.test_fraction'
            )
    # Under DDP every process runs this function; only the first writes the run folder.
    first = rank_zero_only.rank == 0
    if first:
        prep.split.write(out / 'split.json')
    meta = model_metadata(model_cfg, prep.class_names)
    command = command or shlex.join(sys.argv)
    run_info = {
        **run_header(command, seed, model_cfg),
        'data': prep.folders,
        'split': split_summary(prep),
    }
    if first:
        dump(cfg, out / 'config.yaml')
        (out / 'run.json').write_text(json.dumps(run_info, indent=2))

    size = train_cache_size(cfg, meta)
    train_imgs = cache_images(prep.records['train'], size, meta, 'train', sources)
    val_imgs = cache_images(prep.records['val'], meta.input_size, meta, 'val', sources)
    test_imgs = cache_images(prep.records['test'], meta.input_size, meta, 'test', sources)
    labels = {k: [r.label for r in v] for k, v in prep.records.items()}

    aug = build_augment(cfg['augment']['strength'], bool(cfg['augment']['hflip']))
    tcfg = cfg['train']
    balance = cfg['data']['balance']
    if balance not in ('sampler', 'loss', 'none'):
        raise ConfigError(f"data.balance='{balance}' must be sampler, loss or none")
    class_weights = None
    if balance == 'loss':
        counts = np.bincount(labels['train'], minlength=meta.num_classes).astype(float)
        class_weights = (counts.sum() / (meta.num_classes * np.maximum(counts, 1))).tolist()
    shares = None
    n_split = sum(f['role'] == 'split' for f in prep.folders)
    extra_share = cfg['data']['extra_share']
    if extra_share is not None and n_split < len(prep.folders):
        share = float(extra_share)
        if not 0.0 <= share < 1.0:
            raise ConfigError(f'data.extra_share={share} must be in [0, 1) or null')
        n_split_imgs = {
            i: sum(r.source == i for r in prep.records['train']) for i in range(n_split)
        }
        total = max(1, sum(n_split_imgs.values()))
        shares = {i: (1.0 - share) * n / total for i, n in n_split_imgs.items()}
        n_extra = len(prep.folders) - n_split
        shares.update(dict.fromkeys(range(n_split, len(prep.folders)), share / n_extra))
    dm = GraspDataModule(
        CachedImageSet(train_imgs, labels['train'], meta, aug),
        CachedImageSet(val_imgs, labels['val'], meta),
        CachedImageSet(test_imgs, labels['test'], meta) if test_imgs else None,
        Loaders(int(tcfg['batch_size']), int(tcfg['num_workers']), balance, seed, shares),
        train_sources=[r.source for r in prep.records['train']],
    )
    module = GraspLitModule(
        model_cfg,
        meta,
        optim_config(cfg['optim']),
        class_weights,
        int(tcfg['test_every']),
    )
    provenance = {
        'datasets': prep.folders,
        'split': run_info['split'],
        'git': run_info['git'],
        'train_command': command,
        'seed': seed,
        'config': cfg,
        'pretrained_weights': run_info['pretrained_weights'],
    }
    monitor = str(tcfg['monitor'])
    recorder = RunRecorder(out, model_cfg, meta, provenance, int(tcfg['ckpt_every']), monitor)
    callbacks: list[L.Callback] = [recorder, *(extra_callbacks or [])]
    if int(tcfg['patience']) > 0:
        callbacks.append(
            EarlyStopping(
                monitor=monitor,
                mode='max' if 'acc' in monitor else 'min',
                patience=int(tcfg['patience']),
            )
        )
    limit = tcfg['limit_train_batches']
    trainer = L.Trainer(
        max_epochs=int(tcfg['max_epochs']),
        limit_train_batches=1.0 if limit is None else limit,
        callbacks=callbacks,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=progress,
        enable_model_summary=progress,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        **trainer_settings(cfg, trainer_overrides or {}),
    )
    check_global_batch(int(tcfg['batch_size']), trainer.world_size)
    run_info['processes'] = trainer.world_size
    trainer.fit(module, datamodule=dm)
    if not trainer.is_global_zero:
        return {}

    final = finish_run(out, prep, meta, val_imgs, test_imgs, labels, cfg, recorder)
    run_info['finished'] = utc_now()
    run_info['wall_time_s'] = round(time.perf_counter() - t_start, 1)
    run_info['epochs_run'] = len(recorder.rows)
    (out / 'run.json').write_text(json.dumps(run_info, indent=2))
    return final


def finish_run(
    out: Path,
    prep: PreparedData,
    meta: ModelMetadata,
    val_imgs: list[np.ndarray],
    test_imgs: list[np.ndarray],
    labels: dict[str, list[int]],
    cfg: dict[str, Any],
    recorder: RunRecorder,
) -> dict[str, Any]:
    """Calibrate the best checkpoint on val, score it on test, write ``metrics.json``."""
    best_path = out / 'checkpoints' / 'best.pt'
    data = load_checkpoint(best_path)
    model, model_cfg, _ = restore(data)
    val_logits = predict_logits(model, val_imgs, meta)
    y_val = torch.tensor(labels['val'])
    cal = calibrate(
        val_logits,
        y_val,
        meta.success_index,
        float(cfg['calibration']['target_precision']),
    )
    calibrated = meta.with_updates(temperature=cal.temperature, threshold=cal.threshold)

    def scores(logits: torch.Tensor, y: list[int]) -> dict[str, Any]:
        probs = torch.softmax(logits.double() / cal.temperature, dim=1).numpy()
        return compute_metrics(probs, np.asarray(y), calibrated)

    final: dict[str, Any] = {
        'best_epoch': recorder.best_epoch,
        'monitor': recorder.monitor,
        'best_value': recorder.best,
        'epochs_run': len(recorder.rows),
        'calibration': cal.to_dict(),
        'val': scores(val_logits, labels['val']),
    }
    if test_imgs:
        final['test'] = scores(predict_logits(model, test_imgs, meta), labels['test'])
        for fi, folder in enumerate(prep.folders):
            idx = [i for i, r in enumerate(prep.records['test']) if r.source == fi]
            if idx and len(prep.folders) > 1:
                logits = predict_logits(model, [test_imgs[i] for i in idx], meta)
                final[f'test:{folder["name"]}'] = scores(logits, [labels['test'][i] for i in idx])
    (out / 'metrics.json').write_text(json.dumps(final, indent=2, sort_keys=True))
    provenance = dict(data['provenance'])
    provenance['metrics'] = {
        k: _headline(v) for k, v in final.items() if k.startswith(('val', 'test'))
    }
    provenance['calibration'] = cal.to_dict()
    save_checkpoint(
        best_path,
        model,
        model_cfg,
        calibrated,
        epoch=int(data['epoch']),
        metrics=data['metrics'],
        provenance=provenance,
    )
    return final


def _headline(m: dict[str, Any]) -> dict[str, Any]:
    keys = ('n', 'accuracy', 'per_class_accuracy', 'precision', 'recall', 'f1', 'ece', 'roc_auc')
    return {k: m[k] for k in keys if k in m}


def _parse_set(items: list[str]) -> list[tuple[str, Any]]:
    pairs = []
    for item in items:
        if '=' not in item:
            raise ConfigError(f"--set '{item}' must look like key.sub=value")
        key, value = item.split('=', 1)
        pairs.append((key.strip(), yaml.safe_load(value)))
    return pairs


def resolve_config(
    config: str | None, sets: list[str], seed: int | None, max_epochs: int | None
) -> dict[str, Any]:
    """Load ``config`` over the defaults and apply command-line overrides."""
    cfg = load_config(config)
    for key, value in _parse_set(sets):
        set_dotted(cfg, key, value)
    if seed is not None:
        cfg['seed'] = seed
    if max_epochs is not None:
        cfg['train']['max_epochs'] = max_epochs
    return cfg


def add_trainer_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group('Lightning Trainer passthrough')
    g.add_argument('--accelerator', help='auto (default), cpu, gpu, ...')
    g.add_argument('--devices', type=_parse_devices, help='device count or list (default 1)')
    g.add_argument('--strategy', help='e.g. ddp, ddp_spawn (default: Lightning auto)')
    g.add_argument('--num-nodes', type=int, help='nodes for multi-node DDP')
    g.add_argument('--precision', help='32-true, 16-mixed, bf16-mixed (default: auto)')


TRAINER_FLAGS = ('accelerator', 'devices', 'strategy', 'num_nodes', 'precision')


def trainer_flags_given(args: argparse.Namespace) -> list[str]:
    """Return the Lightning passthrough flags set on the command line (``--devices 2``)."""
    return [
        f'--{name.replace("_", "-")} {getattr(args, name)}'
        for name in TRAINER_FLAGS
        if getattr(args, name, None) is not None
    ]


def refuse_trainer_flags(args: argparse.Namespace, why: str) -> None:
    """Raise ConfigError naming the passthrough flags given and ``why`` they do not apply."""
    given = trainer_flags_given(args)
    if given:
        raise ConfigError(f'{", ".join(given)}: {why}; drop them')


def trainer_overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    return {
        'accelerator': args.accelerator,
        'devices': args.devices,
        'strategy': args.strategy,
        'num_nodes': args.num_nodes,
        'precision': args.precision,
    }


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        'train',
        help='train a model on one or more image folders',
        description='Train a classifier on class-per-folder image data (several folders, e.g. '
        'real + synthetic, are combined), split by group, calibrate on val and write a run '
        'folder. Export RUN/checkpoints/best.pt with `grasp-train export`.',
    )
    p.add_argument(
        'data',
        nargs='+',
        type=Path,
        help='class folder(s), rosbag2 bag(s) or video(s), split together by group (a '
        'recording is one group)',
    )
    p.add_argument('--out', type=Path, required=True, help='run folder to create')
    add_recipe_args(p, 'a folder used for training only (e.g. synthetic frames); repeatable')
    add_trainer_flags(p)
    data_mod.add_source_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = resolve_config(args.config, args.set, args.seed, args.max_epochs)
    final = train(
        list(args.data),
        cfg,
        args.out,
        extra_data=list(args.extra_data),
        trainer_overrides=trainer_overrides_from(args),
        progress=not args.no_progress,
        sources=data_mod.source_options(args, print),
    )
    if final:
        test = final.get('test', {})
        print(
            f'best epoch {final["best_epoch"]}: val acc {final["val"]["accuracy"]:.3f}, '
            f'test acc {test.get("accuracy", float("nan")):.3f}, '
            f'T={final["calibration"]["temperature"]:.3f}, '
            f'threshold={final["calibration"]["threshold"]:.3f}; run folder {args.out}'
        )
    return 0
