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
Timeline plot of a bag evaluation: probability over time, labels shaded, verdicts marked.

Uses matplotlib's Agg backend (no display needed); matplotlib is imported
lazily so the rest of the evaluator works without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .labels import label_name
from .replay import DROPPED, FrameRecord
from .report import EpisodeResult, NO_VERDICT
from ..core.stamps import NS

MAX_EPISODE_TEXT = 16
BREAK_NS = NS // 4
VERDICT_COLOURS = {'success': '#2ca02c', 'failure': '#d62728', 'uncertain': '#7f7f7f'}
NO_VERDICT_COLOUR = '#7f7f7f'


def save_png(fig: Any, path: Path) -> Path:
    """Write a figure to ``path`` as PNG, close it, return the path."""
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def timeline_figure(
    records: list[FrameRecord],
    episodes: list[EpisodeResult],
    *,
    bag_start_ns: int,
    threshold: float,
    hysteresis: float,
    title: str = '',
) -> Any:
    """Draw the timeline into a new matplotlib figure (Agg backend) and return it."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    def t(ns: int) -> float:
        return (ns - bag_start_ns) / NS

    fig, ax = plt.subplots(figsize=(14, 4.8), dpi=100)
    shaded: set[bool] = set()
    for e in episodes:
        ep = e.episode
        mid = (t(ep.start_ns) + t(ep.end_ns)) / 2
        if ep.success is not None:
            name = label_name(ep.success)
            colour = VERDICT_COLOURS[name]
            ax.axvspan(
                t(ep.start_ns),
                t(ep.end_ns),
                color=colour,
                alpha=0.12,
                lw=0,
                label=None if ep.success in shaded else f'label {name}',
            )
            shaded.add(ep.success)
        # episode verdict: a dot in the verdict's colour, a cross when it is wrong, a hollow
        # grey ring when ~/check had too few fresh frames to answer
        if e.verdict == NO_VERDICT:
            ax.plot(mid, 1.1, 'o', ms=6, mfc='none', color=NO_VERDICT_COLOUR)
        else:
            marker = 'X' if e.correct is False else 'o'
            ax.plot(mid, 1.1, marker, ms=6, color=VERDICT_COLOURS[e.verdict])
        if len(episodes) <= MAX_EPISODE_TEXT:
            ax.text(mid, 1.15, e.verdict, ha='center', va='bottom', fontsize=7)
    kinds = {NO_VERDICT if e.verdict == NO_VERDICT else e.correct for e in episodes}
    if kinds - {NO_VERDICT, False}:
        ax.plot([], [], 'o', ms=6, color='#7f7f7f', label='~/check verdict (colour: verdict)')
    if False in kinds:
        ax.plot([], [], 'X', ms=6, color='#7f7f7f', label='~/check verdict, wrong')
    if NO_VERDICT in kinds:
        label = 'no verdict (too few frames)'
        ax.plot([], [], 'o', ms=6, mfc='none', color=NO_VERDICT_COLOUR, label=label)
    lo, hi = max(0.0, threshold - hysteresis), min(1.0, threshold + hysteresis)
    ax.axhspan(lo, hi, color='#ffbf00', alpha=0.15, lw=0, label='hysteresis band')
    ax.axhline(threshold, color='#ff7f0e', ls='--', lw=1, label=f'threshold {threshold:.2f}')
    ok = [r for r in records if r.status == 'ok' and r.probability is not None]
    if ok:
        xs = [t(r.stamp_ns) for r in ok]
        nan = float('nan')
        probs = [nan if r.probability is None else r.probability for r in ok]  # for mypy
        ax.plot(xs, probs, '.', ms=3, color='#1f77b4', label='p(success)')
        # break the smoothed line where the stream paused (smoothing restarts there)
        sx: list[float] = []
        sy: list[float] = []
        for i, r in enumerate(ok):
            if i and r.stamp_ns - ok[i - 1].stamp_ns > BREAK_NS:
                sx.append(nan)
                sy.append(nan)
            sx.append(xs[i])
            sy.append(nan if r.smoothed is None else r.smoothed)
        ax.plot(sx, sy, '-', lw=1, color='#17becf', label='smoothed')
        for verdict, colour in VERDICT_COLOURS.items():
            sel = [x for x, r in zip(xs, ok) if r.verdict == verdict]
            if sel:
                ax.plot(
                    sel, [-0.06] * len(sel), '|', ms=8, color=colour, label=f'verdict {verdict}'
                )
    for status, y, marker in ((DROPPED, -0.14, 'x'), ('stale', -0.14, 'v')):
        sel = [t(r.stamp_ns) for r in records if r.status == status]
        if sel:
            ax.plot(sel, [y] * len(sel), marker, ms=4, color='black', label=status, alpha=0.6)
    faults = [t(r.stamp_ns) for r in records if r.status not in ('ok', 'stale', DROPPED)]
    if faults:
        ax.plot(faults, [-0.14] * len(faults), 's', ms=4, color='purple', label='rejected')
    ax.set_ylim(-0.2, 1.3)
    ax.set_xlabel('time since bag start [s] (frame header stamp)')
    ax.set_ylabel('calibrated success probability')
    ax.set_title(title or 'grasp classifier timeline', fontsize=10)
    ax.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    ax.grid(alpha=0.25)
    fig.tight_layout()
    return fig
