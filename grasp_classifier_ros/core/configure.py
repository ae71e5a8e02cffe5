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
Where node parameters meet the core: the one place ``Params`` become core objects.

``build_pipeline`` loads the model the parameters name and configures a
``Pipeline`` for them; ``apply_params`` applies run-time changes;
``reload_model`` is the one hot-reload path (load fully, then swap, so a model
that fails to load leaves the old one serving). The node and the bag evaluator
both start here.
"""

from __future__ import annotations

import torch

from .decision import DecisionConfig
from .interfaces import input_kind, InputKind
from .model import load_model, LoadedModel
from .params import Params, resolve_threshold
from .pipeline import Pipeline


def decision_config(params: Params, model_threshold: float) -> DecisionConfig:
    """Return the decision rules ``params`` ask for, given the model's own threshold."""
    return DecisionConfig(
        threshold=resolve_threshold(params.threshold, model_threshold),
        hysteresis=params.hysteresis,
        smoothing=params.smoothing,
        window=params.window,
        max_frame_age=params.max_frame_age,
        max_future_skew=params.max_future_skew,
        camera_timeout=params.camera_timeout,
    )


def resolve_model_path(path: str) -> str:
    """'' means the shipped model; anything else is used as given."""
    if path:
        return path
    from .paths import default_model_path

    return str(default_model_path())


def load_model_from_params(params: Params) -> LoadedModel:
    """Load the model ``params`` name, on their device with their backend; raise if it fails."""
    return load_model(
        resolve_model_path(params.model_path),
        device=params.device,
        cuda_fallback=params.cuda_fallback,
        fp16=params.fp16,
        expected_sha256=params.model_sha256,
        warmup_runs=params.warmup_runs,
        backend=params.backend,
    )


def build_pipeline(params: Params, kind: InputKind | None = None) -> Pipeline:
    """
    Set the CPU threads, load the model and return a pipeline configured by ``params``.

    ``kind``: what the frames are (default: what ``params.compressed`` subscribes to).
    """
    if params.num_threads > 0:
        torch.set_num_threads(params.num_threads)
    model = load_model_from_params(params)
    return Pipeline(
        model,
        decision=decision_config(params, model.metadata.threshold),
        roi=params.roi,
        mount=params.mount,
        max_pixels=params.max_pixels,
        input_kind=kind or input_kind(params.compressed),
        familiarity=(params.familiarity_window, params.familiarity_threshold),
    )


def apply_params(pipeline: Pipeline, params: Params) -> None:
    """Apply run-time parameters (all but the model: see ``reload_model``) from the next frame."""
    pipeline.configure(
        decision_config(params, pipeline.metadata.threshold),
        params.roi,
        params.max_pixels,
        params.mount,
        (params.familiarity_window, params.familiarity_threshold),
    )


def reload_model(pipeline: Pipeline, params: Params) -> LoadedModel:
    """
    Hot-reload: load the model ``params`` name fully, then swap it into ``pipeline``.

    On failure the ModelLoadError propagates and the old model keeps serving.
    The threshold follows the new model's own when ``params.threshold`` asks for it.
    """
    model = load_model_from_params(params)
    pipeline.swap_model(model, decision_config(params, model.metadata.threshold))
    return model
