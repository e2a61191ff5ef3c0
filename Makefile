# tcptrace-bpf: `make` builds the BPF object, embeds it and builds the binary.
.DELETE_ON_ERROR:

CLANG ?= clang
OBJCOPY ?= llvm-objcopy
SWIFT ?= swift
PYTHON ?= python3
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
OUTPUT := bpf/.output
EMBEDDED := Sources/CTcptraceProgram/tcptrace_object.c
CONFIG ?= release
BIN = .build/$(CONFIG)/tcptrace-bpf
ARGS ?=

ifeq ($(V),1)
Q =
else
Q = @
endif

BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
	-fdebug-prefix-map=$(CURDIR)=. -Ibpf -idirafter /usr/include/$(MULTIARCH) -idirafter /usr/include

.PHONY: all bpf build run test matrix clean deps install uninstall
all: build

deps:
	$(Q)scripts/install-deps

bpf: $(EMBEDDED)

$(OUTPUT)/tcptrace.bpf.o: bpf/tcptrace.bpf.c bpf/opener.bpf.h bpf/tcptrace.h bpf/tcp_core_types.h | $(OUTPUT)
	@echo "  BPF      $@"
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(OBJCOPY) --strip-debug $@.tmp $@ && rm -f $@.tmp

$(EMBEDDED): $(OUTPUT)/tcptrace.bpf.o scripts/embed-object.py
	@echo "  EMBED    $@"
	$(Q)$(PYTHON) scripts/embed-object.py $< $@

$(OUTPUT):
	$(Q)mkdir -p $@

build: $(EMBEDDED)
	$(Q)$(SWIFT) build -c $(CONFIG) --static-swift-stdlib --product tcptrace-bpf

# Run the tracer (root): make run ARGS="--format json"
run: build
	$(Q)$(BIN) $(ARGS)

# What the tests use is installed first when root (named, and those tests skipped, otherwise).
# Unit tests always; kernel tests when run as root on a kernel that allows them; the kernel
# matrix (Debian's kernels under QEMU, on the debug binary just built) when root and
# TCPTRACE_KERNEL_MATRIX=1, as in CI.
test: $(EMBEDDED)
	$(Q)scripts/install-deps --test
	$(Q)$(SWIFT) build
	$(Q)$(SWIFT) test --disable-xctest
	$(Q)if [ "$$(id -u)" != 0 ]; then \
		echo "kernel matrix: skipped: needs root (installs Debian's kernels and boots them under QEMU): sudo make matrix"; \
	elif [ "$${TCPTRACE_KERNEL_MATRIX:-0}" != 1 ]; then \
		echo "kernel matrix: skipped: TCPTRACE_KERNEL_MATRIX=1 runs it here, or make matrix (6.1, 6.1-rt, 6.12 and this kernel; minutes)"; \
	else \
		scripts/kernel-matrix --binary .build/debug/tcptrace-bpf --quick --connections $(MATRIX_CONNECTIONS) \
			$(foreach k,$(MATRIX_KERNELS),--kernel $(k)); \
	fi

# The smoke suite on Debian's 6.1, 6.1-rt, 6.12 kernels under QEMU and on the running kernel
# (root): scripts/kernel-matrix, whose header says more.
MATRIX_CONNECTIONS ?= 2000
MATRIX_KERNELS ?= 6.1 6.1-rt 6.12 host
matrix: build
	$(Q)scripts/kernel-matrix --connections $(MATRIX_CONNECTIONS) $(foreach k,$(MATRIX_KERNELS),--kernel $(k))

clean:
	$(Q)rm -rf $(OUTPUT) .build

# Installation: make && sudo make install [PREFIX=/usr/local] [DESTDIR=staging] [SYSCONFDIR=/etc].
# Installs the binary `make` built (built first only when missing, so root does not rebuild it);
# the man page and completions are generated from that binary.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR = $(PREFIX)/bin
MAN8DIR = $(PREFIX)/share/man/man8
BASHDIR = $(PREFIX)/share/bash-completion/completions
ZSHDIR = $(PREFIX)/share/zsh/site-functions
FISHDIR = $(PREFIX)/share/fish/vendor_completions.d
UNITDIR = $(PREFIX)/lib/systemd/system
LOGROTATEDIR = $(SYSCONFDIR)/logrotate.d
# Alerting rules and the dashboard, for a fleet's Prometheus and Grafana to pick up.
SHAREDIR = $(PREFIX)/share/tcptrace-bpf
INSTALLED = $(BINDIR)/tcptrace-bpf $(MAN8DIR)/tcptrace-bpf.8 $(BASHDIR)/tcptrace-bpf $(ZSHDIR)/_tcptrace-bpf \
	$(FISHDIR)/tcptrace-bpf.fish $(UNITDIR)/tcptrace-bpf.service $(LOGROTATEDIR)/tcptrace-bpf \
	$(SHAREDIR)/prometheus/tcptrace-rules.yml $(SHAREDIR)/prometheus/tcptrace-rules.test.yml $(SHAREDIR)/grafana/tcptrace-dashboard.json

$(BIN):
	$(Q)$(MAKE) build

install: | $(BIN)
	@echo "  INSTALL  $(DESTDIR)$(PREFIX)"
	$(Q)install -d $(addprefix $(DESTDIR),$(BINDIR) $(MAN8DIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR) $(UNITDIR) $(LOGROTATEDIR) $(SHAREDIR)/prometheus $(SHAREDIR)/grafana)
	$(Q)install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/tcptrace-bpf
	$(Q)$(PYTHON) scripts/make-manpage.py $(BIN) README.md > $(DESTDIR)$(MAN8DIR)/tcptrace-bpf.8.tmp
	$(Q)mv $(DESTDIR)$(MAN8DIR)/tcptrace-bpf.8.tmp $(DESTDIR)$(MAN8DIR)/tcptrace-bpf.8
	$(Q)$(BIN) --generate-completion-script bash > $(DESTDIR)$(BASHDIR)/tcptrace-bpf
	$(Q)$(BIN) --generate-completion-script zsh > $(DESTDIR)$(ZSHDIR)/_tcptrace-bpf
	$(Q)$(BIN) --generate-completion-script fish > $(DESTDIR)$(FISHDIR)/tcptrace-bpf.fish
	$(Q)sed 's|@BINDIR@|$(BINDIR)|g' deploy/systemd/tcptrace-bpf.service.in > $(DESTDIR)$(UNITDIR)/tcptrace-bpf.service
	$(Q)install -m 644 deploy/logrotate/tcptrace-bpf $(DESTDIR)$(LOGROTATEDIR)/tcptrace-bpf
	$(Q)install -m 644 deploy/prometheus/tcptrace-rules.yml deploy/prometheus/tcptrace-rules.test.yml $(DESTDIR)$(SHAREDIR)/prometheus/
	$(Q)install -m 644 deploy/grafana/tcptrace-dashboard.json $(DESTDIR)$(SHAREDIR)/grafana/

uninstall:
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)rmdir $(addprefix $(DESTDIR),$(SHAREDIR)/prometheus $(SHAREDIR)/grafana $(SHAREDIR)) 2>/dev/null || true
