# The two commands of README.md. Both set up everything they need (scripts/setup is idempotent).
CARGO ?= cargo

.PHONY: setup run test lint
setup:
	./scripts/setup

# libtorch with its CUDA libraries (scripts/setup found an NVIDIA GPU): link libtorch_cuda, so that
# `--device auto` picks the GPU. Read when a recipe runs, after setup; ACA_CPU_ONLY=1 builds for the
# CPU even where a CUDA libtorch is already in .libtorch/.
FEATURES = $(if $(filter 1,$(ACA_CPU_ONLY)),,$(if $(wildcard .libtorch/.aca-cuda),--features aca-cli/cuda))

# The main job on the embedded default dataset (Fashion-MNIST).
run: setup
	$(CARGO) run --release --quiet -p aca-cli --bin aca $(FEATURES) -- run $(ARGS)

# The whole test suite, plus aca-space built and tested without libtorch. Tests run two at a time;
# one libtorch thread each keeps OpenMP from oversubscribing the cores (3-10x faster on 2 cores).
# The suite runs twice: on the kernels oneDNN picks for this CPU, and on its AVX2 kernels, which
# CPUs without AVX-512 run (oneDNN can lower its ISA, never raise it; docs/benchmarks.md, "A
# libtorch fault on the CPU"). scripts/memcheck then runs the op tests under valgrind.
test: export OMP_NUM_THREADS := 1
test: setup
	$(CARGO) test --workspace $(FEATURES)
	DNNL_MAX_CPU_ISA=AVX2 $(CARGO) test --workspace $(FEATURES)
	./scripts/memcheck $(FEATURES)
	$(CARGO) test -p aca-space --no-default-features

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p aca-space --no-default-features --all-targets -- -D warnings
