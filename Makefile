# SPDX-License-Identifier: GPL-2.0
#
# make               module for the running kernel (or KVER=/KDIR=) + userspace
# make test          everything from a fresh Debian bookworm: deps, every kernel, suite
# make test-debug    reliability lane: debug kernel (KASAN, lockdep, kmemleak, fault
#                    injection) suite, load/unload cycles, stress; stress-ng everywhere
# make demo          boot the newest kernel in QEMU and run the seed scenarios
# make bench         benchmarks: host calibration + one guest boot per kernel; tables,
#                    JSON, summary and plots in bench-results/<date>/
# make lint          checkpatch, sparse, W=1, kernel-doc, clang-format, clang-tidy, shellcheck
# make bundle        one tarball (module, static tests, runner) to run the suite on a VM
# make install       module (+ depmod), udev rule, modules-load.d, CLI, library, headers
# make uninstall     undo make install

# The kernel to build for: KVER as DKMS and packagers pass it (or the
# KERNELRELEASE of a kernel build), the running kernel only as a fallback.
KVER ?= $(or $(KERNELRELEASE),$(shell uname -r))
KDIR ?= /lib/modules/$(KVER)/build
BUILD ?= $(CURDIR)/build
# The kernels of scripts/host/kernels.conf, in its order; the newest for the demo.
KERNELS ?= $(shell $(CURDIR)/scripts/host/kernels.sh list)

PREFIX ?= /usr/local
DESTDIR ?=
# Members of this group may open /dev/mmapdemo (mode 0660 through udev).
MMAPDEMO_GROUP ?= mmapdemo
UDEV_RULES_DIR ?= /etc/udev/rules.d
MODULES_LOAD_DIR ?= /etc/modules-load.d
INSTALL_MOD_DIR ?= updates
DEMO_KERNEL ?= $(shell $(CURDIR)/scripts/host/kernels.sh newest)
# make bundle's tarball; make test boots a guest from it on this kernel.
BUNDLE ?= $(BUILD)/mmapdemo-bundle-$(KVER).tar.gz
BUNDLE_KERNEL ?= $(DEMO_KERNEL)

# One build tree per kernel: Kbuild writes its objects next to the sources.
KMOD_DIR := $(BUILD)/kmod/$(KVER)
USERSPACE_DIR := $(BUILD)/userspace
# The one configure line of the static user space; its programs land in
# $(USERSPACE_DIR)/bin. Where ccache is installed it caches the compiles
# under the project's cache directory, keyed on paths relative to the
# checkout: a fresh clone (CI's) builds the user space in seconds.
CCACHE := $(shell command -v ccache 2>/dev/null)
ifeq ($(CCACHE)$(origin CCACHE_DIR),$(CCACHE)undefined)
export CCACHE_DIR := $(shell bash -c '. $(CURDIR)/scripts/lib.sh && cache_dir')/ccache
endif
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
CONFIGURE_USERSPACE = cmake -S . -B $(USERSPACE_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMAPDEMO_STATIC=ON \
	$(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))

# Headers inside a build root (scripts/host/build-root.sh: KDIR is
# <root>/usr/src/linux-headers-<abi>) need that root's compiler and C
# library, so their make runs in the root (scripts/host/in-root.sh), with the
# module's tree at the same path; elsewhere the host's make builds. Inside
# the root (DKMS there) the root is / and the build is a plain one.
KROOT := $(filter-out /,$(if $(wildcard $(KDIR)/../../../.mmapdemo-root),$(abspath $(KDIR)/../../..)))
KBUILD_DIR = $(if $(KROOT),$(patsubst $(KROOT)%,%,$(abspath $(KDIR))),$(KDIR))
KBUILD_MAKE = $(if $(KROOT),$(CURDIR)/scripts/host/in-root.sh $(KROOT) --bind $(KMOD_DIR) \
	$(if $(DESTDIR),--bind $(abspath $(DESTDIR))) -- \
	make $(if $(findstring s,$(firstword -$(MAKEFLAGS))),-s) $(if $(C),C=$(C)),$(MAKE))

.PHONY: all module userspace bundle deps test test-debug demo bench lint install uninstall clean

all: module userspace

module:
	@test -f $(KDIR)/Makefile || { \
		echo "error: no kernel build tree at $(KDIR)" >&2; \
		echo "       install linux-headers-$(KVER) or pass KDIR=<tree> KVER=<release>" >&2; \
		exit 1; }
	@mkdir -p $(KMOD_DIR)
	@# One build at a time in a kernel's tree: make test's guests and
	@# packaging checks build for the same kernel side by side.
	exec 9>$(KMOD_DIR).lock && flock 9 && cp -a --update Kbuild driver $(KMOD_DIR)/ && \
		$(KBUILD_MAKE) -C $(KBUILD_DIR) M=$(KMOD_DIR) W=1 modules
	@echo "module: $(KMOD_DIR)/mmapdemo.ko"

userspace:
	$(CONFIGURE_USERSPACE)
	cmake --build $(USERSPACE_DIR) -j$(shell nproc)

# The suite for a machine of one's own: unpack, then run.sh as root there.
bundle: module userspace
	scripts/vm/bundle.sh $(BUNDLE) $(KVER) $(KMOD_DIR)/mmapdemo.ko $(USERSPACE_DIR)

deps:
	scripts/host/install-deps.sh

# The host checks (library tests, the runner's kernel log checks), then the
# suite in the guests, on one kernel from make bundle's tarball: the same
# runner and tests, packed as a user gets them.
# The checks that boot guests of their own (packaging, the guest watchdog)
# run beside the suite: their guests mostly wait, for a download, a build
# or a silence limit. Their logs come after the suite's progress, and the
# suite's table comes last. A failing part does not stop the others.
HOST_LOGS := $(BUILD)/host-checks
test: deps
	$(MAKE) userspace
	@status=0; mkdir -p $(HOST_LOGS); \
	ctest --test-dir $(USERSPACE_DIR) --output-on-failure || status=1; \
	tests/runner-kernel-log.sh || status=1; \
	echo "packaging and watchdog checks beside the suite: logs in $(HOST_LOGS)"; \
	tests/packaging.sh >$(HOST_LOGS)/packaging.log 2>&1 & packaging=$$!; \
	tests/watchdog.sh >$(HOST_LOGS)/watchdog.log 2>&1 & watchdog=$$!; \
	scripts/vm/vm-suite.sh $(filter-out $(BUNDLE_KERNEL),$(KERNELS)) $(BUNDLE_KERNEL):bundle \
		>$(HOST_LOGS)/suite.table || status=1; \
	wait $$packaging || status=1; cat $(HOST_LOGS)/packaging.log; \
	wait $$watchdog || status=1; cat $(HOST_LOGS)/watchdog.log; \
	cat $(HOST_LOGS)/suite.table; \
	exit $$status

# The suite, load/unload cycles and ten minutes of stress on the debug
# kernel (built once, then cached); 1000 cycles with memory accounting and a
# shorter stress on Debian's 6.12 (make test runs the suite on both). A guest
# per host CPU runs at a time: first the runs on Debian's kernel, which can
# run while the debug kernel builds, then the debug kernel's longest first,
# so that the last ones to start are short (its suite is split by backend
# for that).
DEBUG_RUNS ?= 6.12:stress 6.12:cycles debug:test:chunked debug:test:kmalloc debug:stress \
	debug:cycles
test-debug: deps
	$(MAKE) userspace
	scripts/vm/vm-suite.sh $(DEBUG_RUNS)

demo: deps
	$(MAKE) userspace
	scripts/vm/guest.sh $(DEMO_KERNEL) demo

# Only the harness is built: the guests need nothing else, and the suite's
# build would take minutes of the bench's time budget.
bench: deps
	$(CONFIGURE_USERSPACE)
	cmake --build $(USERSPACE_DIR) -j$(shell nproc) --target mmapdemo-bench
	scripts/bench/bench.sh $(KERNELS)

lint:
	scripts/check/lint.sh

# Debian's headers ask for module signing but ship no key, and Debian loads
# unsigned modules; Kbuild's own depmod wants a System.map the headers lack.
install: module userspace
	@test -z "$(KROOT)" || test -n "$(DESTDIR)" || { \
		echo "error: a module built in a build root installs only with DESTDIR=" >&2; exit 1; }
	$(if $(KROOT),mkdir -p $(DESTDIR))
	$(KBUILD_MAKE) -C $(KBUILD_DIR) M=$(KMOD_DIR) INSTALL_MOD_PATH=$(abspath $(DESTDIR)) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) CONFIG_MODULE_SIG_ALL= modules_install
	depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KVER)
	install -d $(DESTDIR)$(UDEV_RULES_DIR) $(DESTDIR)$(MODULES_LOAD_DIR)
	printf '%s\n' 'KERNEL=="mmapdemo", SUBSYSTEM=="misc", GROUP="$(MMAPDEMO_GROUP)", MODE="0660"' \
		> $(DESTDIR)$(UDEV_RULES_DIR)/70-mmapdemo.rules
	printf '%s\n' mmapdemo > $(DESTDIR)$(MODULES_LOAD_DIR)/mmapdemo.conf
	DESTDIR=$(DESTDIR) cmake --install $(USERSPACE_DIR) --prefix $(PREFIX)
	@if [ -z "$(DESTDIR)" ] && ! getent group $(MMAPDEMO_GROUP) >/dev/null; then \
		echo "groupadd --system $(MMAPDEMO_GROUP)"; groupadd --system $(MMAPDEMO_GROUP); fi

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/mmapdemo.ko
	rm -f $(DESTDIR)$(UDEV_RULES_DIR)/70-mmapdemo.rules $(DESTDIR)$(MODULES_LOAD_DIR)/mmapdemo.conf
	@test ! -f $(USERSPACE_DIR)/install_manifest.txt || \
		sed 's|^|$(DESTDIR)|' $(USERSPACE_DIR)/install_manifest.txt | xargs rm -f
	if [ -d $(DESTDIR)/lib/modules/$(KVER) ]; then depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KVER); fi

clean:
	rm -rf $(BUILD)
