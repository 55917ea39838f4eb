# SPDX-License-Identifier: GPL-2.0
# snp-page-lock: the only entry point. See README.md.
#
# Everything builds under .build/ (git-ignored); missing Debian packages
# are installed with apt-get by scripts/deps.sh.

SHELL := /bin/bash
S := scripts

.PHONY: all run test kunit selftests kvm-selftests bench check vm-run clean distclean \
	deps source overlay x86 kunit-x86 stress trace perf series series-check help

all: run

help:
	@sed -n 's/^## //p' Makefile

## make run: build what is missing, boot, show the layer working
run:
	@$(S)/run.sh

## make test: everything CI runs; ends with "N passed, N failed"
test:
	@$(S)/test.sh

## make kunit: KUnit suite snp_page_lock under UML (layer on and off)
kunit:
	@$(S)/kunit-uml.sh

kunit-x86:
	@$(S)/kunit-x86.sh

## make selftests: our kselftests and KVM selftests (snp_pl_*) in QEMU
selftests:
	@$(S)/selftests.sh

## make kvm-selftests: upstream KVM selftests that pass under TCG, layer on
kvm-selftests:
	@KVM_SELFTESTS_ALL=1 $(S)/kvm-selftests.sh

## make bench: benchmarks (CSV, table, plot under .build/bench)
bench:
	@$(S)/bench.sh

## make trace: the VMM demo under perf stat/record of 'snp_page_lock:*'
trace:
	@$(S)/trace.sh

## make perf: build the static perf with the snp-page-lock bench collection
perf:
	@$(S)/build-perf.sh

## make stress DURATION=SECONDS: long torture (KASAN and KCSAN) and fuzz runs
stress:
	@DURATION=$(DURATION) $(S)/stress.sh

## make check: checkpatch --strict, kernel-doc -Wall, sparse
check:
	@$(S)/check.sh

## make series: the upstream patch series of main, in .build/series/
series:
	@$(S)/series.sh

## make series-check: checkpatch per patch, git am, and a build at every patch (long)
series-check:
	@$(S)/series-check.sh

## make vm-run CMD='...' EXTRA=DIR: run CMD as root in the test kernel
vm-run:
	@$(S)/build-x86.sh
	@$(S)/vm-run.sh "$(CMD)" "$(EXTRA)"

deps:
	@$(S)/deps.sh

source:
	@$(S)/fetch-source.sh

overlay:
	@$(S)/overlay.sh

## make x86: build the x86_64 test kernel only
x86:
	@$(S)/build-x86.sh

## make clean: remove build output (keeps the unpacked source)
clean:
	rm -rf .build/src .build/uml* .build/x86* .build/kselftest \
		.build/logs .build/results* .build/stage .build/bench* \
		.build/selftests-extra .build/run-extra .build/fuzz \
		.build/model .build/tools .build/initrd.* .build/perf \
		.build/trace-extra .build/series* \
		.build/overlay.manifest .build/patched.list

## make distclean: remove .build entirely
distclean:
	rm -rf .build
