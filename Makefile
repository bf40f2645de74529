# Two commands for a fresh machine (see README): `make run` and `make test`.
# The first use of either creates .venv and installs Specks with its extras.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.specks-installed

.PHONY: run test test-fast test-device test-arm64 system-deps wheel lint bench bench-peers zoo bundles clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[host,dev]'
	touch $(STAMP)

# The embedded default: the shipped int8 bundle on the x86-generic profile, sparse mode, over a
# generated 1920x1080 clip of small moving objects (written once; seed fixed).
SAMPLE_CLIP := runs/sample-clip
$(SAMPLE_CLIP)/meta.json: | $(STAMP)
	$(BIN)/specks data synth $(SAMPLE_CLIP) --frames 90 --size 1920x1080 --seed 5 --max-size 32

run: $(STAMP) $(SAMPLE_CLIP)/meta.json
	$(BIN)/specks run --board x86-generic --source $(SAMPLE_CLIP) --no-realtime --jsonl -

# The real broker, sshd, browser, systemd's unit checker and a compiler the tests drive:
# installed when run as root, else the one apt-get command to run is printed.
system-deps:
	bash .ci/system-deps.sh test

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) system-deps
	$(BIN)/python -m pytest -q -m "not slow"

# The wheel a board installs (dist/): code, board profiles, the zoo key and the shipped bundles.
wheel: $(STAMP)
	rm -rf build
	$(BIN)/python -m pip wheel --quiet --no-deps . -w dist

# tests/firmware_py against the built wheel in a venv without torch (the device extra only).
test-device: $(STAMP) system-deps
	bash .ci/test-device.sh

# The arm64 emulation lane (root; see README "Boards and OS images"): the device install and
# commands on real aarch64 wheels under qemu-user, per board core, compared with x86. The arm64
# root is cached in ~/.cache/specks/arm64-root (ARM64_ROOT). ARM64_CORES / ARM64_RUNTIMES narrow
# or widen it.
test-arm64: $(STAMP)
	BIN=$(BIN) .ci/arm64/lane.sh

lint: $(STAMP)
	$(BIN)/ruff check .

# The synthetic splits of the shipped model's recipe: train (calibration) and held-out.
BENCH_DATA := runs/bench-data
$(BENCH_DATA)/heldout/data.yaml: | $(STAMP)
	$(BIN)/specks data synth $(BENCH_DATA)/train --images 100 --size 640x640 --seed 7 --val-fraction 0
	$(BIN)/specks data synth $(BENCH_DATA)/heldout --images 100 --size 640x640 --seed 1007 --val-fraction 1

bench: $(STAMP) $(BENCH_DATA)/heldout/data.yaml
	$(BIN)/python bench/sparse_conv.py
	$(BIN)/python bench/detector.py
	$(BIN)/python bench/export.py --data $(BENCH_DATA)/heldout/data.yaml \
		--calib $(BENCH_DATA)/train/data.yaml
	$(BIN)/python bench/executorch_runtime.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/sparse_curves.py
	$(BIN)/python bench/merge.py
	$(BIN)/python bench/governor.py
	$(BIN)/python bench/flash.py

# Specks against Ultralytics YOLO11n, YOLO26n and SAHI. The peers get their own environment: they need
# torch 2.14.1 + torchvision 0.29.1, and Ultralytics is AGPL-3.0 (never a Specks dependency).
PEERS_VENV := .venv-peers
PEERS_STAMP := $(PEERS_VENV)/.peers-installed
$(PEERS_STAMP): bench/peers-requirements.txt
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install --quiet -r bench/peers-requirements.txt
	touch $(PEERS_STAMP)

bench-peers: $(STAMP) $(PEERS_STAMP)
	$(BIN)/python bench/peers.py --readme README.md

# Re-train the shipped detector from its recipe (about 90 minutes on 2 CPU cores).
zoo: $(STAMP)
	$(BIN)/specks zoo build models/zoo/specknet-nano.recipe.json

# Re-export and sign the shipped bundles (models/zoo/bundles) with the zoo key.
bundles: $(STAMP)
	SPECKS_SIGNING_KEY=$${SPECKS_SIGNING_KEY:-$$HOME/.config/specks/keys/specks-zoo.key} \
		BIN=$(BIN) models/zoo/bundles/build.sh

clean:
	rm -rf $(VENV) $(PEERS_VENV) .pytest_cache .ruff_cache *.egg-info
