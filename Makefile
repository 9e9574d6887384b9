# LinearRNN — the two commands of the README, and a few more.
#   make run   installs the C libraries if needed, builds release, runs `lrnn bench --quick`
#   make test  installs the C libraries if needed, runs the test suite and the consumer example
#   make sgemm-c  single-thread sgemm GFLOP/s from a minimal C program (to compare with lrnn info)
#   make docs  DocC documentation of the public modules (warnings are errors), in .build-docs/
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

# The test suite, then the consumer example (docs/examples/consumer), built as another package
# would build LinearRNN: a missing `public` or a broken public API fails here.
test: deps
	$(SWIFT) test --disable-xctest
	@# The consumer's own objects are rebuilt every time (one file): an incremental build does not
	@# notice a type moving between the modules the umbrella re-exports, and would fail to link.
	@# The build manifest goes too, so that the build is planned anew and recreates the objects'
	@# directory (with only the directory gone, a cached plan fails on its missing file map).
	rm -rf .build-consumer/*/debug/consumer.build .build-consumer/debug.yaml
	$(SWIFT) build --package-path docs/examples/consumer --scratch-path .build-consumer
	.build-consumer/debug/consumer

# DocC for every public module, combined into one archive so the catalogs can link to each
# other (as ``/Module/Symbol``). The umbrella LinearRNN has no symbols of its own (symbol
# graphs do not include @_exported modules), so its catalog is the articles' root page.
# LRNN_DOCC makes Package.swift add the swift-docc-plugin dependency.
DOC_TARGETS := LinearRNN LRNNLinearAlgebra LRNNKernels LRNNModels LRNNTraining LRNNTokenizers
docs: deps
	@mkdir -p .build-docs
	LRNN_DOCC=1 $(SWIFT) package --allow-writing-to-directory .build-docs generate-documentation \
	  $(addprefix --target ,$(DOC_TARGETS)) --enable-experimental-combined-documentation \
	  --warnings-as-errors --output-path .build-docs/LinearRNN.doccarchive

check: build
	$(LRNN) check ../shared/golden

# Single-thread sgemm peak from C (Benchmarks/c/sgemm_peak.c), to compare with `lrnn info`.
sgemm-c: deps
	@mkdir -p .build-c
	$(CC) -O2 -o .build-c/sgemm_peak Benchmarks/c/sgemm_peak.c $$(pkg-config --cflags --libs openblas)
	.build-c/sgemm_peak

clean:
	rm -rf .build .build-c .build-consumer .build-docs
