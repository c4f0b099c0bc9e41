# Thin wrapper over meson + ninja.  `make run`, `make demo` and `make check`
# work on a fresh Debian 12 machine as root: missing packages are installed
# first.

BUILD ?= build
JOBS ?= 2
SHARE ?= $(CURDIR)/var/share
IMAGE ?= $(CURDIR)/var/vhostfs.img
IMAGE_SIZE ?= 4G
EXPORT ?= main
SOCKET ?= $(CURDIR)/var/vhostfsd.sock
MOUNT ?= $(CURDIR)/var/mnt
FUZZ_SECONDS ?= 600

.PHONY: all deps build run run-fuse run-share run-share-fuse image demo \
	check unit integration guest fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

# How a QEMU guest attaches to $(SOCKET).
define qemu_lines
	@echo "Attach a guest (its RAM must be shared memory) with these QEMU options:"
	@echo
	@echo "  qemu-system-x86_64 ... -m 1G \\"
	@echo "    -object memory-backend-memfd,id=mem,size=1G,share=on \\"
	@echo "    -machine q35,memory-backend=mem \\"
	@echo "    -chardev socket,id=vhostfs,path=$(SOCKET) \\"
	@echo "    -device vhost-user-fs-pci,chardev=vhostfs,tag=vhostfs,queue-size=1024"
	@echo
	@echo "and in the guest: mount -t virtiofs vhostfs /mnt"
	@echo "One guest at a time; the daemon waits for the next one when it leaves."
	@echo
endef

# The default image: made (sparse, $(IMAGE_SIZE), file system "main") when
# it is missing.
image: build
	@mkdir -p $(dir $(IMAGE))
	@test -e $(IMAGE) || $(BUILD)/src/app/vhostfs mkfs $(IMAGE) --size $(IMAGE_SIZE)

# Serve file system $(EXPORT) of $(IMAGE) to QEMU guests over vhost-user
# until interrupted; print the QEMU options that attach a guest to it.
run: image
	@echo "vhostfsd: serving $(IMAGE) ($(EXPORT)) on $(SOCKET) (Ctrl-C to stop)."
	$(qemu_lines)
	$(BUILD)/src/app/vhostfsd --image $(IMAGE) --export $(EXPORT) --socket-path $(SOCKET)

# The same file system to the host kernel over /dev/fuse at var/mnt.
run-fuse: image
	@mkdir -p $(MOUNT)
	@echo "vhostfsd: serving $(IMAGE) ($(EXPORT)) at $(MOUNT) (Ctrl-C to stop)"
	$(BUILD)/src/app/vhostfsd --image $(IMAGE) --export $(EXPORT) --fuse-mount $(MOUNT)

# A host directory instead of the image: SHARE=DIR make run-share (or
# run-share-fuse); default var/share.
run-share: build
	@mkdir -p $(SHARE)
	@echo "vhostfsd: serving $(SHARE) on $(SOCKET) (Ctrl-C to stop)."
	$(qemu_lines)
	$(BUILD)/src/app/vhostfsd --shared-dir $(SHARE) --socket-path $(SOCKET)

run-share-fuse: build
	@mkdir -p $(SHARE) $(MOUNT)
	@echo "vhostfsd: serving $(SHARE) at $(MOUNT) (Ctrl-C to stop)"
	$(BUILD)/src/app/vhostfsd --shared-dir $(SHARE) --fuse-mount $(MOUNT)

# Boot a small QEMU guest against vhostfsd and show the share in use.
demo: build
	SHARE=$(SHARE) scripts/demo.sh $(BUILD)

check: deps
	JOBS=$(JOBS) scripts/check.sh

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

integration: build
	meson test -C $(BUILD) --suite integration --print-errorlogs

guest: build
	scripts/guest-image.sh
	meson test -C $(BUILD) --suite guest --print-errorlogs

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# Each benchmark runs its peer (host directory, virtiofsd, fio) in the same run.
bench: build
	bench/fio-devfuse.sh
	bench/compare
	bench/blob
	BUILD=$(BUILD) bench/image

clean:
	rm -rf build build-asan build-clang build-fuzz build*.setup.log
