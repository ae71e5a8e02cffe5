# grasp_classifier_ros — developer entry points. `make help` lists them.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED_DATA ?= ../shared/data/grasp_verification_small
ROS_DISTROS ?= jazzy humble
export ROS_DISTROS
export PYTHONUNBUFFERED := 1

.PHONY: help venv demo demo-real test lint typecheck pytest bench gpu-check fuzz soak docs zoo model \
	clean ros ros-test ros-bench

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(STAMP): requirements-dev.txt constraints-dev.txt setup.py training/pyproject.toml
	@echo ">> creating $(VENV): about 6.2 GB and 2-5 minutes (PyPI's torch wheel bundles CUDA; see README, Install)"
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@echo ">> installing the pinned development packages (constraints-dev.txt)"
	$(BIN)/pip install --progress-bar on -r requirements-dev.txt -c constraints-dev.txt
	@echo ">> installing grasp_classifier_ros and grasp-classifier-training (editable)"
	$(BIN)/pip install -q --no-deps -e . -e training
	touch $(STAMP)
	@echo ">> done: run 'source $(VENV)/bin/activate' to put evaluate_bag, make_bag and grasp-train on PATH"

venv: $(STAMP)  ## create the development environment (.venv)

demo: $(STAMP)  ## replay the demo bag through the shipped model in real time; report in out/demo
	$(BIN)/evaluate_bag data/demo/grasp_demo --realtime --out out/demo

demo-real: $(STAMP)  ## evaluate the shipped model on the real images in ../shared (if present)
	@test -d $(SHARED_DATA) || { echo "$(SHARED_DATA) not found: nothing to evaluate"; exit 2; }
	$(BIN)/evaluate_bag --from-images $(SHARED_DATA) --out out/demo_real

test: lint typecheck pytest  ## everything CI runs: lint, type check, tests

lint: $(STAMP)  ## ruff lint + format check, generated-docs drift check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/gen_docs.py --check

typecheck: $(STAMP)  ## mypy, the node against rclpy's real Python API
	bash tools/typecheck.sh

pytest: $(STAMP)  ## the test suite (ROS-dependent tests skip with a reason here)
	$(BIN)/python -m pytest -ra test training/tests

ros:  ## build or reuse minimal ROS 2 (ROS_DISTROS="jazzy humble") from ../shared/ros2, cached outside the repo
	@t0=$$(date +%s); bash tools/ros/build.sh $(ROS_DISTROS) \
	  && echo ">> make ros: $(ROS_DISTROS) ready in $$(( $$(date +%s) - t0 )) s"

ros-test: ros  ## colcon-build the package on each ROS 2 build, run the real-ROS tests (fails without ROS)
	bash tools/ros/test.sh $(ROS_DISTROS)

# Jazzy unless ROS_DISTROS is given on the command line or in the environment (as ros-test);
# ROS_BENCH_ARGS="--seconds 3" shortens it, BASELINE=main adds that revision's node.
ros-bench: ROS_DISTROS := $(if $(filter command line environment,$(origin ROS_DISTROS)),$(ROS_DISTROS),jazzy)
ros-bench: ros  ## the node under real ROS 2 beside the transport floor -> ros_bench.json (Jazzy)
	bash tools/ros/bench.sh $(ROS_DISTROS)

bench: $(STAMP)  ## shipped model vs the notebook baseline -> bench.json; zoo rows (CV runs in ../runs) -> zoo.md
	$(BIN)/python benchmarks/bench.py --out bench.json
	$(BIN)/python benchmarks/zoo.py --out zoo.md --json zoo.json

# benchmarks/gpu_check.py exits 77 when there is no CUDA device (one SKIP line): green here
# unless REQUIRE_GPU=1 (a machine that must have one); 0 = all passed, 1 = a check failed.
gpu-check: $(STAMP)  ## CUDA: default model on cuda fp16+fp32, parity with CPU, latency, cuda_fallback (no GPU: SKIP)
	@$(BIN)/python benchmarks/gpu_check.py --out gpu_check.json; rc=$$?; \
	  if [ $$rc -eq 77 ] && [ -z "$(REQUIRE_GPU)" ]; then exit 0; fi; exit $$rc

fuzz: $(STAMP)  ## >= 10,000 property-based cases against image conversion
	$(BIN)/python tools/fuzz_image_codec.py

soak: $(STAMP)  ## >= 100,000 frames: memory, latency drift, fd/thread growth
	$(BIN)/python benchmarks/soak.py

zoo: $(STAMP)  ## model zoo: accuracy vs latency table -> benchmarks/zoo.md and the README
	$(BIN)/python benchmarks/zoo.py

docs: $(STAMP)  ## regenerate config/classifier.yaml and the README parameter table
	$(BIN)/python tools/gen_docs.py

model: $(STAMP)  ## rebuild the shipped model into ../runs/model; OUT=models replaces models/ (models/REPRODUCE.md)
	OUT=$(OUT) bash models/reproduce.sh

clean:  ## remove build and report outputs (keeps .venv)
	rm -rf build install log out bench.json ros_bench*.json gpu_check.json .pytest_cache .mypy_cache .ruff_cache .ros
