# nestvm build. `make` builds the VMM; `make test` runs the whole suite
# (tests/run); `make run` boots the default guest (through the lab when this
# host cannot run KVM guests itself). Sources are found by wildcard so that a
# new file in a subsystem folder needs no edit here.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wvla -Wno-unused-parameter
CPPFLAGS = -Isrc $(CPPFLAGS_EXTRA)
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# libslirp (the NAT switch) is loaded when a NAT switch starts
# (net/slirp_runtime.c): only its header is needed to build. The nestvm
# binary is a static PIE (glibc, json-c and zlib inside), as Firecracker's
# is: no dynamic loader at start, one file to put in a jail, and still
# placed at a random address (README, "Design"). The linker's notes that
# dlopen and getpwuid want this glibc's shared libraries at run time hold:
# libslirp and NSS come from the same Debian. Test programs link the same
# libraries dynamically. libblkid and libext2fs (with com_err, its error
# texts) find the kernel inside a disk image (src/disk/boot_find.c): Debian's
# -dev packages ship their static archives.
SLIRP_CFLAGS := $(shell pkg-config --cflags-only-I slirp 2>/dev/null)
CPPFLAGS_EXTRA := $(SLIRP_CFLAGS)
DISK_LIBS := -lblkid -lext2fs -lcom_err
LDLIBS  := -lpthread -Wl,-Bstatic -ljson-c -lz $(DISK_LIBS) -Wl,-Bdynamic

B       := build

# `nestvm --version`: the release, and the git revision of the tree it was
# built from ("unknown" without git, as in a tarball; REVISION=... on the
# make command line overrides). Only build/gen/revision's content changes
# rebuild cli/version.o, so a new commit relinks nestvm and nothing else.
VERSION := 0.1.0
ifeq ($(origin REVISION),undefined)
REVISION := $(shell [ -e .git ] && git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
endif
LIB_SRC := $(filter-out src/cli/% src/runtime/%,$(wildcard src/*/*.c src/*/*/*.c))
CLI_SRC := $(wildcard src/cli/*.c)
# nestvm-runtime, the OCI runtime (runc's command line): a program of its own.
RT_SRC  := $(wildcard src/runtime/*.c)
# Generated at build time: the seccomp filters as BPF (src/confine/confine_bpf.h).
GEN_SRC := $(B)/gen/confine_bpf.c
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o) $(GEN_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/obj/%.o)
RT_OBJ  := $(RT_SRC:%.c=$(B)/obj/%.o)
SAN_OBJ := $(LIB_SRC:%.c=$(B)/san/%.o) $(GEN_SRC:%.c=$(B)/san/%.o)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
KVMT_SRC := $(wildcard tests/kvm/test_*.c)
KVMT_BIN := $(KVMT_SRC:tests/kvm/%.c=$(B)/tests/kvm/%)
KVMT_LIB := $(filter-out tests/kvm/test_%.c,$(wildcard tests/kvm/*.c))
# Test guest programs: freestanding, general registers only (a paravirtual
# KVM emulates their instructions), linked at 1 MiB, loaded as flat binaries.
GUEST_SRC := $(filter-out tests/kvm/guest/guest_lib.c,$(wildcard tests/kvm/guest/*.c))
GUEST_BIN := $(GUEST_SRC:tests/kvm/guest/%.c=$(B)/tests/kvm/guest/%.bin)
GUEST_CFLAGS := -std=c11 -O2 -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none -fno-builtin -Itests -Isrc

.PHONY: all test run setup guest guest-tools lab clean check-tests layers install uninstall man FORCE
# Keep intermediate files (guest program binaries are loaded at run time).
.SECONDARY:
all: $(B)/nestvm $(B)/nestvm-runtime

$(B)/nestvm: $(CLI_OBJ) $(B)/libnestvm.a
	$(CC) $(CFLAGS) -static-pie -o $@ $^ -lpthread -ljson-c -lz $(DISK_LIBS)

# The same command built with ASan + UBSan (dynamic): tests/run runs the
# CLI tests against it too.
$(B)/nestvm-san: $(CLI_SRC:%.c=$(B)/san/%.o) $(B)/libnestvm-san.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# The OCI runtime, linked as nestvm is (a static PIE), and its sanitized twin.
$(B)/nestvm-runtime: $(RT_OBJ) $(B)/libnestvm.a
	$(CC) $(CFLAGS) -static-pie -o $@ $^ -lpthread -ljson-c -lz $(DISK_LIBS)

$(B)/nestvm-runtime-san: $(RT_SRC:%.c=$(B)/san/%.o) $(B)/libnestvm-san.a
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# libseccomp compiles the policy once, here; nestvm loads the result.
$(B)/gen/seccomp_gen: scripts/seccomp_gen.c src/confine/syscall_policy.c src/confine/syscall_policy.h \
		src/confine/confine_bpf.h src/confine/thread_kind.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ scripts/seccomp_gen.c src/confine/syscall_policy.c -lseccomp
$(B)/gen/confine_bpf.c: $(B)/gen/seccomp_gen
	$< >$@.tmp && mv $@.tmp $@

$(B)/gen/revision: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = "$(REVISION)" ] || echo "$(REVISION)" >$@
$(B)/obj/src/cli/version.o $(B)/san/src/cli/version.o $(B)/obj/src/runtime/version.o $(B)/san/src/runtime/version.o: $(B)/gen/revision
$(B)/obj/src/cli/version.o $(B)/san/src/cli/version.o $(B)/obj/src/runtime/version.o $(B)/san/src/runtime/version.o: CPPFLAGS += -DNESTVM_VERSION='"$(VERSION)"' \
	-DNESTVM_REVISION='"$(shell cat $(B)/gen/revision 2>/dev/null)"'

$(B)/libnestvm.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/libnestvm-san.a: $(SAN_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(SAN) -MMD -MP -c -o $@ $<

# Unit tests: cmocka, sanitizers on, no /dev/kvm needed.
$(B)/tests/unit/%: tests/unit/%.c $(B)/libnestvm-san.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(WARN) $(CFLAGS) $(SAN) -o $@ $< $(B)/libnestvm-san.a -lcmocka $(LDLIBS)

# This unit test compiles the CLI's cmdlet translation in (src/cli is not in
# the library), so it depends on those sources too.
$(B)/tests/unit/test_hyperv_alias: $(wildcard src/cli/hyperv_alias*.[ch] src/cli/hyperv_cmdlets.c src/cli/hyperv_objects.[ch])
$(B)/tests/unit/test_hyperv_objects: $(wildcard src/cli/hyperv_*.c src/cli/hyperv_*.h)
# The runtime's too (src/runtime is not in the library either).
$(B)/tests/unit/test_runtime_%: $(wildcard src/runtime/*.[ch])

# KVM-API tests: tiny guest code compiled into the test binary itself
# (general registers only, so the emulator of a paravirtual KVM copes).
$(B)/tests/kvm/guest/%.o: tests/kvm/guest/%.c tests/kvm/guest/guest.h tests/kvm/ucall.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(B)/tests/kvm/guest/entry.o: tests/kvm/guest/entry.S
	@mkdir -p $(@D)
	$(CC) -c -o $@ $<

$(B)/tests/kvm/guest/%.bin: $(B)/tests/kvm/guest/%.o $(B)/tests/kvm/guest/entry.o $(B)/tests/kvm/guest/guest_lib.o tests/kvm/guest/guest.ld
	ld -nostdlib -static -T tests/kvm/guest/guest.ld -o $(@:.bin=.elf) $(B)/tests/kvm/guest/entry.o $< $(B)/tests/kvm/guest/guest_lib.o
	objcopy -O binary $(@:.bin=.elf) $@

$(B)/tests/kvm/%: tests/kvm/%.c $(KVMT_LIB) $(B)/libnestvm-san.a $(GUEST_BIN)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(WARN) $(CFLAGS) $(SAN) -o $@ $< $(KVMT_LIB) $(B)/libnestvm-san.a -lcmocka $(LDLIBS)

# End-to-end helper programs (tests/e2e/*.c): run inside the lab.
E2E_BIN := $(patsubst tests/e2e/%.c,$(B)/tests/e2e/%,$(wildcard tests/e2e/*.c))
$(B)/tests/e2e/%: tests/e2e/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -o $@ $<

# Host-side helper programs for the CLI tests (tests/tools/switch_probe.c:
# a fake VM adapter on a switch).
TOOL_BIN := $(B)/tests/tools/switch_probe $(B)/tests/tools/pty_run $(B)/tests/tools/run_as \
	$(B)/tests/tools/hold_lock $(B)/tests/tools/json_get $(B)/tests/tools/seqpacket_call \
	$(B)/tests/tools/conn_flood $(B)/tests/tools/nofile_limit $(B)/tests/tools/pipe_hold
$(B)/tests/tools/switch_probe: tests/tools/switch_probe.c tests/tools/switch_probe_dhcp.c \
		tests/tools/switch_probe_dhcp.h $(B)/libnestvm.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ tests/tools/switch_probe.c tests/tools/switch_probe_dhcp.c \
		$(B)/libnestvm.a $(LDLIBS)

# tests/tools/pty_run.c: a command on a pty, answering its prompts.
$(B)/tests/tools/pty_run: tests/tools/pty_run.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -o $@ $<

# run_as, hold_lock, json_get, seqpacket_call, conn_flood, nofile_limit, pipe_hold:
# what the CLI tests would otherwise take from util-linux or python3, which
# the lab's busybox lacks.
$(B)/tests/tools/run_as $(B)/tests/tools/hold_lock $(B)/tests/tools/seqpacket_call \
	$(B)/tests/tools/conn_flood $(B)/tests/tools/nofile_limit $(B)/tests/tools/pipe_hold: $(B)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -o $@ $<

$(B)/tests/tools/json_get: tests/tools/json_get.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -o $@ $< -ljson-c

# Man pages: scdoc sources in doc/man (nestvm.1.scd -> build/man/nestvm.1).
MAN_SRC := $(wildcard doc/man/*.scd)
MAN     := $(MAN_SRC:doc/man/%.scd=$(B)/man/%)
man: $(MAN)
$(B)/man/%: doc/man/%.scd
	@mkdir -p $(@D)
	scdoc <$< >$@.tmp && mv $@.tmp $@

check-tests: layers $(UNIT_BIN) $(KVMT_BIN) $(E2E_BIN) $(TOOL_BIN) $(B)/nestvm $(B)/nestvm-san \
	$(B)/nestvm-runtime $(B)/nestvm-runtime-san $(MAN)

# The dependency arrows of src/ point down only (tests/tools/check-layers).
layers:
	tests/tools/check-layers src

setup:
	./scripts/setup

guest: $(B)/nestvm
	./guest/build
	./guest/build-nested

# make install [PREFIX=/usr/local] [DESTDIR=]: nestvm and nestvm-runtime in PREFIX/bin, their
# man pages, its bash completion, the scripts `nestvm guest build` and
# `nestvm lab` run (with guest/build's inputs, the guest's programs built here so
# that no compiler is needed) in PREFIX/lib/nestvm in the tree's layout,
# and the default guest, if built (guest/build, guest/build-nested), in
# PREFIX/share/nestvm/guest, where PREFIX/bin/nestvm looks for it
# (vmm/guest_files.c).
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
MANDIR  := $(PREFIX)/share/man
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions
UNITDIR := $(PREFIX)/lib/systemd/system
DATADIR := $(PREFIX)/share/nestvm
LIBDIR  := $(PREFIX)/lib/nestvm
GUEST_FILES := vmlinuz initrd.img nested.img
SCRIPTS := guest/build guest/build-nested guest/init guest/udhcpc.script lab/run lab/build
SCRIPT_DATA := guest/lib.sh lab/link.sh

# The guest's own programs (guest/build compiles them in a tree).
GUEST_TOOLS := nestvm-exit nestvm-warm nestvm-container
GUEST_TOOL_BIN := $(addprefix $(B)/guest-tools/,$(GUEST_TOOLS))
# A tool NAME is guest/tools/NAME.c and its NAME-*.c parts.
$(B)/guest-tools/%: guest/tools/%.c
	@mkdir -p $(@D)
	$(CC) -static -Os -s -Wall -Wextra -Werror -o $@ $(filter %.c,$^)
$(B)/guest-tools/nestvm-container: $(wildcard guest/tools/nestvm-container-*)

guest-tools: $(GUEST_TOOL_BIN)

install: $(B)/nestvm $(B)/nestvm-runtime $(MAN) $(GUEST_TOOL_BIN)
	install -D -m 0755 $(B)/nestvm $(DESTDIR)$(BINDIR)/nestvm
	install -D -m 0755 $(B)/nestvm-runtime $(DESTDIR)$(BINDIR)/nestvm-runtime
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(MAN) $(DESTDIR)$(MANDIR)/man1/
	install -D -m 0644 scripts/completion/nestvm.bash $(DESTDIR)$(BASHCOMPDIR)/nestvm
	for f in $(SCRIPTS); do install -D -m 0755 $$f $(DESTDIR)$(LIBDIR)/$$f || exit 1; done
	for f in $(SCRIPT_DATA); do install -D -m 0644 $$f $(DESTDIR)$(LIBDIR)/$$f || exit 1; done
	for t in $(GUEST_TOOLS); do install -D -m 0755 $(B)/guest-tools/$$t $(DESTDIR)$(LIBDIR)/guest/tools/$$t || exit 1; done
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|/usr/bin/nestvm|$(BINDIR)/nestvm|' scripts/systemd/nestvm.service >$(DESTDIR)$(UNITDIR)/nestvm.service
	@if [ -f $(B)/guest/vmlinuz ] && [ -f $(B)/guest/initrd.img ]; then \
		for f in $(GUEST_FILES); do \
			[ ! -f $(B)/guest/$$f ] || install -D -m 0644 $(B)/guest/$$f $(DESTDIR)$(DATADIR)/guest/$$f || exit 1; \
		done; echo "installed the default guest in $(DESTDIR)$(DATADIR)/guest"; \
	else \
		echo "note: the default guest is not built (make guest): not installed"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nestvm $(DESTDIR)$(BINDIR)/nestvm-runtime
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/nestvm
	rm -f $(DESTDIR)$(UNITDIR)/nestvm.service
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/guest/,$(GUEST_FILES))
	rmdir $(DESTDIR)$(DATADIR)/guest $(DESTDIR)$(DATADIR) 2>/dev/null || true
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,$(SCRIPTS) $(SCRIPT_DATA) $(addprefix guest/tools/,$(GUEST_TOOLS)))
	rmdir $(DESTDIR)$(LIBDIR)/guest/tools $(DESTDIR)$(LIBDIR)/guest $(DESTDIR)$(LIBDIR)/lab \
		$(DESTDIR)$(LIBDIR) 2>/dev/null || true

test:
	./tests/run

run:
	./scripts/run-default

clean:
	rm -rf $(B)

# The compiler's dependency files; not the guest images' trees, whose
# /etc/rc2.d and the like are folders (guest/build-debian's stage).
-include $(shell find $(B) \( -path '$(B)/guest' -o -path '$(B)/lab' -o -path '$(B)/cache' \) -prune -o -name '*.d' -type f -print 2>/dev/null)
