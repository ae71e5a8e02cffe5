# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Linear probe: the classifier layer of a frozen pretrained backbone, fitted in closed form.

With every backbone weight frozen (``model.freeze: -1``) and no augmentation
but mirroring, training is an L2-regularised logistic regression on pooled
features: computed once, fitted with LBFGS in float64 to the optimum, so the
result does not depend on epochs, batch order or learning rate. Features are
standardised for the fit and the scaling folded back into the linear layer, so
the exported model is the plain backbone + linear layer.
"""

from __future__ import annotations

from collections.abc import Sequence

from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.preprocess import normalize_batch
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


@torch.inference_mode()
def pooled_features(
    model: nn.Module, images: Sequence[np.ndarray], meta: ModelMetadata, flip: bool = False
) -> torch.Tensor:
    """``model.features`` of input-sized uint8 RGB images (mirrored if ``flip``), float64."""
    model.eval()
    out = []
    for i in range(0, len(images), 64):
        x = torch.from_numpy(np.stack(images[i : i + 64])).permute(0, 3, 1, 2)
        if flip:
            x = torch.flip(x, [3])
        out.append(model.features(normalize_batch(x, meta)).double())
    return torch.cat(out)


def fit_logistic(
    features: torch.Tensor, labels: torch.Tensor, l2: float, prior: nn.Linear | None = None
) -> nn.Linear:
    """
    Multinomial logistic regression (mean cross-entropy + ``l2/2 * |W - W0|^2``) by LBFGS.

    ``W0`` is 0, or the weights of ``prior`` (a linear layer on the same features, e.g. a
    starting model's): with little data the fit stays near it. The penalty is on the
    weights of the standardised features. Returns a float32 ``nn.Linear`` acting on the
    *unstandardised* features.
    """
    mu = features.mean(0)
    sd = features.std(0).clamp_min(1e-6)
    z = (features - mu) / sd
    n_classes = int(labels.max()) + 1
    w0 = torch.zeros(n_classes, z.shape[1], dtype=torch.float64)
    b0 = torch.zeros(n_classes, dtype=torch.float64)
    if prior is not None:
        pw = prior.weight.detach().double()
        n_classes = pw.shape[0]
        w0, b0 = pw * sd, prior.bias.detach().double() + pw @ mu  # the prior, standardised
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [w, b], max_iter=2000, line_search_fn='strong_wolfe', tolerance_grad=1e-10
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(z @ w.T + b, labels) + 0.5 * l2 * ((w - w0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    linear = nn.Linear(z.shape[1], n_classes)
    with torch.no_grad():
        scaled = w.detach() / sd
        linear.weight.copy_(scaled.float())
        linear.bias.copy_((b.detach() - scaled @ mu).float())
    return linear


def fit_linear_probe(
    model: nn.Module,
    images: Sequence[np.ndarray],
    labels: Sequence[int],
    meta: ModelMetadata,
    *,
    l2: float,
    hflip: bool,
) -> nn.Module:
    """Fit ``model.fc`` on the frozen features of ``images`` (+ mirrored ones if ``hflip``)."""
    feats = pooled_features(model, images, meta)
    y = torch.as_tensor(list(labels), dtype=torch.long)
    if hflip:
        feats = torch.cat([feats, pooled_features(model, images, meta, flip=True)])
        y = torch.cat([y, y])
    fitted = fit_logistic(feats, y, l2)
    with torch.no_grad():
        model.fc.weight.copy_(fitted.weight)
        model.fc.bias.copy_(fitted.bias)
    return model.eval()
