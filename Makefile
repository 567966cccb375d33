# SPDX-License-Identifier: GPL-2.0
#
# make               module for the running kernel (or KVER=/KDIR=) + userspace
# make test          everything from a fresh Debian bookworm: deps, both kernels, suite
# make demo          boot Debian's 6.12 in QEMU and run the seed scenarios

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
BUILD ?= $(CURDIR)/build
KERNELS ?= 6.1 6.12
DEMO_KERNEL ?= 6.12

# One build tree per kernel: Kbuild writes its objects next to the sources.
KMOD_DIR := $(BUILD)/kmod/$(KVER)
USERSPACE_DIR := $(BUILD)/userspace

.PHONY: all module userspace deps test demo clean

all: module userspace

module:
	@test -f $(KDIR)/Makefile || { \
		echo "error: no kernel build tree at $(KDIR)" >&2; \
		echo "       install linux-headers-$(KVER) or pass KDIR=<tree> KVER=<release>" >&2; \
		exit 1; }
	@mkdir -p $(KMOD_DIR)
	@cp -a --update Kbuild driver $(KMOD_DIR)/
	$(MAKE) -C $(KDIR) M=$(KMOD_DIR) W=1 modules
	@echo "module: $(KMOD_DIR)/mmapdemo.ko"

userspace:
	cmake -S . -B $(USERSPACE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMAPDEMO_STATIC=ON
	cmake --build $(USERSPACE_DIR) -j$(shell nproc)

deps:
	scripts/install-deps.sh

test: deps
	$(MAKE) userspace
	scripts/vm-suite.sh $(KERNELS)

demo: deps
	$(MAKE) userspace
	scripts/guest.sh $(DEMO_KERNEL) demo

clean:
	rm -rf $(BUILD)
