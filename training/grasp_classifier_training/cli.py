# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""``grasp-train``: inspect | train | evaluate | export | tune | augment | synth.

Each subcommand lives in its own module exposing ``register(subparsers)`` and
``run(args)``. Expected failures (bad data, bad config, bad files) end with
one ``grasp-train <cmd>: error: ...`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from grasp_classifier_ros.core.errors import GraspClassifierError

# Imported lazily: torch/lightning imports cost seconds, `--help` should not.
SUBCOMMANDS = ('inspect_data', 'train', 'evaluate', 'export', 'tune', 'augment', 'synth')


def _expected_errors() -> tuple[type[BaseException], ...]:
    from .checkpoint import CheckpointError
    from .config import ConfigError
    from .data import DatasetError
    from .export import ExportError

    return (
        DatasetError,
        ConfigError,
        CheckpointError,
        ExportError,
        GraspClassifierError,
        FileNotFoundError,
        NotADirectoryError,
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog='grasp-train',
        description='Train, calibrate, export and evaluate grasp-success classifiers.',
    )
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f'{__package__}.{name}').register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``grasp-train``; return the exit status."""
    parser = build_parser()
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
