# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Matplotlib (Agg) figures: training curves, confusion matrix, ROC, reliability, gallery."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use('Agg')

import matplotlib.pyplot as plt
import numpy as np


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_curves(rows: Sequence[dict[str, float]], path: Path) -> Path:
    """Plot loss and accuracy curves (train/val/test) per epoch from CSV rows."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = [r['epoch'] for r in rows]

    def series(key: str) -> tuple[list[float], list[float]]:
        pts = [(r['epoch'], r[key]) for r in rows if r.get(key) not in (None, '')]
        return [p[0] for p in pts], [float(p[1]) for p in pts]

    for key, style in (('train_loss', '-'), ('val_loss', '-'), ('test_loss', 'o--')):
        xs, ys = series(key)
        if xs:
            ax_loss.plot(xs, ys, style, label=key)
    keys = sorted({k for r in rows for k in r if k.startswith(('val_acc', 'test_acc'))})
    for key in keys:
        xs, ys = series(key)
        if xs:
            ax_acc.plot(xs, ys, 'o--' if key.startswith('test') else '-', label=key)
    ax_loss.set(xlabel='epoch', ylabel='cross-entropy', title='loss')
    ax_acc.set(xlabel='epoch', ylabel='accuracy', title='accuracy', ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        if epochs:
            ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    return _save(fig, path)


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: Path) -> Path:
    """Draw a confusion matrix (rows: true class, columns: predicted) with counts."""
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(matrix, cmap='Blues')
    n = len(class_names)
    ax.set_xticks(range(n), class_names)
    ax.set_yticks(range(n), class_names)
    ax.set(xlabel='predicted', ylabel='true', title='confusion matrix')
    top = matrix.max() if matrix.size else 0
    for i in range(n):
        for j in range(n):
            color = 'white' if matrix[i, j] > top / 2 else 'black'
            ax.text(j, i, str(int(matrix[i, j])), ha='center', va='center', color=color)
    return _save(fig, path)


def plot_roc(fpr: np.ndarray, tpr: np.ndarray, auc: float | None, path: Path) -> Path:
    """Draw the ROC curve of the success class."""
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot(fpr, tpr, label=f'AUC = {auc:.3f}' if auc is not None else 'ROC')
    ax.plot([0, 1], [0, 1], ':', color='grey')
    ax.set(xlabel='false positive rate', ylabel='true positive rate', title='ROC (success)')
    ax.legend(loc='lower right')
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_reliability(
    confidence: np.ndarray, correct: np.ndarray, ece: float, path: Path, n_bins: int = 15
) -> Path:
    """Draw a reliability diagram: accuracy against top-label confidence per bin."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1]), 0, n_bins - 1)
    centers, accs, counts = [], [], []
    for b in range(n_bins):
        sel = idx == b
        if sel.any():
            centers.append(float(confidence[sel].mean()))
            accs.append(float(correct[sel].mean()))
            counts.append(int(sel.sum()))
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot([0, 1], [0, 1], ':', color='grey', label='perfect')
    ax.bar(centers, accs, width=1.0 / n_bins, alpha=0.6, edgecolor='black', label='accuracy')
    ax.set(
        xlabel='confidence',
        ylabel='accuracy',
        title=f'reliability (ECE = {ece:.3f})',
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc='upper left')
    return _save(fig, path)


def plot_gallery(
    images: Sequence[np.ndarray], captions: Sequence[str], path: Path, cols: int = 6
) -> Path:
    """Tile RGB images with captions (e.g. the misclassified ones)."""
    n = max(1, len(images))
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis('off')
    if not images:
        axes[0, 0].text(0.0, 0.5, 'no misclassified images', fontsize=10)
    for ax, img, cap in zip(axes.ravel(), images, captions):
        ax.imshow(img)
        ax.set_title(cap, fontsize=6)
    return _save(fig, path)
