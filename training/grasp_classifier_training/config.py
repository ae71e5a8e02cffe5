# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Training configs: YAML files merged over ``configs/default.yaml``."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

from grasp_classifier_ros.core.yaml_file import read_mapping
import yaml

CONFIG_DIR = Path(__file__).resolve().parent / 'configs'
DEFAULT_CONFIG = CONFIG_DIR / 'default.yaml'


class ConfigError(ValueError):
    """A config file is missing, malformed or names an unknown key."""


def _read(path: Path) -> dict[str, Any]:
    return read_mapping(path, 'config', ConfigError)


def merge(base: dict[str, Any], override: dict[str, Any], where: str = '') -> dict[str, Any]:
    """Return ``base`` updated by ``override``; unknown keys raise ConfigError."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        name = f'{where}{key}'
        if key not in base:
            raise ConfigError(f"unknown config key '{name}'; known: {sorted(base)}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{name}' must be a mapping")
            out[key] = merge(base[key], value, f'{name}.')
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """
    Load the default config, overlaid with ``path`` when given.

    A bare name such as ``seed_cnn`` picks the packaged ``configs/seed_cnn.yaml``.
    """
    cfg = _read(DEFAULT_CONFIG)
    if path is None:
        return cfg
    p = Path(path)
    if not p.exists() and not p.suffix and (CONFIG_DIR / f'{p}.yaml').is_file():
        p = CONFIG_DIR / f'{p}.yaml'
    return merge(cfg, _read(p))


def set_dotted(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``cfg['a']['b'] = value`` for ``dotted='a.b'``; the key must exist."""
    *parents, leaf = dotted.split('.')
    node = cfg
    for part in parents:
        if not isinstance(node.get(part), dict):
            raise ConfigError(f"unknown config key '{dotted}'")
        node = node[part]
    if leaf not in node:
        raise ConfigError(f"unknown config key '{dotted}'")
    node[leaf] = value


def dump(cfg: dict[str, Any], path: Path) -> None:
    """Write ``cfg`` as YAML."""
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def add_recipe_args(p: argparse.ArgumentParser, extra_data_help: str) -> None:
    """Add the options shared by ``train`` and ``cv``: extra data, config and its overrides."""
    p.add_argument('--extra-data', action='append', type=Path, default=[], help=extra_data_help)
    p.add_argument(
        '--config',
        help='YAML config over configs/default.yaml (or a packaged name: seed_cnn, lite0_probe, '
        'lite0_distil)',
    )
    p.add_argument(
        '--set', action='append', default=[], metavar='KEY=VALUE', help='config override'
    )
    p.add_argument('--seed', type=int, help='override the config seed')
    p.add_argument('--max-epochs', type=int, help='override train.max_epochs')
    p.add_argument('--no-progress', action='store_true', help='no progress bars')
