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

.PHONY: all bpf build run test clean deps
all: build

deps:
	$(Q)scripts/install-deps

bpf: $(EMBEDDED)

$(OUTPUT)/tcptrace.bpf.o: bpf/tcptrace.bpf.c bpf/tcptrace.h bpf/tcp_core_types.h | $(OUTPUT)
	@echo "  BPF      $@"
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(OBJCOPY) --strip-debug $@.tmp $@ && rm -f $@.tmp

$(EMBEDDED): $(OUTPUT)/tcptrace.bpf.o scripts/embed-object.py
	@echo "  EMBED    $@"
	$(Q)$(PYTHON) scripts/embed-object.py $< $@

$(OUTPUT):
	$(Q)mkdir -p $@

build: $(EMBEDDED)
	$(Q)$(SWIFT) build -c $(CONFIG) --static-swift-stdlib

# Run the tracer (root): make run ARGS="--format json"
run: build
	$(Q)$(BIN) $(ARGS)

# Unit tests always; kernel tests when run as root on a kernel that allows them.
test: $(EMBEDDED)
	$(Q)$(SWIFT) build
	$(Q)$(SWIFT) test --disable-xctest

clean:
	$(Q)rm -rf $(OUTPUT) .build
