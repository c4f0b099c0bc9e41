# Thin wrapper over meson + ninja.  `make run` and `make check` work on a
# fresh Debian 12 machine as root: missing packages are installed first.

BUILD ?= build
JOBS ?= 2
SHARE ?= $(CURDIR)/var/share
MOUNT ?= $(CURDIR)/var/mnt
FUZZ_SECONDS ?= 600

.PHONY: all deps build run check unit integration fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

# Serve the default share over /dev/fuse at var/mnt until interrupted.
run: build
	@mkdir -p $(SHARE) $(MOUNT)
	@echo "vhostfsd: serving $(SHARE) at $(MOUNT) (Ctrl-C to stop)"
	$(BUILD)/src/app/vhostfsd --shared-dir $(SHARE) --fuse-mount $(MOUNT)

check: deps
	JOBS=$(JOBS) scripts/check.sh

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

integration: build
	meson test -C $(BUILD) --suite integration --print-errorlogs

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

bench: build
	bench/fio-devfuse.sh

clean:
	rm -rf build build-asan build-clang build-fuzz build*.setup.log
