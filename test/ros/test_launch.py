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
classify.launch.py: declared arguments (static check), argument -> parameter conversion.

The static part reads the launch file's syntax tree, so it runs without ROS. The
part that builds the real ``LaunchDescription`` runs only where ``launch`` and
``launch_ros`` are importable (a sourced ROS 2 install).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
import runpy

from grasp_classifier_ros.core.errors import ParameterError
from grasp_classifier_ros.core.params import SPECS
from grasp_classifier_ros.ros import launch_args
import pytest

REPO = Path(__file__).resolve().parents[2]
LAUNCH_FILE = REPO / 'launch' / 'classify.launch.py'
EXPECTED_ARGS = {
    'model': '',
    'image_topic': '',
    'compressed': '',
    'device': '',
    'threshold': '',
    'namespace': '',
    'params_file': '',
    'lifecycle': 'false',
    'log_level': 'info',
}
ALL_EMPTY = {**EXPECTED_ARGS}


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and (
            (isinstance(n.func, ast.Name) and n.func.id == name)
            or (isinstance(n.func, ast.Attribute) and n.func.attr == name)
        )
    ]


def _kw(call: ast.Call, key: str) -> object:
    for kw in call.keywords:
        if kw.arg == key:
            return ast.literal_eval(kw.value)
    raise KeyError(key)


@pytest.fixture(scope='module')
def tree() -> ast.Module:
    return ast.parse(LAUNCH_FILE.read_text(), filename=str(LAUNCH_FILE))


def test_declared_arguments_and_defaults(tree) -> None:
    declared = {}
    for call in _calls(tree, 'DeclareLaunchArgument'):
        name = ast.literal_eval(call.args[0])
        assert name not in declared, f'argument {name} declared twice'
        declared[name] = _kw(call, 'default_value')
        assert _kw(call, 'description'), f'argument {name} has no description'
    assert declared == EXPECTED_ARGS


def test_choices_contain_their_default(tree) -> None:
    for call in _calls(tree, 'DeclareLaunchArgument'):
        try:
            choices = _kw(call, 'choices')
        except KeyError:
            continue
        assert _kw(call, 'default_value') in choices


def test_node_action_runs_the_installed_entry_point(tree, monkeypatch) -> None:
    import setuptools

    captured: dict = {}
    monkeypatch.setattr(setuptools, 'setup', lambda **kw: captured.update(kw))
    runpy.run_path(str(REPO / 'setup.py'), run_name='__main__')
    # Both node actions (Node, LifecycleNode) take the `common` keyword arguments.
    assert len(_calls(tree, 'Node')) == len(_calls(tree, 'LifecycleNode')) == 1
    common = _common_node_arguments(tree)
    assert common['package'] == captured['name'] == 'grasp_classifier_ros'
    scripts = captured['entry_points']['console_scripts']
    assert f'{common["executable"]} = grasp_classifier_ros.ros.node:main' in scripts


def _common_node_arguments(tree: ast.Module) -> dict[str, object]:
    """Return the literal entries of the dict the launch file assigns to ``common``."""
    (value,) = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == 'common' for t in n.targets)
    ]
    assert isinstance(value, ast.Dict)
    out = {}
    for key, item in zip(value.keys, value.values, strict=True):
        if isinstance(item, ast.Constant):
            out[ast.literal_eval(key)] = item.value
    return out


def test_params_file_must_exist(tmp_path) -> None:
    assert launch_args.params_file({'params_file': ' '}, '/installed.yaml') == '/installed.yaml'
    given = tmp_path / 'p.yaml'
    given.write_text('{}')
    assert launch_args.params_file({'params_file': str(given)}, '/x.yaml') == str(given)
    missing = str(tmp_path / 'missing.yaml')
    with pytest.raises(FileNotFoundError, match="params_file:='.*missing.yaml' is not a file"):
        launch_args.params_file({'params_file': missing}, '/x.yaml')


def test_lifecycle_argument() -> None:
    assert launch_args.lifecycle({}) is False
    assert launch_args.lifecycle({'lifecycle': 'false'}) is False
    assert launch_args.lifecycle({'lifecycle': ' True '}) is True
    with pytest.raises(ValueError, match='lifecycle'):
        launch_args.lifecycle({'lifecycle': 'maybe'})


def test_override_arguments_map_to_real_parameters() -> None:
    assert set(launch_args.ARG_TO_PARAM) <= set(EXPECTED_ARGS)
    for param in launch_args.ARG_TO_PARAM.values():
        assert param in SPECS


def test_empty_arguments_override_nothing() -> None:
    assert launch_args.node_overrides(ALL_EMPTY) == {}
    assert launch_args.node_overrides({}) == {}


def test_set_arguments_become_typed_parameters() -> None:
    config = {
        **ALL_EMPTY,
        'model': '/models/a.pt',
        'image_topic': '/hand/image',
        'compressed': 'True',
        'device': 'cpu',
        'threshold': '0.7',
    }
    assert launch_args.node_overrides(config) == {
        'model_path': '/models/a.pt',
        'image_topic': '/hand/image',
        'compressed': True,
        'device': 'cpu',
        'threshold': 0.7,
    }
    out = launch_args.node_overrides({'threshold': '1', 'compressed': 'false'})
    assert out == {'threshold': 1.0, 'compressed': False}
    assert type(out['threshold']) is float


@pytest.mark.parametrize(
    ('arg', 'text', 'reason'),
    [
        ('threshold', 'high', 'cannot read it as double'),
        ('threshold', '1.5', 'must be <= 1.0'),
        ('threshold', 'nan', 'finite'),
        ('compressed', 'maybe', 'cannot read it as bool'),
        ('device', 'gpu', 'must be auto, cpu, cuda or cuda:N'),
        ('image_topic', 'not a topic', 'valid ROS topic name'),
    ],
)
def test_bad_arguments_fail_at_launch_time(arg: str, text: str, reason: str) -> None:
    with pytest.raises(ParameterError, match=reason) as info:
        launch_args.node_overrides({arg: text})
    assert info.value.name == launch_args.ARG_TO_PARAM[arg]


def test_ros_arguments_set_the_log_level() -> None:
    assert launch_args.ros_arguments({'log_level': 'debug'}) == ['--log-level', 'debug']
    assert launch_args.ros_arguments({'log_level': ' WARN '}) == ['--log-level', 'warn']
    assert launch_args.ros_arguments({}) == ['--log-level', 'info']
    with pytest.raises(ValueError, match='log_level'):
        launch_args.ros_arguments({'log_level': 'loud'})


def _load_launch_module():
    # The repo's launch/ folder is importable as a namespace package: ask for a real name.
    try:
        from launch import LaunchDescription  # noqa: F401
        import launch_ros.actions  # noqa: F401
    except ImportError:
        pytest.skip('ROS 2 launch/launch_ros not installed: source a ROS 2 setup to run this')
    spec = importlib.util.spec_from_file_location('classify_launch', LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_real_launch_description() -> None:
    module = _load_launch_module()
    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    description = module.generate_launch_description()
    args = [e for e in description.entities if isinstance(e, DeclareLaunchArgument)]
    context = LaunchContext()
    defaults = {}
    for arg in args:
        defaults[arg.name] = ''.join(s.perform(context) for s in arg.default_value)
    assert defaults == EXPECTED_ARGS

    (opaque,) = [e for e in description.entities if isinstance(e, OpaqueFunction)]
    context.launch_configurations.update(
        {**EXPECTED_ARGS, 'namespace': 'left', 'threshold': '0.6'}
    )
    (node,) = opaque.execute(context)
    assert node.node_package == 'grasp_classifier_ros'
    assert node.node_executable == 'grasp_classifier_node'
    assert type(node).__name__ == 'Node'  # lifecycle:=false: the plain node


def test_real_launch_description_lifecycle_and_params_file(tmp_path) -> None:
    module = _load_launch_module()
    from launch import LaunchContext
    from launch.actions import OpaqueFunction
    from launch_ros.actions import LifecycleNode

    description = module.generate_launch_description()
    (opaque,) = [e for e in description.entities if isinstance(e, OpaqueFunction)]
    context = LaunchContext()
    context.launch_configurations.update({**EXPECTED_ARGS, 'lifecycle': 'true'})
    (node,) = opaque.execute(context)
    assert isinstance(node, LifecycleNode)
    missing = tmp_path / 'missing.yaml'
    context.launch_configurations.update({**EXPECTED_ARGS, 'params_file': str(missing)})
    with pytest.raises(FileNotFoundError, match='missing.yaml'):
        opaque.execute(context)
