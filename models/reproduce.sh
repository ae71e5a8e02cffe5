#!/usr/bin/env bash
# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
#
# Rebuild models/grasp_classifier.pt and models/metrics.json (see models/REPRODUCE.md).
# Run from the repository root (`make model`). Work folders live OUTSIDE the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
DATA=${SHARED_DATA:-../shared/data/grasp_verification_small}
WORK=${WORK:-../runs}
RUN=${RUN:-$WORK/default}
NICE=${NICE:-nice -n 5}

test -d "$DATA" || { echo "real data '$DATA' not found (set SHARED_DATA)"; exit 2; }
mkdir -p "$WORK"

# 1. synthetic frames: 1000 for training, 400 held out (different seed) for evaluation
"$BIN/grasp-train" synth "$WORK/synth_train" --n 1000 --seed 0
"$BIN/grasp-train" synth "$WORK/synth_holdout" --n 400 --seed 12345

# 2. train: real data split by session, synthetic frames join training only
rm -rf "$RUN"
start=$(date +%s)
$NICE "$BIN/grasp-train" train "$DATA" --extra-data "$WORK/synth_train" \
    --seed 0 --out "$RUN" --no-progress
echo "training wall time: $(( $(date +%s) - start )) s"

# 3. export (checks exported == eager, reloads with load_model)
"$BIN/grasp-train" export "$RUN/checkpoints/best.pt" --out models/grasp_classifier.pt

# 4. evaluate the exported file through the runtime path
"$BIN/grasp-train" evaluate models/grasp_classifier.pt "$DATA" \
    --split "$RUN/split.json" --subset test --out "$RUN/eval_real_test" --no-progress
"$BIN/grasp-train" evaluate models/grasp_classifier.pt "$WORK/synth_holdout" \
    --out "$RUN/eval_synth_holdout" --no-progress

# 5. models/metrics.json: both evaluations plus the run's summary
"$BIN/python" - "$RUN" <<'PY'
import json
import sys
from pathlib import Path

from grasp_classifier_ros.core.model import read_metadata

run = Path(sys.argv[1])
meta = read_metadata('models/grasp_classifier.pt')
info = json.loads((run / 'run.json').read_text())
final = json.loads((run / 'metrics.json').read_text())
drop = ('model', 'data', 'split', 'subset')
out = {
    'model': {
        'architecture': meta.architecture,
        'input_size': list(meta.input_size),
        'class_names': list(meta.class_names),
        'success_class': meta.success_class,
        'temperature': meta.temperature,
        'threshold': meta.threshold,
    },
    'training': {
        'command': info['command'],
        'seed': info['seed'],
        'epochs_run': final['epochs_run'],
        'best_epoch': final['best_epoch'],
        'calibration': final['calibration'],
        'split': info['split'],
        'data': info['data'],
        'git': info['git'],
    },
    'real_test': {
        k: v
        for k, v in json.loads((run / 'eval_real_test' / 'metrics.json').read_text()).items()
        if k not in drop
    },
    'synthetic_holdout': {
        k: v
        for k, v in json.loads((run / 'eval_synth_holdout' / 'metrics.json').read_text()).items()
        if k not in drop
    },
}
Path('models/metrics.json').write_text(json.dumps(out, indent=2, sort_keys=True) + '\n')
print('wrote models/metrics.json')
PY
