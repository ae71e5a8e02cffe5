# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train``: inspect, train, cv, adapt, label, extract, evaluate, export, tune, augment, synth.

Each subcommand lives in its own module exposing ``register(subparsers)`` and
``run(args)``. Expected failures (bad data, bad config, bad files) end with
one ``grasp-train <cmd>: error: ...`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from grasp_classifier_ros.core.errors import GraspClassifierError

# command -> (module, one-line help). Modules are imported only for the command being run:
# torch/lightning imports cost seconds, and `grasp-train --help` or a typo should not wait.
COMMANDS: dict[str, tuple[str, str]] = {
    'inspect': (
        'inspect_data',
        'report counts, sizes, duplicates, cross-split leakage and outliers of a data folder',
    ),
    'train': ('train', 'train a model on one or more image folders'),
    'cv': ('cv', 'leave-sessions-out cross-validation; out-of-fold calibration; optional refit'),
    'adapt': (
        'adapt',
        'adapt a model to your robot from its recordings; before/after out of fold',
    ),
    'label': (
        'label',
        'split a bag or video into grasp attempts; propose their labels and a contact sheet',
    ),
    'extract': (
        'extract',
        'write recordings (and class folders) as class folders of images plus groups.csv',
    ),
    'evaluate': ('evaluate', 'evaluate an exported model on image folders (runtime path)'),
    'export': ('export', 'export a checkpoint to TorchScript with embedded metadata'),
    'quantize': ('quantize', 'add a parity-gated int8 variant to an exported model'),
    'familiarity': (
        'familiarity',
        "add reference statistics of the training inputs to a model (the node's "
        'out-of-depth monitor)',
    ),
    'tune': ('tune', 'hyperparameter search (Optuna, resumable)'),
    'augment': ('augment', 'write originals plus augmented copies up to N images per class'),
    'synth': ('synth', 'render synthetic gripper-camera frames'),
}
SUBCOMMANDS = tuple(module for module, _ in COMMANDS.values())


def _expected_errors() -> tuple[type[BaseException], ...]:
    from grasp_classifier_ros.core.familiarity import FamiliarityError

    from .adapt import AdaptError
    from .checkpoint import CheckpointError
    from .config import ConfigError
    from .data import DatasetError
    from .efficientnet import WeightsError
    from .export import ExportError
    from .quantize import QuantizeError
    from .shifts import ShiftError

    return (
        AdaptError,
        DatasetError,
        ConfigError,
        CheckpointError,
        ExportError,
        QuantizeError,
        WeightsError,
        ShiftError,
        FamiliarityError,
        GraspClassifierError,
        FileNotFoundError,
        NotADirectoryError,
    )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """
    Return the top-level parser; only ``command``'s module is imported for its full options.

    Without ``command`` every subcommand is a light placeholder: enough for the
    top-level ``--help`` and for usage errors, without importing torch.
    """
    parser = argparse.ArgumentParser(
        prog='grasp-train',
        description='Train, calibrate, export and evaluate grasp-success classifiers.',
    )
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for name, (module, help_text) in COMMANDS.items():
        if name == command:
            importlib.import_module(f'{__package__}.{module}').register(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _command_in(argv: list[str]) -> str | None:
    """Return the subcommand named in ``argv`` (the first word that is one), if any."""
    return next((a for a in argv if a in COMMANDS), None)


def main(argv: list[str] | None = None) -> int:
    """Run ``grasp-train``; return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_in(argv))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except _expected_errors() as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f'grasp-train {args.command}: error: {message}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f'grasp-train {args.command}: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
