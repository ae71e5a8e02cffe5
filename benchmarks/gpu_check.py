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
The CUDA path in one call (``make gpu-check``): load, parity with the CPU, latency, fallback.

On a machine with CUDA: the default model through the node's own start-up
(``configure.build_pipeline``) on ``cuda`` with ``fp16`` (the node's defaults) and in
float32; both must pick the CPU's verdicts on rendered gripper frames
(``bag.synth``, 640x480 ``bgr8``) with success probabilities within ``FP32_DP`` /
``FP16_DP``; frame -> verdict p50 and p99 through ``Pipeline.process`` (decode,
resize, host-to-device copy, inference, device-to-host copy, decision), p50 checked
against ``--target-ms``; ``cuda_fallback`` both ways on a CUDA device that is not
there (true: a warning and the CPU; false: a refusal naming the parameter). Installs
nothing; stops itself after ``--time-limit`` seconds.

Exit codes: 0 every check passed, 1 a check failed, 2 bad arguments, 77 no CUDA here
(one ``SKIP`` line: the automake convention for a skipped test; ``make gpu-check``
turns it into 0 unless ``REQUIRE_GPU=1``). ``--device cpu`` runs every check with the
CPU standing in for the GPU: a dry run of this script, not a GPU check.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import signal
import sys
import time
from typing import Any
import warnings

import cv2
import numpy as np
import torch

SKIP = 77
FP32_DP = 1e-3  # |p_gpu - p_cpu| in float32: reduction order only
FP16_DP = 0.02  # in float16
FP16_MIN_AGREEMENT = 0.98  # a frame right at the threshold may flip in half precision


class Check:
    """Collects PASS/FAIL lines and their figures."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []

    def __call__(self, name: str, ok: bool, detail: str, **figures: Any) -> bool:
        self.results.append({'check': name, 'pass': bool(ok), 'detail': detail, **figures})
        print(f'{"PASS" if ok else "FAIL"} {name}: {detail}', flush=True)
        return ok

    @property
    def failed(self) -> list[str]:
        return [r['check'] for r in self.results if not r['pass']]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument('--model', type=Path, help='model .pt (default: the shipped model)')
    p.add_argument('--device', default='cuda', help='cuda, cuda:N, or cpu (a dry run)')
    p.add_argument('--frames', type=int, default=500, help='timed frames per precision')
    p.add_argument('--parity-frames', type=int, default=64, help='rendered frames compared')
    p.add_argument('--target-ms', type=float, default=1.0, help='frame->verdict p50 target')
    p.add_argument('--time-limit', type=float, default=270.0, help='seconds before giving up')
    p.add_argument('--out', type=Path, help='also write the results as JSON')
    return p.parse_args(argv)


def camera_frames(n: int) -> list[np.ndarray]:
    """``n`` rendered gripper frames (half held), as 640x480 BGR camera images."""
    from grasp_classifier_ros.bag.synth import render_episode

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        rgb = render_episode(rng, i % 2 == 0, 1, size=240)[0]
        out.append(cv2.resize(rgb[:, :, ::-1], (640, 480), interpolation=cv2.INTER_LINEAR))
    return out


def pipeline_for(values: dict[str, Any], model: Path) -> Any:
    """Start a pipeline as the node does for these parameter values (smoothing off)."""
    from grasp_classifier_ros.core.configure import build_pipeline
    from grasp_classifier_ros.core.params import validate_all

    params = validate_all({'model_path': str(model), 'smoothing': 'none', **values})
    return build_pipeline(params)


def verdicts(pipeline: Any, msgs: list[Any]) -> tuple[np.ndarray, list[float]]:
    """Return the success probability of every message and frame -> verdict milliseconds."""
    import frames as bench_frames

    probs, times = [], []
    for msg in msgs:
        now = time.time_ns()
        t0 = time.perf_counter()
        result = pipeline.process(bench_frames.restamped(msg, now), now)
        times.append((time.perf_counter() - t0) * 1e3)
        if result.status != 'ok':
            raise RuntimeError(f'frame status {result.status}: {result.error}')
        probs.append(result.success_probability)
    return np.asarray(probs), times


def latency(pipeline: Any, msgs: list[Any], frames: int) -> dict[str, float]:
    """Return frame -> verdict p50/p99 over ``frames`` frames after a warm-up."""
    verdicts(pipeline, msgs[: min(50, len(msgs))] * 2)
    _, times = verdicts(pipeline, [msgs[i % len(msgs)] for i in range(frames)])
    return {'p50_ms': float(np.percentile(times, 50)), 'p99_ms': float(np.percentile(times, 99))}


def fallback(model: Path, device: str, allowed: bool) -> tuple[bool, str]:
    """Ask for a CUDA device that is not there with ``cuda_fallback`` = ``allowed``."""
    from grasp_classifier_ros.core.errors import DeviceError

    values = {'device': device, 'cuda_fallback': allowed}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            pipeline = pipeline_for(values, model)
        except DeviceError as exc:
            return (not allowed and 'cuda_fallback' in str(exc)), f'refused: {exc}'
    said = [str(w.message) for w in caught if 'falling back to CPU' in str(w.message)]
    on = pipeline.model.device.type
    return (allowed and on == 'cpu' and bool(said)), f'served on {on}; warned: {said[:1]}'


def dry_run(args: argparse.Namespace) -> bool:
    """Whether the CPU stands in for the GPU (``--device cpu``)."""
    return args.device == 'cpu'


def run(args: argparse.Namespace, check: Check) -> None:
    import frames as bench_frames
    from grasp_classifier_ros.core.paths import default_model_path

    model = args.model or default_model_path()
    cpu_msgs = [bench_frames.image_msg(f) for f in camera_frames(args.parity_frames)]
    torch.set_num_threads(1)
    reference = pipeline_for({'device': 'cpu', 'backend': 'torchscript'}, model)
    p_cpu, _ = verdicts(reference, cpu_msgs)
    threshold = reference.threshold
    print(f'# model {reference.model.model_id}, threshold {threshold:.3f}', flush=True)
    for name, fp16, max_dp, min_agree in (
        ('fp16', True, FP16_DP, FP16_MIN_AGREEMENT),
        ('fp32', False, FP32_DP, 1.0),
    ):
        # On CUDA the node's own backend choice; on the CPU (a dry run) the FP32 engine.
        engine = {'backend': 'torchscript'} if dry_run(args) else {}
        pipeline = pipeline_for({'device': args.device, 'fp16': fp16, **engine}, model)
        m = pipeline.model
        want = torch.float16 if fp16 and m.device.type == 'cuda' else torch.float32
        check(
            f'{name} load',
            m.device.type == torch.device(args.device).type and m.dtype == want,
            f'{m.model_id} on {m.device} in {m.dtype} with {m.runner.label}',
        )
        p, _ = verdicts(pipeline, cpu_msgs)
        dp = float(np.abs(p - p_cpu).max())
        agree = float(((p >= threshold) == (p_cpu >= threshold)).mean())
        check(
            f'{name} parity with CPU',
            agree >= min_agree and dp <= max_dp,
            f'same verdict on {agree:.1%} of {len(p)} rendered frames (>= {min_agree:.0%}), '
            f'max |dp| {dp:.2g} (<= {max_dp:g})',
            agreement=agree,
            max_abs_dp=dp,
        )
        lat = latency(pipeline, cpu_msgs, args.frames)
        line = f'frame->verdict p50 {lat["p50_ms"]:.3f} ms, p99 {lat["p99_ms"]:.3f} ms'
        if fp16:  # the node's defaults: the one the target is about
            check(
                f'{name} latency',
                lat['p50_ms'] <= args.target_ms,
                f'{line} (p50 target <= {args.target_ms:g} ms)',
                **lat,
            )
        else:
            check(f'{name} latency', True, f'{line} (reported)', **lat)
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    absent = f'cuda:{count}'  # one index past the last device
    for allowed in (True, False):
        ok, detail = fallback(model, absent, allowed)
        check(f'cuda_fallback={str(allowed).lower()} ({absent} absent)', ok, detail)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dry = dry_run(args)
    if not dry and not torch.cuda.is_available():
        cuda = torch.version.cuda or 'none (CPU-only build)'
        print(
            f'SKIP gpu-check: no CUDA device here (torch {torch.__version__}, CUDA {cuda}); '
            f'exit {SKIP}',
            flush=True,
        )
        return SKIP
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # frames.py beside this file

    def give_up(*_: Any) -> None:
        print(f'FAIL gpu-check: still running after {args.time_limit:g} s', flush=True)
        os._exit(1)

    signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, args.time_limit)
    if dry:
        print('# DRY RUN (--device cpu): the checks on the CPU; not a GPU check', flush=True)
    else:
        props = torch.cuda.get_device_properties(torch.device(args.device))
        print(f'# {props.name}, torch {torch.__version__}, CUDA {torch.version.cuda}', flush=True)
    check = Check()
    start = time.perf_counter()
    try:
        run(args, check)
    except Exception as exc:  # any crash is a failed check, reported in one line
        check('run', False, f'{type(exc).__name__}: {str(exc).strip().splitlines()[0]}')
    signal.setitimer(signal.ITIMER_REAL, 0)
    wall = time.perf_counter() - start
    if args.out:
        report = {'device': args.device, 'wall_s': wall, 'checks': check.results}
        args.out.write_text(json.dumps(report, indent=2) + '\n')
    failed = check.failed
    verdict = f'FAILED: {", ".join(failed)}' if failed else 'all checks passed'
    print(f'gpu-check {verdict} in {wall:.0f} s', flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
