# Entry points: make (build), make test, make demo. SANITIZE=1 builds and
# tests with ASan + UBSan in build-san/.
SANITIZE ?= 0
JOBS ?= $(shell nproc)

ifeq ($(SANITIZE),1)
BUILD_DIR := build-san
CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTHOP_SANITIZE=ON
# Packaging, cross-build and fuzz tests build their own binaries once, in
# the plain run; the long rate-only lab tests run there too (CMakeLists.txt).
CTEST_FILTER := -LE "own_build|rate_only"
else
BUILD_DIR := build
CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=Release
endif

.PHONY: all deps build test unit integration demo clean lint format

all: build

deps:
	@bash packaging/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --timeout 600 $(CTEST_FILTER)

unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L unit

integration: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -L integration

# make demo MODE=session runs the relays in session mode. make demo
# ISP=age|volume|blackhole: an ISP whose threshold porthop is not told; the
# demo compares direct, a fixed 60 s hop interval, the adaptive hops and the
# same relay once it learned the threshold. ISP=fiber: a 2 MB rule at full
# veth speed, --hop-bytes 1500000 against porthop with the ISP off. ISP=blocked:
# a third of the server ports blocked outright.
MODE ?= plain
ISP ?=
demo: build
	DEMO_MODE=$(MODE) DEMO_ISP=$(ISP) bash netns/demo

clean:
	rm -rf build build-san build-lint

# make lint: clang-format (.clang-format), clang-tidy on src/ (.clang-tidy) and
# shellcheck on every script; .ci/run runs it. make format rewrites the C++
# files to .clang-format.
lint: deps
	@bash scripts/lint.sh

format:
	git ls-files -- 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp' 'bench/*.hpp' | xargs clang-format -i

# Packaging (packaging/, docs/deployment.md). make deb: a hardened Release
# build in build-pkg/ packaged as build-pkg/porthop_VERSION_ARCH.deb. make cross
# ARCH=arm64: a cross build with Debian's toolchain in build-arm64/ (PACKAGE=1
# also packages it as build-arm64/porthop_VERSION_arm64.deb).
ARCH ?= arm64
PACKAGE ?= 0

.PHONY: deb cross

deb: deps
	@bash packaging/deb/build-deb.sh

cross:
	@bash packaging/cross/build-cross.sh --install-deps --arch $(ARCH)
	@if [ "$(PACKAGE)" = 1 ]; then bash packaging/deb/build-deb.sh --arch $(ARCH) --binary build-$(ARCH)/porthop; fi

# make bench (root; not part of make test): builds the bench programs in
# build-bench/ and runs bench/run (docs/bench.md). BENCH_ARGS passes options,
# e.g. make bench BENCH_ARGS="--repeat 3 --scale-duration 120".
BENCH_ARGS ?=
.PHONY: bench
# Only the porthop binary is built (not the unit tests): a clean clone on 2
# cores stays within the bench's 10 minutes.
bench: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) --target porthop -j $(JOBS)
	cmake -S bench -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build-bench -j $(JOBS)
	bash bench/run $(BENCH_ARGS)

# Reliability (docs/reliability.md). make fuzz: every libFuzzer target of
# tests/fuzz/ (clang, ASan + UBSan, built in build-fuzz/) for FUZZ_SECONDS
# each. make soak: SOAK_MINUTES of QUIC downloads through both relays in the
# lab, hopping every second; RSS, descriptors and sessions once a minute.
FUZZ_SECONDS ?= 60
SOAK_MINUTES ?= 10

.PHONY: fuzz soak

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

soak: build
	SOAK_MINUTES=$(SOAK_MINUTES) PORTHOP_BIN=$(CURDIR)/$(BUILD_DIR)/porthop bash tests/integration/soak_quic.sh
