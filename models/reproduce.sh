#!/usr/bin/env bash
# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# Rebuild the shipped models (see models/REPRODUCE.md). Run from the repository root (`make model`).
# Two files: grasp_classifier.pt (the default: the distilled 96 px student, with its
# parity-gated int8 variant embedded) and grasp_classifier_accurate.pt (its teacher, the 128 px
# linear probe; FP32 only). Work folders live OUTSIDE
# the repository. The results go to OUT (default: $WORK/model, outside the repository);
# `make model OUT=models` replaces the tracked files in models/.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
DATA=${SHARED_DATA:-../shared/data/grasp_verification_small}
WORK=${WORK:-../runs}
OUT=${OUT:-$WORK/model}
NICE=${NICE:-nice -n 5}

test -d "$DATA" || { echo "real data '$DATA' not found (set SHARED_DATA)"; exit 2; }
mkdir -p "$WORK" "$OUT"
start=$(date +%s)

# build CONFIG RUN MODEL_FILE METRICS_FILE RELIABILITY_FILE [default]
build() {
    local config=$1 run=$2 model=$3 metrics=$4 reliability=$5 default=${6:-}
    local cv_extra=() export_int8=()
    if [ -n "$default" ]; then
        # every fold model also quantized and scored out of fold (the gate export reads), and
        # the exported file carries the int8 variant, calibrated on every 4th real image; the
        # held-out folds are also scored through other cameras (shifts.py: the shift table)
        cv_extra=(--int8 --shifts all)
        export_int8=(--int8 --calibration "$DATA")
    fi
    # 1. 5-fold leave-sessions-out CV of the recipe; temperature + threshold from the out-of-fold
    #    predictions; then the same recipe on all real images (--refit), calibrated with them.
    #    REEXPORT=1 keeps a finished run (its CV, refit checkpoint and int8 gate entry) and
    #    repeats steps 2-4 only: for a change of what the file carries, not of its weights.
    if [ -n "${REEXPORT:-}" ]; then
        test -f "$run/refit/checkpoints/best.pt" -a -f "$run/cv.json" \
            || { echo "REEXPORT: no finished run in $run (run make model without it)"; exit 2; }
    else
        rm -rf "$run"
        $NICE "$BIN/grasp-train" cv "$DATA" --config "$config" --folds 5 --seed 0 \
            --out "$run" --refit --no-progress ${cv_extra[@]+"${cv_extra[@]}"}
    fi
    # 2. export (checks exported == eager, reloads with load_model; with int8: refused unless
    #    int8 agrees with FP32 on >= 99 % of the other images and its out-of-fold accuracy and
    #    failure-class accuracy are within 0.5 points of FP32's); --familiarity: the reference
    #    statistics of the real images for the node's out-of-depth monitor (limits set on their
    #    own sessions, each scored without its fold; benchmarks/familiarity.py measures them)
    "$BIN/grasp-train" export "$run/refit/checkpoints/best.pt" --out "$OUT/$model" \
        ${export_int8[@]+"${export_int8[@]}"} --familiarity "$DATA"
    # 3. the exported file through the runtime path on every real image: a check of the export
    #    and the latency, NOT a test score (the model has seen these images; CV is the score)
    "$BIN/grasp-train" evaluate "$OUT/$model" "$DATA" --out "$run/eval_real_all" --no-progress
    # 4. OUT/METRICS_FILE (CV report + that check), OUT/folds.json, OUT/RELIABILITY_FILE
    cp "$run/folds.json" "$OUT/folds.json"
    cp "$run/reliability.png" "$OUT/$reliability"
    "$BIN/python" - "$run" "$OUT" "$model" "$metrics" <<'PY'
import json
import sys
from pathlib import Path

from grasp_classifier_ros.core.metadata import INT8_RECORD_FILE, Int8Record
from grasp_classifier_ros.core.model import (
    file_sha256,
    read_extra,
    read_familiarity,
    read_metadata,
)

run, out, name, metrics = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
meta = read_metadata(out / name)
info = json.loads((run / 'run.json').read_text())
cv = json.loads((run / 'cv.json').read_text())
check = json.loads((run / 'eval_real_all' / 'metrics.json').read_text())
drop = ('model', 'data', 'split', 'subset', 'class_names')
result = {
    'model': {
        'file': name,
        'sha256': file_sha256(out / name),
        'architecture': meta.architecture,
        'input_size': list(meta.input_size),
        'class_names': list(meta.class_names),
        'success_class': meta.success_class,
        'temperature': meta.temperature,
        'threshold': meta.threshold,
        'pretrained_weights': info['pretrained_weights'],
    },
    'training': {
        'command': info['command'],
        'seed': info['seed'],
        'config': cv['config'],
        'data': info['data'],
        'git': info['git'],
        'wall_time_s': info['wall_time_s'],
        'refit_wall_time_s': cv.get('refit_wall_time_s'),
    },
    'cv': {
        'folds_file': 'folds.json',
        'k': cv['k'],
        'n': cv['n'],
        'fold_sizes': cv['fold_sizes'],
        'fold_groups': cv['fold_groups'],
        'calibration': cv['calibration'],
        'summary': cv['summary'],
        'folds': [{k: v for k, v in m.items() if k not in drop} for m in cv['folds']],
        'pooled': {k: v for k, v in cv['pooled'].items() if k not in drop},
        'cross_fitted': cv['cross_fitted'],
        # held-out folds through other cameras, at the unshifted calibration (cv --shifts)
        'shifts': cv.get('shifts'),
    },
    'all_real_images_seen_in_training': {
        'note': 'the shipped model has seen these images: a check of the export, not a score',
        **{k: v for k, v in check.items() if k not in drop},
    },
}
record = read_extra(out / name, INT8_RECORD_FILE)
if record is not None:
    r = Int8Record.from_json(record)
    result['int8'] = {
        'record': INT8_RECORD_FILE,
        'probe_top1_agreement': r.top1_agreement,
        'probe_images': r.probe_images,
        'probe': r.details.get('probe'),
        'calibration_images': r.details.get('calibration_images'),
        'cv_gate': r.cv,
        'cv': {k: v for k, v in cv['int8'].items() if k != 'folds'},
        'cv_folds': [{k: v for k, v in m.items() if k not in drop} for m in cv['int8']['folds']],
    }
familiarity = read_familiarity(out / name)
if familiarity is not None:
    result['familiarity'] = {
        'record': 'grasp_familiarity.json',
        'images': familiarity.images,
        'groups': familiarity.groups,
        'window': familiarity.window,
        'threshold': familiarity.threshold,
        'orientation_threshold': familiarity.orientation_threshold,
        'out_of_fold': familiarity.details.get('out_of_fold'),
        'geometry': familiarity.details.get('geometry'),
    }
(out / metrics).write_text(json.dumps(result, indent=2, sort_keys=True) + '\n')
print(f'wrote {out}/{name} and {out}/{metrics}')
PY
}

# The teacher first (the accurate file), then the student distilled from it (the default).
# Both use the same folds (group_folds k=5, seed 0); the student's teacher is refitted inside
# every fold on that fold's training images.
# STEPS picks which to rebuild (default both; `STEPS=default` when only the student's recipe changed).
STEPS=${STEPS:-accurate default}
case " $STEPS " in *" accurate "*)
    build lite0_probe "$WORK/lite0_probe" grasp_classifier_accurate.pt metrics_accurate.json \
        reliability_oof_accurate.png ;;
esac
case " $STEPS " in *" default "*)
    build lite0_distil "$WORK/lite0_distil" grasp_classifier.pt metrics.json reliability_oof.png default ;;
esac
echo "make model wall time: $(( $(date +%s) - start )) s"
