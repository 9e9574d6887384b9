# LinearRNN — the two commands of the README, and a few more.
#   make run   installs the C libraries if needed, builds release, runs `lrnn bench --quick`
#   make test  installs the C libraries if needed, runs the test suite
#   make sgemm-c  single-thread sgemm GFLOP/s from a minimal C program (to compare with lrnn info)
SWIFT        ?= swift
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config
LRNN         := .build/release/lrnn

.PHONY: deps build run test info check bench docs clean sgemm-c

# Install the Debian packages the build needs when missing (as root), else print the command.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing:$$missing"; \
	    if [ -z "$$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' 2>/dev/null | head -1)" ]; then apt-get update -qq; fi; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }; \
	  else \
	    echo "Missing Debian packages. Run:"; \
	    echo "  sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build -c release --product lrnn

# The main job: the quick benchmark report (kernels, scaling, memory, targets; < 90 s).
run: build
	$(LRNN) bench --quick

test: deps
	$(SWIFT) test

check: build
	$(LRNN) check ../shared/golden

# Single-thread sgemm peak from C (Benchmarks/c/sgemm_peak.c), to compare with `lrnn info`.
sgemm-c: deps
	@mkdir -p .build-c
	$(CC) -O2 -o .build-c/sgemm_peak Benchmarks/c/sgemm_peak.c $$(pkg-config --cflags --libs openblas)
	.build-c/sgemm_peak

clean:
	rm -rf .build .build-c
