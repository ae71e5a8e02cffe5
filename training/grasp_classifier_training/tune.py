# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train tune``: Optuna search over short trainings, resumable from SQLite.

Searches learning rate, weight decay, augmentation strength, model width and
input size; minimises the best validation loss of each short run. Rerunning
the same command continues the study in ``OUT/optuna.db`` until ``--trials``
trials are complete. ``OUT/best_config.yaml`` is a full config for
``grasp-train train --config``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import logging
from pathlib import Path
from typing import Any

import lightning as L  # noqa: N812
import optuna

from .config import dump
from .lit_module import GraspLitModule
from .train import resolve_config, train, trainer_overrides_from

SIZES = (64, 80, 96, 112, 128)
WIDTHS = (0.5, 0.75, 1.0, 1.25, 1.5)


class _PruneCallback(L.Callback):
    """Report each epoch's validation loss to Optuna and stop hopeless trials."""

    def __init__(self, trial: optuna.Trial, monitor: str) -> None:
        self.trial = trial
        self.monitor = monitor

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not isinstance(pl_module, GraspLitModule):
            return
        m = pl_module.epoch_metrics
        if self.monitor in m:
            self.trial.report(m[self.monitor], int(m['epoch']))
            if self.trial.should_prune():
                raise optuna.TrialPruned()


def suggest(trial: optuna.Trial | optuna.trial.FixedTrial, base: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` with this trial's hyperparameters filled in."""
    cfg = copy.deepcopy(base)
    cfg['optim']['lr'] = trial.suggest_float('lr', 3e-4, 1e-2, log=True)
    cfg['optim']['weight_decay'] = trial.suggest_float('weight_decay', 1e-6, 1e-2, log=True)
    cfg['augment']['strength'] = trial.suggest_float('augment_strength', 0.0, 1.5)
    name = cfg['model']['name']
    if name in ('grasp_net', 'mobilenet_v3_small'):
        cfg['model']['width'] = trial.suggest_categorical('width', WIDTHS)
    if name != 'seed_cnn':
        size = trial.suggest_categorical('input_size', SIZES)
        cfg['model']['input_size'] = [size, size]
    return cfg


def tune(
    data_dirs: list[Path],
    out: Path,
    base: dict[str, Any],
    *,
    trials: int,
    epochs: int,
    extra_data: list[Path] | None = None,
    timeout_s: float | None = None,
    trainer_overrides: dict[str, Any] | None = None,
    study_name: str = 'grasp',
) -> dict[str, Any]:
    """Run (or resume) the study; write and return the best full config."""
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger('lightning.pytorch').setLevel(logging.WARNING)
    storage = f'sqlite:///{(out / "optuna.db").resolve()}'
    try:
        previous = len(optuna.load_study(study_name=study_name, storage=storage).trials)
    except KeyError:
        previous = 0
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        load_if_exists=True,
        direction='minimize',
        # A resumed study must not replay the first session's random start-up trials.
        sampler=optuna.samplers.TPESampler(seed=int(base['seed']) + previous),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
    )
    short = copy.deepcopy(base)
    short['train'].update(
        {'max_epochs': epochs, 'patience': 0, 'ckpt_every': 10**6, 'test_every': 10**6}
    )
    monitor = str(short['train']['monitor'])

    def objective(trial: optuna.Trial) -> float:
        cfg = suggest(trial, short)
        final = train(
            data_dirs,
            cfg,
            out / 'trials' / f'trial_{trial.number:03d}',
            extra_data=extra_data,
            trainer_overrides=trainer_overrides,
            progress=False,
            extra_callbacks=[_PruneCallback(trial, monitor)],
        )
        return float(final['best_value'])

    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    remaining = max(0, trials - done)
    if remaining:
        study.optimize(objective, n_trials=remaining, timeout=timeout_s, catch=())
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise RuntimeError('no tuning trial completed; see the messages above')
    best = study.best_trial
    best_cfg = suggest(optuna.trial.FixedTrial(best.params), base)
    dump(best_cfg, out / 'best_config.yaml')
    with open(out / 'trials.csv', 'w', newline='') as f:
        keys = sorted({k for t in study.trials for k in t.params})
        w = csv.writer(f)
        w.writerow(['number', 'state', 'value', *keys])
        for t in study.trials:
            w.writerow([t.number, t.state.name, t.value, *(t.params.get(k) for k in keys)])
    print(
        f'best trial {best.number}: {monitor}={best.value:.4f} {best.params}; '
        f'{len(completed)} complete trials -> {out / "best_config.yaml"}'
    )
    return best_cfg


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        'tune',
        help='hyperparameter search (Optuna, resumable)',
        description='Search lr, weight decay, augmentation strength, model width and input '
        'size with short trainings. Resumable: the study lives in OUT/optuna.db. Writes '
        'OUT/best_config.yaml for `grasp-train train --config`.',
    )
    p.add_argument('data', nargs='+', type=Path, help='data folder(s), one folder per class')
    p.add_argument(
        '--extra-data', action='append', type=Path, default=[], help='training-only folder'
    )
    p.add_argument('--config', help='base config (default: configs/default.yaml)')
    p.add_argument('--out', type=Path, required=True, help='study folder')
    p.add_argument('--trials', type=int, default=20, help='complete trials wanted in total')
    p.add_argument('--epochs', type=int, default=8, help='epochs per trial')
    p.add_argument('--timeout', type=float, help='stop starting trials after this many seconds')
    p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE')
    p.add_argument('--seed', type=int)
    for flag in ('--accelerator', '--strategy', '--precision'):
        p.add_argument(flag)
    p.add_argument('--devices', type=int)
    p.add_argument('--num-nodes', type=int)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    base = resolve_config(args.config, args.set, args.seed, None)
    tune(
        list(args.data),
        args.out,
        base,
        extra_data=list(args.extra_data),
        trials=args.trials,
        epochs=args.epochs,
        timeout_s=args.timeout,
        trainer_overrides=trainer_overrides_from(args),
    )
    return 0
