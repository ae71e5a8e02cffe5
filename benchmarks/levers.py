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
A/B the latency levers on the product path, interleaved so machine load hits all alike.

``python benchmarks/levers.py`` runs ``Pipeline.process`` on 640x480 frames
(bgr8 and JPEG) with each lever switched back to its slower alternative, in
round-robin rounds, and prints total p50/p99 per variant with the stage that
moved. Variants: the shipped configuration, direct fractional INTER_AREA
instead of box halving, NCHW instead of channels_last input, full-size JPEG
decode instead of the reduced DCT decode, 2 vs 1 torch threads, OpenCV
single-threaded, ``torch.jit.optimize_for_inference`` at load, no oneDNN
Graph fusion, and (when installed) the optional ONNX Runtime backend.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
import contextlib
import json
from pathlib import Path
import sys
import tempfile
import time
from typing import Any
import warnings

import bench
import cv2
import frames as bench_frames
from grasp_classifier_ros.core import onnx_backend, preprocess
from grasp_classifier_ros.core.interfaces import input_kind
from grasp_classifier_ros.core.pipeline import Pipeline
from grasp_classifier_ros.core.stats import percentiles
import machine
import numpy as np
import torch

Setup = Callable[[Pipeline], contextlib.AbstractContextManager[Any]]


@contextlib.contextmanager
def shipped(pl: Pipeline) -> Iterator[None]:
    yield


@contextlib.contextmanager
def swapped(obj: object, attr: str, value: object) -> Iterator[None]:
    """Set ``obj.attr`` to ``value`` for the block, then restore the old value."""
    old = getattr(obj, attr)
    setattr(obj, attr, value)
    try:
        yield
    finally:
        setattr(obj, attr, old)


def direct_area(pl: Pipeline) -> contextlib.AbstractContextManager[None]:
    return swapped(preprocess, 'HALVING_GAP', 1 << 30)


def nchw_input(pl: Pipeline) -> contextlib.AbstractContextManager[None]:
    return swapped(pl.preprocessor, '_out', pl.preprocessor._out.contiguous())


@contextlib.contextmanager
def full_jpeg_decode(pl: Pipeline) -> Iterator[None]:
    pre = pl.preprocessor
    pre.decode_min_size = lambda: None  # type: ignore[method-assign,assignment,return-value]
    try:
        yield
    finally:
        del pre.decode_min_size


def threads(n: int) -> Setup:
    @contextlib.contextmanager
    def setup(pl: Pipeline) -> Iterator[None]:
        old = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(old)

    return setup


@contextlib.contextmanager
def cv2_single_thread(pl: Pipeline) -> Iterator[None]:
    old = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(old)


def optimized_model(path: Path) -> Setup:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        opt = torch.jit.optimize_for_inference(torch.jit.load(str(path)).eval())

    def setup(pl: Pipeline) -> contextlib.AbstractContextManager[None]:
        return swapped(pl.model.runner, 'module', opt)

    return setup


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', type=Path, help='model .pt (default: the shipped model)')
    p.add_argument('--frames', type=int, default=100, help='frames per variant per round')
    p.add_argument('--rounds', type=int, default=6, help='round-robin rounds')
    p.add_argument('--threads', type=int, default=1, help='torch threads of the shipped variant')
    p.add_argument('--out', type=Path, help='also write the results as JSON')
    args = p.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix='grasp-levers-')
    path, note = bench.resolve_model(args.model, Path(tmp.name))
    torch.set_num_threads(args.threads)
    model = bench.load(path, 'cpu')
    images = bench_frames.procedural_frames(480, 640)
    other = 2 if args.threads == 1 else 1
    variants: dict[str, Setup] = {
        'shipped': shipped,
        'direct INTER_AREA (no box halving)': direct_area,
        'NCHW input (no channels_last)': nchw_input,
        f'{other} torch threads': threads(other),
        'cv2.setNumThreads(1)': cv2_single_thread,
        'optimize_for_inference': optimized_model(path),
    }
    own = {'no oneDNN fusion': bench.load(path, 'cpu', bench.NO_FUSION)}
    # Its own model: the swapped-in module must not run under the shipped one's fused flag.
    own['optimize_for_inference'] = bench.load(path, 'cpu', bench.NO_FUSION)
    # Loaded with its own thread count: fused kernels keep the count they were built with.
    torch.set_num_threads(other)
    own[f'{other} torch threads'] = bench.load(path, 'cpu')
    torch.set_num_threads(args.threads)
    variants['no oneDNN fusion'] = shipped
    if onnx_backend.available():
        own['onnxruntime backend'] = bench.load(path, 'cpu', 'onnxruntime')
        variants['onnxruntime backend'] = shipped
    results: dict[str, Any] = {}
    for transport in bench.TRANSPORTS:
        msgs = bench.make_messages(images, transport)
        cases = dict(variants)
        if transport == 'jpeg':
            cases['full-size JPEG decode'] = full_jpeg_decode
        pipelines = {
            name: Pipeline(own.get(name, model), input_kind=input_kind(transport == 'jpeg'))
            for name in cases
        }
        samples: dict[str, dict[str, list[float]]] = {
            name: {s: [] for s in bench.STAGES} for name in cases
        }
        for _ in range(args.rounds):
            for name, setup in cases.items():
                pl = pipelines[name]
                with setup(pl):
                    for i in range(args.frames + 10):
                        now = time.time_ns()
                        r = pl.process(bench_frames.restamped(msgs[i % len(msgs)], now), now)
                        if i >= 10:
                            for s in bench.STAGES:
                                samples[name][s].append(r.timings_ms[s])
        ref = float(np.median(samples['shipped']['total']))
        print(f'\n640x480 {transport}, {args.rounds}x{args.frames} frames per variant')
        print('| variant | total p50 ms | total p99 ms | vs shipped p50 | stage p50s |')
        print('|---|---|---|---|---|')
        for name, st in samples.items():
            summary = {s: percentiles(v, (50, 99)) for s, v in st.items()}
            p50, p99 = summary['total']['p50'], summary['total']['p99']
            stages = ' '.join(f'{s[:3]} {summary[s]["p50"]:.3f}' for s in bench.STAGES[:4])
            print(f'| {name} | {p50:.3f} | {p99:.3f} | {p50 - ref:+.3f} | {stages} |')
            results[f'{transport}: {name}'] = summary
    print(f'\n# model: {note}; load {machine.load_average()}', file=sys.stderr)
    if args.out:
        args.out.write_text(
            json.dumps({'machine': machine.describe(), 'results': results}, indent=2) + '\n'
        )
    tmp.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
