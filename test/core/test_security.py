# Copyright 2026 The grasp_classifier_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
#
# SPDX-License-Identifier: Apache-2.0
"""
Security invariants: no unpickling or code evaluation anywhere, and hash pinning before loading.

The runtime loads only TorchScript plus JSON metadata. An AST scan of the runtime
and training packages forbids the calls that deserialise pickles or run strings
as code or shell commands; ``model_sha256`` must be checked before any byte of
the file is parsed.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
import pickle
import zipfile

from grasp_classifier_ros.core import model as model_module
from grasp_classifier_ros.core.errors import ModelLoadError
from grasp_classifier_ros.core.metadata import METADATA_FILE
from grasp_classifier_ros.core.model import file_sha256, load_model
from model_factory import brightness_metadata, write_model
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCANNED = (ROOT / 'grasp_classifier_ros', ROOT / 'training' / 'grasp_classifier_training')

# Fully qualified callables that must never appear (they unpickle, or run text as code).
FORBIDDEN_CALLS = {
    'pickle.load': 'unpickles arbitrary objects',
    'pickle.loads': 'unpickles arbitrary objects',
    'pickle.Unpickler': 'unpickles arbitrary objects',
    '_pickle.load': 'unpickles arbitrary objects',
    '_pickle.loads': 'unpickles arbitrary objects',
    'dill.load': 'unpickles arbitrary objects',
    'dill.loads': 'unpickles arbitrary objects',
    'joblib.load': 'unpickles arbitrary objects',
    'shelve.open': 'unpickles arbitrary objects',
    'marshal.load': 'loads code objects',
    'marshal.loads': 'loads code objects',
    'eval': 'evaluates a string as code',
    'exec': 'executes a string as code',
    'builtins.eval': 'evaluates a string as code',
    'builtins.exec': 'executes a string as code',
    'os.system': 'runs a shell command',
    'os.popen': 'runs a shell command',
    'subprocess.getoutput': 'runs a shell command',
    'subprocess.getstatusoutput': 'runs a shell command',
    'yaml.unsafe_load': 'constructs arbitrary Python objects',
    'yaml.full_load': 'constructs arbitrary Python objects',
    'pandas.read_pickle': 'unpickles arbitrary objects',
}
SAFE_YAML_LOADERS = {'SafeLoader', 'CSafeLoader', 'BaseLoader', 'CBaseLoader'}


def _is_const(node: ast.AST | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


class _Scanner(ast.NodeVisitor):
    """Collect forbidden calls in one module, resolving import aliases."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.problems: list[tuple[int, str]] = []

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.aliases[a.asname or a.name.split('.')[0]] = (
                a.name if a.asname else a.name.split('.')[0]
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for a in node.names:
            self.aliases[a.asname or a.name] = f'{node.module}.{a.name}' if node.module else a.name

    def _qualname(self, func: ast.AST) -> str | None:
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name):
            return None
        parts.append(self.aliases.get(func.id, func.id))
        return '.'.join(reversed(parts))

    def visit_Call(self, node: ast.Call) -> None:
        name = self._qualname(node.func)
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        if name in FORBIDDEN_CALLS:
            self.problems.append((node.lineno, f'{name}() {FORBIDDEN_CALLS[name]}'))
        if name == 'torch.load' and not _is_const(kw.get('weights_only'), True):
            self.problems.append((node.lineno, 'torch.load() without weights_only=True unpickles'))
        if name in ('numpy.load', 'np.load') and not _is_const(kw.get('allow_pickle'), False):
            if 'allow_pickle' in kw:
                self.problems.append((node.lineno, 'numpy.load(allow_pickle=...) may unpickle'))
        if name == 'yaml.load':
            loader = kw.get('Loader', node.args[1] if len(node.args) > 1 else None)
            loader_name = self._qualname(loader) if loader is not None else None
            if loader_name is None or loader_name.split('.')[-1] not in SAFE_YAML_LOADERS:
                self.problems.append((node.lineno, 'yaml.load() without a safe Loader'))
        if _is_const(kw.get('shell'), True) or (
            'shell' in kw and not _is_const(kw['shell'], False)
        ):
            self.problems.append((node.lineno, f'{name}(shell=...) runs a shell'))
        self.generic_visit(node)


def scan_source(source: str) -> list[tuple[int, str]]:
    scanner = _Scanner()
    scanner.visit(ast.parse(source))
    return scanner.problems


def python_files() -> list[Path]:
    return sorted(p for d in SCANNED if d.is_dir() for p in d.rglob('*.py'))


def test_runtime_and_training_never_unpickle_or_evaluate_code():
    files = python_files()
    assert any(p.name == 'model.py' for p in files)  # the scan really covers the runtime
    problems = [
        f'{p.relative_to(ROOT)}:{line}: {why}'
        for p in files
        for line, why in scan_source(p.read_text(encoding='utf-8'))
    ]
    assert problems == []


@pytest.mark.parametrize(
    'source',
    [
        'import pickle\npickle.load(f)',
        'import pickle as pk\npk.loads(b)',
        'from pickle import loads\nloads(b)',
        'from pickle import Unpickler as U\nU(f).load()',
        'import torch\ntorch.load(p)',
        'import torch\ntorch.load(p, weights_only=False)',
        'import torch\ntorch.load(p, weights_only=flag)',
        'from torch import load\nload(p, map_location="cpu")',
        'eval("1 + 1")',
        'exec(code)',
        'import os\nos.system("ls")',
        'from os import system\nsystem("ls")',
        'import subprocess\nsubprocess.run("ls", shell=True)',
        'import subprocess as sp\nsp.Popen(cmd, shell=use_shell)',
        'import yaml\nyaml.load(text)',
        'import yaml\nyaml.load(text, Loader=yaml.Loader)',
        'import yaml\nyaml.unsafe_load(text)',
        'import numpy as np\nnp.load(p, allow_pickle=True)',
        'import marshal\nmarshal.loads(b)',
    ],
)
def test_scanner_flags_each_forbidden_pattern(source):
    assert len(scan_source(source)) == 1


@pytest.mark.parametrize(
    'source',
    [
        'import torch\ntorch.load(p, map_location="cpu", weights_only=True)',
        'model.eval()',  # nn.Module.eval, not the builtin
        'import subprocess\nsubprocess.run(["git", "rev-parse", "HEAD"], check=True)',
        'import subprocess\nsubprocess.run(cmd, shell=False)',
        'import yaml\nyaml.safe_load(text)',
        'import yaml\nyaml.load(text, Loader=yaml.SafeLoader)',
        'import numpy as np\nnp.load(p)',
        'import json\njson.loads(text)',
        'import torch\ntorch.jit.load(p)',
    ],
)
def test_scanner_accepts_safe_calls(source):
    assert scan_source(source) == []


# --- model_sha256 is checked before the file is parsed -----------------------------------


class Tripwire:
    """Stands in for a deserialiser; records that it was reached."""

    def __init__(self, real) -> None:
        self.real = real
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.real(*args, **kwargs)


@pytest.fixture
def tripwires(monkeypatch):
    jit = Tripwire(torch.jit.load)
    zf = Tripwire(zipfile.ZipFile)
    monkeypatch.setattr(model_module.torch.jit, 'load', jit)
    monkeypatch.setattr(model_module.zipfile, 'ZipFile', zf)
    return jit, zf


def test_hash_mismatch_is_reported_before_any_parsing(tmp_path, tripwires):
    jit, zf = tripwires
    # Bytes that would make both the zip reader and torch.jit.load fail.
    p = tmp_path / 'tampered.pt'
    p.write_bytes(b'PK\x03\x04' + os.urandom(256))
    with pytest.raises(ModelLoadError) as err:
        load_model(p, device='cpu', expected_sha256='0' * 64)
    assert str(err.value) == (
        f"cannot load model '{p}': sha256 {file_sha256(p)} does not match model_sha256 "
        f'{"0" * 64}; wrong or tampered file'
    )
    assert (jit.calls, zf.calls) == (0, 0)
    # With the right hash the same file does reach the parsers (and fails there).
    with pytest.raises(ModelLoadError, match='not a TorchScript archive'):
        load_model(p, device='cpu', expected_sha256=file_sha256(p))
    assert zf.calls == 1


def test_a_good_model_with_a_wrong_pin_is_never_loaded(tmp_path, tripwires):
    jit, zf = tripwires
    p = write_model(tmp_path / 'm.pt', meta=brightness_metadata(16))
    with pytest.raises(ModelLoadError, match='does not match model_sha256'):
        load_model(p, device='cpu', expected_sha256='a' * 64)
    assert (jit.calls, zf.calls) == (0, 0)
    assert load_model(p, device='cpu', expected_sha256=file_sha256(p), warmup_runs=0)
    assert jit.calls == 1  # the tripwires do sit on the real load path


class _Evil:
    """Unpickling this creates a directory: proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _plant(src: Path, dst: Path, member: str, payload: bytes) -> Path:
    """Copy the zip ``src`` to ``dst`` with ``member`` replaced by ``payload``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, payload if item.filename.endswith('/' + member) else data)
    return dst


@pytest.mark.parametrize('member', ['data.pkl', 'constants.pkl'])
def test_a_pickle_payload_inside_a_torchscript_archive_is_never_run(tmp_path, member):
    marker = tmp_path / 'pickle_ran'
    good = write_model(tmp_path / 'good.pt', meta=brightness_metadata(16))
    evil = _plant(good, tmp_path / 'evil.pt', member, pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(ModelLoadError) as err:
        load_model(evil, device='cpu')
    assert 'not a loadable TorchScript file' in str(err.value)
    assert "Unknown type name 'posix.mkdir'" in str(err.value)  # TorchScript's own unpickler
    assert not marker.exists()


def test_a_torch_save_pickle_with_metadata_is_rejected_without_running_it(tmp_path):
    marker = tmp_path / 'pickle_ran'
    p = tmp_path / 'evil.pt'
    torch.save({'state': _Evil(marker)}, p)  # a torch.save zip: data.pkl holds the payload
    with zipfile.ZipFile(p, 'a') as zf:  # make it pass the metadata step
        root = zf.namelist()[0].split('/')[0]
        zf.writestr(f'{root}/extra/{METADATA_FILE}', brightness_metadata(16).to_json())
    with pytest.raises(ModelLoadError, match='not a loadable TorchScript file'):
        load_model(p, device='cpu')
    assert not marker.exists()
