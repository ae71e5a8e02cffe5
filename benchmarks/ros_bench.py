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
``make ros-bench``: what a frame costs the node under real ROS 2, beside the transport floor.

Runs where ROS 2 is sourced (``tools/ros/bench.sh`` sets that up, as ``make ros-test`` does).
Every process is separate, as on a robot:

* **camera** (``ros_bench.py camera``): a camera-like rclpy publisher; it stamps each frame with
  the wall clock just before ``publish`` (reliable, depth 1), on an absolute schedule at the
  rate, after one second of warm-up frames that are not counted;
* **targets**: the bare-subscriber **floor** (``ros_bench.py floor``: a ``rclpy.spin``
  subscriber that only receives the frames, with the node's QoS, and prints each receipt), and
  the node as users run it (``python3 -m grasp_classifier_ros.ros.node``), plain and lifecycle
  (configured and activated through its ``change_state`` service), each in its own namespace;
  ``--baseline DIR`` adds the node of another source tree (e.g. ``git archive main``);
* **probe** (this process): subscribes to every node's ``grasp/result`` and ``grasp/success``
  (reliable) and to ``/diagnostics``, and stamps each receipt with the wall clock.

All targets stay up for the whole run; the camera feeds one at a time, interleaved (for each
format and rate, every target in turn, ``--repeats`` rounds, the order rotated each round), so
what is compared shares the machine's load. Per window: end-to-end latency (input stamp ->
receipt of ``grasp/result``, matched by header stamp, and of ``grasp/success``, matched in
order), frames without a verdict ("dropped"), the target's CPU % of one core and RSS from
``/proc/<pid>``, the node's pipeline time (its diagnostics' ``latency p50``) and the load
average. The JSON keeps every frame's verdict latencies (``frames``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import subprocess
import sys
import threading
import time
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NS = 1_000_000_000
# name -> (width, height, what the camera sends)
FORMATS = {
    'raw640': (640, 480, 'bgr8'),
    'raw1280': (1280, 720, 'bgr8'),
    'jpeg640': (640, 480, 'jpeg'),
}
TARGETS = ('floor', 'pipeline', 'plain', 'lifecycle')
WARMUP_S = 1.0
DRAIN_S = 0.5
START_TIMEOUT_S = 180.0
CLK_TCK = os.sysconf('SC_CLK_TCK')


# -- the camera and the floor (child processes) ------------------------------------------------


def make_frames(fmt: str, count: int = 4) -> list[Any]:
    """Return ``count`` distinct frames of ``fmt``: BGR arrays, or JPEG bytes for jpeg640."""
    import cv2

    width, height, kind = FORMATS[fmt]
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for i in range(count):
        base = 96 + 64 * np.sin(xx / (40 + 9 * i)) * np.cos(yy / (50 + 7 * i))
        noise = rng.normal(0, 12, (height, width, 3))
        img = np.clip(base[..., None] + noise + [10 * i, 0, -10 * i], 0, 255).astype(np.uint8)
        if kind == 'jpeg':
            ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 90])
            assert ok
            frames.append(buf.tobytes())
        else:
            frames.append(img)
    return frames


def frame_messages(fmt: str) -> list[Any]:
    """Return the bench's frames in format ``fmt`` as Image (bgr8) or CompressedImage messages."""
    from sensor_msgs.msg import CompressedImage, Image

    width, height, kind = FORMATS[fmt]
    msgs = []
    for frame in make_frames(fmt):
        if kind == 'jpeg':
            msg: Any = CompressedImage(format='jpeg', data=frame)
        else:
            msg = Image(height=height, width=width, encoding='bgr8', step=width * 3)
            msg.data = frame.tobytes()
        msgs.append(msg)
    return msgs


def paced(
    msgs: list[Any], rate: float, seconds: float, start_delay: float = 0.0
) -> Iterator[tuple[bool, Any, int]]:
    """
    Yield ``(measured, msg, stamp_ns)`` at ``rate`` Hz, each stamped now.

    ``WARMUP_S`` of frames come first (``measured`` False); 'START' is printed when the
    measured ones begin, as the driver expects.
    """
    period = 1.0 / rate
    warm = round(WARMUP_S * rate)
    total = warm + round(seconds * rate)
    t0 = time.monotonic() + start_delay
    for k in range(total):
        if k == warm:
            print('START', flush=True)
        delay = t0 + k * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        msg = msgs[k % len(msgs)]
        now = time.time_ns()
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(now, NS)
        yield k >= warm, msg, now


def run_camera(args: argparse.Namespace) -> int:
    """Publish frames at ``--rate``; print START/END and, last, the counted stamps as JSON."""
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    rclpy.init()
    node = rclpy.create_node('bench_camera')
    kind = FORMATS[args.format][2]
    qos = QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE
    )
    msgs = frame_messages(args.format)
    for msg in msgs:
        msg.header.frame_id = 'bench_camera'
    pub = node.create_publisher(CompressedImage if kind == 'jpeg' else Image, args.topic, qos)
    end = time.monotonic() + 30.0
    while pub.get_subscription_count() < 1 and time.monotonic() < end:
        time.sleep(0.05)
    if pub.get_subscription_count() < 1:
        print(f'no subscriber on {args.topic} within 30 s', file=sys.stderr)
        return 1
    stamps = []
    for measured, msg, now in paced(msgs, args.rate, args.seconds, start_delay=0.2):
        pub.publish(msg)
        if measured:
            stamps.append(now)
    print('END', flush=True)
    print(json.dumps({'stamps': stamps}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def run_floor(args: argparse.Namespace) -> int:
    """Receive frames with the node's default QoS; print 'stamp_ns receipt_ns' for each."""
    import rclpy
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    rclpy.init()
    node = rclpy.create_node('bench_floor')
    qos = QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=args.qos_depth,
        reliability=ReliabilityPolicy.RELIABLE if args.reliable else ReliabilityPolicy.BEST_EFFORT,
    )
    out = sys.stdout

    def on_frame(msg: Any) -> None:
        now = time.time_ns()
        stamp = msg.header.stamp
        out.write(f'{stamp.sec * NS + stamp.nanosec} {now}\n')
        out.flush()

    node.create_subscription(
        CompressedImage if args.compressed else Image, args.topic, on_frame, qos
    )
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, Exception):
        pass
    return 0


def run_pipeline(args: argparse.Namespace) -> int:
    """
    Serve windows of the ROS-free pipeline: read 'FORMAT RATE SECONDS' lines from stdin.

    The node's ``Pipeline`` (node defaults, ``--model``) processes the camera's frames, as
    rclpy messages, at the rate on this thread: no transport, no executor. Prints START, END
    and the per-frame wall times (ms) as JSON for each window; the driver reads this
    process's CPU from /proc between START and END, as for the other targets.
    """
    from grasp_classifier_ros.core import params as param_specs
    from grasp_classifier_ros.core.configure import build_pipeline

    pipelines = {}
    for compressed in (False, True):
        values = {**param_specs.defaults(), 'model_path': args.model, 'compressed': compressed}
        pipelines[compressed] = build_pipeline(param_specs.validate_all(values))
    print('READY', flush=True)
    for line in sys.stdin:
        fmt, rate, seconds = line.split()
        pipeline = pipelines[FORMATS[fmt][2] == 'jpeg']
        wall_ms = []
        frames = paced(frame_messages(fmt), float(rate), float(seconds))
        for k, (measured, msg, _) in enumerate(frames):
            start = time.perf_counter_ns()
            result = pipeline.process(msg, time.time_ns())
            if measured:
                wall_ms.append((time.perf_counter_ns() - start) / 1e6)
            if result.status != 'ok':
                print(f'frame {k}: {result.status} {result.error}', file=sys.stderr)
        print('END', flush=True)
        print(json.dumps({'wall_ms': wall_ms}), flush=True)
    return 0


# -- the driver ---------------------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    """Return the user + system CPU seconds of process ``pid`` so far (all its threads)."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def proc_rss_mb(pid: int) -> float:
    """Return the resident set size of process ``pid`` in MiB."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def summary_ms(values: list[float]) -> dict[str, float | None]:
    """Return p50/p99/max of ``values`` (ms), None when empty."""
    if not values:
        return {'p50': None, 'p99': None, 'max': None}
    a = np.asarray(values)
    return {
        'p50': round(float(np.percentile(a, 50)), 3),
        'p99': round(float(np.percentile(a, 99)), 3),
        'max': round(float(a.max()), 3),
    }


@dataclass
class Target:
    """One process the camera feeds: the floor or a node."""

    name: str
    kind: str  # 'floor', 'pipeline' or 'node'
    compressed: bool
    proc: subprocess.Popen
    ns: str
    lines: list[tuple[int, int]] = field(default_factory=list)  # floor receipts

    @property
    def image_topic(self) -> str:
        return f'{self.ns}/image'


class Probe:
    """The controller's view: receipt times of every node's results, and its diagnostics."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        rclpy.init()
        self.node = rclpy.create_node('bench_probe')
        self.lock = threading.Lock()
        self.results: dict[str, list[tuple[int, int]]] = {}
        self.successes: dict[str, list[int]] = {}
        self.latency_p50: dict[str, float] = {}
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self._diag()
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        import rclpy

        while rclpy.ok():
            try:
                self.executor.spin_once(timeout_sec=0.1)
            except Exception:  # shutting down
                return

    def _diag(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        def on_diag(msg: Any) -> None:
            for status in msg.status:
                values = {kv.key: kv.value for kv in status.values}
                if 'latency p50 (ms)' in values:
                    ns = status.name.split(':')[0].rsplit('/', 1)[0]
                    try:
                        self.latency_p50[ns] = float(values['latency p50 (ms)'])
                    except ValueError:
                        pass

        self.node.create_subscription(DiagnosticArray, '/diagnostics', on_diag, 10)

    def watch(self, ns: str) -> None:
        """Listen to the node in ``ns``."""
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from std_msgs.msg import Bool
        from vision_msgs.msg import Classification

        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE
        )
        self.results[ns], self.successes[ns] = [], []

        def on_result(msg: Any) -> None:
            now = time.time_ns()
            stamp = msg.header.stamp
            with self.lock:
                self.results[ns].append((stamp.sec * NS + stamp.nanosec, now))

        def on_success(msg: Any) -> None:
            now = time.time_ns()
            with self.lock:
                self.successes[ns].append(now)

        self.node.create_subscription(Classification, f'{ns}/grasp/result', on_result, qos)
        self.node.create_subscription(Bool, f'{ns}/grasp/success', on_success, qos)

    def take(self, ns: str) -> tuple[list[tuple[int, int]], list[int]]:
        with self.lock:
            results, successes = self.results[ns], self.successes[ns]
            self.results[ns], self.successes[ns] = [], []
        return results, successes

    def activate_lifecycle(self, ns: str, node_name: str = 'grasp_classifier') -> None:
        """Configure and activate the lifecycle node in ``ns`` (as a lifecycle manager does)."""
        from lifecycle_msgs.msg import Transition
        from lifecycle_msgs.srv import ChangeState

        client = self.node.create_client(ChangeState, f'{ns}/{node_name}/change_state')
        if not client.wait_for_service(timeout_sec=START_TIMEOUT_S):
            raise SystemExit(f'ros_bench: {ns}/{node_name}/change_state did not appear')
        for transition in (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE):
            request = ChangeState.Request()
            request.transition.id = transition
            future = client.call_async(request)
            end = time.monotonic() + START_TIMEOUT_S
            while not future.done() and time.monotonic() < end:
                time.sleep(0.05)
            if not future.done() or not future.result().success:
                raise SystemExit(f'ros_bench: lifecycle transition {transition} failed in {ns}')
        self.node.destroy_client(client)

    def close(self) -> None:
        import rclpy

        rclpy.try_shutdown()
        self.thread.join(2.0)


def start_node(
    name: str, ns: str, compressed: bool, lifecycle: bool, args: argparse.Namespace, src: str
) -> subprocess.Popen:
    env = dict(os.environ)
    if src:  # another source tree's package first on the path
        env['PYTHONPATH'] = f'{src}:{env.get("PYTHONPATH", "")}'
    params = {
        'image_topic': 'image',
        'compressed': str(compressed).lower(),
        'model_path': args.model,
        **({'qos_reliability': 'reliable'} if args.reliable else {}),
        **dict(p.split(':=', 1) for p in args.node_param),
    }
    cmd = [sys.executable, '-P', '-m', 'grasp_classifier_ros.ros.node']
    if lifecycle:
        cmd.append('--lifecycle')
    cmd += ['--ros-args', '-r', f'__ns:={ns}', '--log-level', 'warn']
    for key, value in params.items():
        cmd += ['-p', f'{key}:={value}']
    log = open(Path(args.log_dir) / f'{name}.log', 'w')  # the process keeps it open
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_floor(ns: str, compressed: bool, reliable: bool) -> subprocess.Popen:
    cmd = [sys.executable, str(Path(__file__)), 'floor', '--topic', f'{ns}/image']
    if compressed:
        cmd.append('--compressed')
    if reliable:
        cmd.append('--reliable')
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)


def start_pipeline(args: argparse.Namespace) -> subprocess.Popen:
    cmd = [sys.executable, str(Path(__file__)), 'pipeline', '--model', args.model]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != 'READY':
        raise SystemExit('ros_bench: the pipeline process failed to start')
    return proc


def read_floor(target: Target) -> None:
    assert target.proc.stdout is not None
    for line in target.proc.stdout:
        stamp, receipt = line.split()
        target.lines.append((int(stamp), int(receipt)))


def start_targets(args: argparse.Namespace, probe: Probe) -> list[Target]:
    """Start every target the formats need; return once each is subscribed."""
    wanted = list(args.targets)
    kinds = sorted({FORMATS[f][2] == 'jpeg' for f in args.formats})
    targets = []
    run = f'{os.getpid()}'
    pipeline = start_pipeline(args) if 'pipeline' in wanted else None
    for compressed in kinds:
        suffix = 'jpeg' if compressed else 'raw'
        for name in wanted:
            ns = f'/bench{run}_{name.replace("-", "_")}_{suffix}'
            if name == 'pipeline':
                assert pipeline is not None
                targets.append(Target(name, 'pipeline', compressed, pipeline, ns))
                continue
            if name == 'floor':
                proc = start_floor(ns, compressed, args.reliable)
                target = Target(name, 'floor', compressed, proc, ns)
                threading.Thread(target=read_floor, args=(target,), daemon=True).start()
            else:
                src = args.baseline if name.startswith('baseline') else ''
                lifecycle = name.endswith('lifecycle')
                proc = start_node(f'{name}_{suffix}', ns, compressed, lifecycle, args, src)
                target = Target(name, 'node', compressed, proc, ns)
                probe.watch(ns)
            targets.append(target)
    for target in targets:  # lifecycle nodes: configure + activate once each is up
        if target.kind == 'node' and target.name.endswith('lifecycle'):
            probe.activate_lifecycle(target.ns)
    end = time.monotonic() + START_TIMEOUT_S
    for target in targets:
        while target.kind != 'pipeline' and probe.node.count_subscribers(target.image_topic) < 1:
            if target.proc.poll() is not None:
                raise SystemExit(
                    f'ros_bench: {target.name} exited ({target.proc.returncode}); '
                    f'see {args.log_dir}'
                )
            if time.monotonic() > end:
                raise SystemExit(f'ros_bench: {target.name} did not subscribe in time')
            time.sleep(0.1)
    return targets


def run_window(
    target: Target,
    fmt: str,
    rate: float,
    args: argparse.Namespace,
    probe: Probe,
    idle: Sequence[Target] = (),
) -> dict[str, Any]:
    """Feed ``target`` for one window; return what it cost (and what ``idle`` nodes cost)."""
    if target.kind == 'pipeline':
        return pipeline_window(target, fmt, rate, args)
    cmd = [sys.executable, str(Path(__file__)), 'camera', '--topic', target.image_topic]
    cmd += ['--format', fmt, '--rate', str(rate), '--seconds', str(args.seconds)]
    pid = target.proc.pid
    if target.kind == 'node':
        probe.take(target.ns)
    load_before = load_average()
    camera = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert camera.stdout is not None
    cpu0 = cpu1 = t0 = t1 = 0.0
    idle0: dict[str, float] = {}
    idle1: dict[str, float] = {}
    stamps: list[int] = []
    for line in camera.stdout:
        if line.startswith('START'):
            cpu0, t0 = proc_cpu_s(pid), time.monotonic()
            idle0 = {f'{t.name}@{t.ns}': proc_cpu_s(t.proc.pid) for t in idle}
            del target.lines[:]
        elif line.startswith('END'):
            cpu1, t1 = proc_cpu_s(pid), time.monotonic()
            idle1 = {f'{t.name}@{t.ns}': proc_cpu_s(t.proc.pid) for t in idle}
        elif line.startswith('{'):
            stamps = json.loads(line)['stamps']
    if camera.wait() != 0 or not stamps:
        raise SystemExit(f'ros_bench: the camera failed on {target.image_topic}')
    time.sleep(DRAIN_S)
    window: dict[str, Any] = {
        'target': target.name,
        'format': fmt,
        'rate_hz': rate,
        'sent': len(stamps),
        'cpu_pct': round(100 * (cpu1 - cpu0) / max(t1 - t0, 1e-9), 2),
        'rss_mb': round(proc_rss_mb(pid), 1),
        'load_1min': [load_before[0], load_average()[0]],
        # nodes not fed meanwhile: what their executor, timers and threads cost at rest
        'idle_cpu_pct': {
            k: round(100 * (idle1[k] - idle0[k]) / max(t1 - t0, 1e-9), 2) for k in idle0
        },
    }
    sent = set(stamps)
    if target.kind == 'floor':
        got = {s: (r - s) / 1e6 for s, r in list(target.lines) if s in sent}
        window['received'] = len(got)
        window['dropped'] = len(stamps) - len(got)
        window['latency_ms'] = summary_ms(list(got.values()))
        window['frames'] = [[s, got.get(s)] for s in stamps]
        return window
    results, successes = probe.take(target.ns)
    first, last = stamps[0], stamps[-1]
    # results before this window (warm-up frames) are not counted; the i-th success
    # message belongs to the i-th result (the node publishes both for each verdict)
    ordered = sorted(results)
    warm = sum(1 for s, _ in ordered if s < first)
    result_ms = {s: (r - s) / 1e6 for s, r in ordered if s in sent}
    success_ms: dict[int, float] = {}
    if len(successes) == len(ordered):
        success_ms = {
            s: (r - s) / 1e6 for (s, _), r in zip(ordered, sorted(successes)) if s in sent
        }
    window['verdicts'] = len(result_ms)
    window['dropped'] = len(stamps) - len(result_ms)
    window['result_ms'] = summary_ms(list(result_ms.values()))
    window['success_ms'] = summary_ms(list(success_ms.values()))
    window['success_matched'] = len(successes) == len(ordered)
    window['pipeline_ms_p50'] = probe.latency_p50.get(target.ns)
    window['warmup_results'] = warm
    window['late_results'] = sum(1 for s, _ in ordered if s > last)
    window['frames'] = [[s, result_ms.get(s), success_ms.get(s)] for s in stamps]
    return window


def pipeline_window(
    target: Target, fmt: str, rate: float, args: argparse.Namespace
) -> dict[str, Any]:
    """Run one window in the pipeline process; its CPU from /proc, its wall times per frame."""
    proc = target.proc
    assert proc.stdin is not None and proc.stdout is not None
    load_before = load_average()
    proc.stdin.write(f'{fmt} {rate} {args.seconds}\n')
    proc.stdin.flush()
    cpu0 = cpu1 = t0 = t1 = 0.0
    wall_ms: list[float] = []
    for line in proc.stdout:
        if line.startswith('START'):
            cpu0, t0 = proc_cpu_s(proc.pid), time.monotonic()
        elif line.startswith('END'):
            cpu1, t1 = proc_cpu_s(proc.pid), time.monotonic()
        elif line.startswith('{'):
            wall_ms = json.loads(line)['wall_ms']
            break
    if not wall_ms:
        raise SystemExit('ros_bench: the pipeline process failed')
    return {
        'target': target.name,
        'format': fmt,
        'rate_hz': rate,
        'sent': len(wall_ms),
        'dropped': 0,
        'cpu_pct': round(100 * (cpu1 - cpu0) / max(t1 - t0, 1e-9), 2),
        'cpu_ms_per_frame': round(1000 * (cpu1 - cpu0) / len(wall_ms), 3),
        'rss_mb': round(proc_rss_mb(proc.pid), 1),
        'load_1min': [load_before[0], load_average()[0]],
        'latency_ms': summary_ms(wall_ms),
    }


def aggregate(windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (format, rate, target): medians over the repeats."""
    rows: dict[tuple[str, float, str], list[dict[str, Any]]] = {}
    for w in windows:
        rows.setdefault((w['format'], w['rate_hz'], w['target']), []).append(w)

    def med(ws: list[dict[str, Any]], get: Callable[[dict[str, Any]], Any]) -> float | None:
        values = [v for v in (get(w) for w in ws) if v is not None]
        return round(float(np.median(values)), 3) if values else None

    out = []
    for (fmt, rate, target), ws in rows.items():
        lat = 'result_ms' if 'result_ms' in ws[0] else 'latency_ms'

        def pick(stat: str, lat: str = lat) -> Callable[[dict[str, Any]], Any]:
            return lambda win: win[lat][stat]

        row = {
            'format': fmt,
            'rate_hz': rate,
            'target': target,
            'windows': len(ws),
            'sent': sum(w['sent'] for w in ws),
            'dropped': sum(w['dropped'] for w in ws),
            'p50_ms': med(ws, pick('p50')),
            'p99_ms': med(ws, pick('p99')),
            'max_ms': max((w[lat]['max'] or 0.0) for w in ws),
            'success_p50_ms': med(ws, lambda w: w.get('success_ms', {}).get('p50')),
            'success_p99_ms': med(ws, lambda w: w.get('success_ms', {}).get('p99')),
            'cpu_pct': med(ws, lambda w: w['cpu_pct']),
            'rss_mb': med(ws, lambda w: w['rss_mb']),
            'pipeline_ms': med(ws, lambda w: w.get('pipeline_ms_p50')),
            'cpu_ms_per_frame': med(ws, lambda w: w['cpu_pct'] * 10 / w['rate_hz']),
            'load_1min': med(ws, lambda w: w['load_1min'][0]),
        }
        out.append(row)
    return out


def idle_cpu(windows: list[dict[str, Any]]) -> dict[str, float]:
    """Median CPU % of each node kind while the camera fed another target."""
    values: dict[str, list[float]] = {}
    for w in windows:
        for key, pct in w.get('idle_cpu_pct', {}).items():
            values.setdefault(key.split('@')[0], []).append(pct)
    return {name: round(float(np.median(v)), 2) for name, v in sorted(values.items())}


def verdicts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """
    Check the issue's targets for every node row against the same run's floor.

    The pipeline is the node's own (its diagnostics' latency p50, measured in the same
    window), as CPU its wall time x rate: CPU <= floor CPU + 1.3 x pipeline; p50 <= floor
    p50 + pipeline + 1 ms; p99 <= 2 x p50; no frame without a verdict.
    """
    by = {(r['format'], r['rate_hz'], r['target']): r for r in rows}
    out: dict[str, Any] = {}
    for (fmt, rate, target), row in by.items():
        floor = by.get((fmt, rate, 'floor'))
        if target in ('floor', 'pipeline') or floor is None:
            continue
        if None in (row['p50_ms'], row['pipeline_ms'], floor['p50_ms']):
            continue
        pipe = row['pipeline_ms']
        cpu_limit = floor['cpu_pct'] + 1.3 * pipe * rate / 10  # ms per frame x Hz -> %
        p50_limit = floor['p50_ms'] + pipe + 1.0
        p99_limit = 2 * row['p50_ms']
        out[f'{fmt}@{rate:g}Hz {target}'] = {
            'cpu_pct': [row['cpu_pct'], round(cpu_limit, 2), row['cpu_pct'] <= cpu_limit],
            'p50_ms': [row['p50_ms'], round(p50_limit, 3), row['p50_ms'] <= p50_limit],
            'p99_ms': [row['p99_ms'], round(p99_limit, 3), row['p99_ms'] <= p99_limit],
            'dropped': [row['dropped'], 0, row['dropped'] == 0],
        }
    return out


def print_table(rows: list[dict[str, Any]], checks: dict[str, Any], load: list[float]) -> None:
    def f(v: Any, spec: str = '.2f') -> str:
        return '-' if v is None else format(v, spec)

    print(
        f'\nros-bench ({os.environ.get("ROS_DISTRO", "?")}, '
        f'{os.environ.get("RMW_IMPLEMENTATION", "?")}); load {load}'
    )
    head = (
        'format',
        'Hz',
        'target',
        'p50 ms',
        'p99 ms',
        'max ms',
        'success p50',
        'dropped',
        'CPU %',
        'CPU ms/frame',
        'RSS MB',
        'pipeline ms',
        'load',
    )
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    for r in rows:
        cells = (
            r['format'],
            f'{r["rate_hz"]:g}',
            r['target'],
            f(r['p50_ms']),
            f(r['p99_ms']),
            f(r['max_ms']),
            f(r['success_p50_ms']),
            f'{r["dropped"]}/{r["sent"]}',
            f(r['cpu_pct'], '.1f'),
            f(r['cpu_ms_per_frame']),
            f(r['rss_mb'], '.0f'),
            f(r['pipeline_ms']),
            f(r['load_1min']),
        )
        print('| ' + ' | '.join(cells) + ' |')
    if checks:
        print('\ntargets (value, limit, met) against the floor of the same run:')
        for name, c in checks.items():
            text = ', '.join(
                f'{k} {v[0]} <= {v[1]}: {"yes" if v[2] else "NO"}' for k, v in c.items()
            )
            print(f'  {name}: {text}')


def run_driver(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(HERE))
    import machine

    Path(args.log_dir).mkdir(parents=True, exist_ok=True)
    info = machine.describe()
    probe = Probe()
    targets: list[Target] = []
    windows: list[dict[str, Any]] = []
    load_start = load_average()
    t_start = time.monotonic()
    try:
        targets = start_targets(args, probe)
        print(
            f'>> targets up in {time.monotonic() - t_start:.0f} s: '
            f'{", ".join(sorted({t.name for t in targets}))}',
            flush=True,
        )
        for fmt in args.formats:
            compressed = FORMATS[fmt][2] == 'jpeg'
            group = [t for t in targets if t.compressed == compressed]
            for rate in args.rates:
                for rep in range(args.repeats):
                    k = rep % len(group)
                    for target in group[k:] + group[:k]:
                        idle = [t for t in targets if t.kind == 'node' and t is not target]
                        w = run_window(target, fmt, rate, args, probe, idle)
                        w['repeat'] = rep
                        windows.append(w)
                        lat = w.get('result_ms', w.get('latency_ms'))
                        print(
                            f'   {fmt} {rate:g} Hz {target.name:<20} p50 {lat["p50"]} ms, '
                            f'dropped {w["dropped"]}/{w["sent"]}, CPU {w["cpu_pct"]} %, '
                            f'load {w["load_1min"][0]}',
                            flush=True,
                        )
    finally:
        for target in targets:
            target.proc.terminate()
        for target in targets:
            try:
                target.proc.wait(10)
            except subprocess.TimeoutExpired:
                target.proc.kill()
        probe.close()
    rows = aggregate(windows)
    checks = verdicts(rows)
    idle = idle_cpu(windows)
    load_end = load_average()
    report = {
        'machine': info,
        'ros_distro': os.environ.get('ROS_DISTRO'),
        'rmw': os.environ.get('RMW_IMPLEMENTATION'),
        'settings': {
            'formats': args.formats,
            'rates_hz': args.rates,
            'seconds': args.seconds,
            'repeats': args.repeats,
            'targets': args.targets,
            'model': args.model,
            'baseline': args.baseline,
            'node_params': args.node_param,
            'camera_qos': 'reliable, depth 1',
            'subscriber_qos': f'{"reliable" if args.reliable else "best_effort"}, depth 1',
            'cyclonedds_uri': os.environ.get('CYCLONEDDS_URI', ''),
        },
        'load_average_start': load_start,
        'load_average_end': load_end,
        'duration_s': round(time.monotonic() - t_start, 1),
        'rows': rows,
        'targets': checks,
        'idle_cpu_pct': idle,
        'windows': windows,
    }
    Path(args.out).write_text(json.dumps(report, indent=1) + '\n')
    print_table(rows, checks, load_start + load_end)
    if idle:
        text = ', '.join(f'{name} {pct} %' for name, pct in idle.items())
        print(f'node CPU while not fed (executor, timers, threads at rest; median): {text}')
    print(f'\n>> wrote {args.out} ({report["duration_s"]:.0f} s)')
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command')
    cam = sub.add_parser('camera', help='(internal) the camera-like publisher')
    cam.add_argument('--topic', required=True)
    cam.add_argument('--format', choices=FORMATS, required=True)
    cam.add_argument('--rate', type=float, required=True)
    cam.add_argument('--seconds', type=float, required=True)
    floor = sub.add_parser('floor', help='(internal) the bare subscriber')
    floor.add_argument('--topic', required=True)
    floor.add_argument('--compressed', action='store_true')
    floor.add_argument('--qos-depth', type=int, default=1)
    floor.add_argument('--reliable', action='store_true')
    pipe = sub.add_parser('pipeline', help='(internal) the ROS-free pipeline alone')
    pipe.add_argument('--model', required=True)
    parser.add_argument('--out', default='ros_bench.json')
    parser.add_argument('--seconds', type=float, default=6.0, help='counted seconds per window')
    parser.add_argument('--repeats', type=int, default=1, help='rounds per format and rate')
    parser.add_argument('--rates', type=float, nargs='+', default=[30.0, 60.0])
    parser.add_argument('--formats', nargs='+', choices=FORMATS, default=list(FORMATS))
    parser.add_argument(
        '--targets',
        nargs='+',
        default=list(TARGETS),
        help='floor pipeline plain lifecycle; with --baseline also baseline baseline-lifecycle',
    )
    parser.add_argument(
        '--baseline', default='', help='a source tree whose node runs as target "baseline"'
    )
    parser.add_argument(
        '--model',
        default=str(REPO / 'models' / 'grasp_classifier.pt'),
        help='model file every node serves',
    )
    parser.add_argument(
        '--node-param',
        action='append',
        default=[],
        metavar='NAME:=VALUE',
        help='an extra parameter for every node',
    )
    parser.add_argument(
        '--reliable',
        action='store_true',
        help='floor and nodes subscribe reliable (default: best effort, the node default)',
    )
    parser.add_argument('--log-dir', default=str(REPO / '.ros' / 'bench_logs'))
    args = parser.parse_args(argv)
    if args.command is None:
        if args.baseline and not any(t.startswith('baseline') for t in args.targets):
            args.targets.append('baseline')
        unknown = [
            t for t in args.targets if t not in (*TARGETS, 'baseline', 'baseline-lifecycle')
        ]
        if unknown:
            parser.error(f'unknown targets {unknown}')
        if any(t.startswith('baseline') for t in args.targets) and not args.baseline:
            parser.error('target baseline needs --baseline DIR')
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == 'camera':
        return run_camera(args)
    if args.command == 'floor':
        return run_floor(args)
    if args.command == 'pipeline':
        return run_pipeline(args)
    return run_driver(args)


if __name__ == '__main__':
    sys.exit(main())
