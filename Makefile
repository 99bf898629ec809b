# osconv -- see README.md. `make run` and `make test` install what is missing.
BUILD   ?= build
CC      ?= cc
OPT     ?= -O2 -g
SAN     ?=
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(OPT) $(SAN) \
           -Igen -Igen/x86 -Iruntime -I$(BUILD) -I/usr/include/lua5.4
LDLIBS  := -llua5.4 -ljansson -lxxhash -lZydis -lm -ldl -lpthread
PREFIX  ?= /usr/local

# The Lua module (gen/osclua.c) goes into the CLI and build/osconv.so, not
# the library: luaopen_osconv is a name outside osc_ (test-install).
CLI_SRC   := gen/osconv.c $(wildcard gen/cmd_*.c) gen/osclua.c
LIB_SRC   := $(filter-out $(CLI_SRC),$(wildcard gen/*.c gen/x86/*.c)) $(wildcard runtime/*.c)
TEST_SRC  := $(wildcard tests/*.c)
BENCH_TOOLS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/bench_*.c))
OB_SRC    := $(wildcard bench/ob_*.c)
TEMPLATES := $(sort $(wildcard templates/*.c.in))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/osc_templates.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps run test test-plain test-tune test-asan test-tsan test-torch test-cross test-bench bench bench-deps bench-build clean install check-generated
all: $(BUILD)/osconv $(BUILD)/libosconv.a $(BUILD)/osconv.so

# System packages: checked once per build dir, installed when missing.
$(DEPS_STAMP): scripts/install-deps.sh
	@sh scripts/install-deps.sh
	@mkdir -p $(@D) && touch $@
deps: $(DEPS_STAMP)

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The compiler a tuning record names (gen/osctune.c): libtcc's version.
TCC_VERSION := $(shell tcc -v 2>/dev/null | sed -n 's/^tcc version \([^ ]*\).*/\1/p')
$(BUILD)/gen/osctune.o: CFLAGS += -DOSC_TCC_VERSION='"$(or $(TCC_VERSION),unknown)"'

# Templates are embedded in the library, so the JIT needs no files on disk.
$(BUILD)/osc_templates.c: $(TEMPLATES) scripts/embed-templates.sh | $(DEPS_STAMP)
	@mkdir -p $(@D)
	sh scripts/embed-templates.sh $(TEMPLATES) > $@.tmp && mv $@.tmp $@
$(BUILD)/osc_templates.o: $(BUILD)/osc_templates.c
	$(CC) $(CFLAGS) -c $< -o $@

# Remade when the Makefile changes too, since what goes in is decided here
# (an object moved out would otherwise stay in an old archive).
$(BUILD)/libosconv.a: $(LIB_OBJ) Makefile
	rm -f $@ && ar rcs $@ $(filter %.o,$^)

$(BUILD)/osconv: $(CLI_OBJ) $(BUILD)/libosconv.a
	$(CC) $(SAN) -o $@ $(CLI_OBJ) $(BUILD)/libosconv.a $(LDLIBS)

$(BUILD)/osconv-tests: $(TEST_OBJ) $(BUILD)/libosconv.a
	$(CC) $(SAN) -o $@ $(TEST_OBJ) $(BUILD)/libosconv.a $(LDLIBS) -lcunit

$(BUILD)/bench/%: bench/%.c $(BUILD)/libosconv.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O3 -o $@ $< $(BUILD)/libosconv.a $(LDLIBS)

# ---- the two commands of the README ---------------------------------------
run: $(BUILD)/osconv
	$(BUILD)/osconv run examples/default.lua

# Sequential, so the two summaries do not interleave; each builds with -j.
test:
	$(MAKE) --no-print-directory test-plain
	$(MAKE) --no-print-directory check-generated
	$(MAKE) --no-print-directory test-tune
	sh scripts/check-docs.sh
	$(MAKE) --no-print-directory test-torch
	$(MAKE) --no-print-directory test-install
	$(MAKE) --no-print-directory test-cross
	$(MAKE) --no-print-directory test-bench
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-tsan
	$(MAKE) --no-print-directory test-valgrind
	$(MAKE) --no-print-directory test-fuzz
test-plain: $(BUILD)/osconv-tests $(BUILD)/osconv
	OSCONV_CLI=$(abspath $(BUILD)/osconv) $(BUILD)/osconv-tests
# The Lua module in a stock lua5.4 (require "osconv" from build/osconv.so):
# the API checks `osconv script` runs in the suite (tests/tune/api.lua).
test-tune: $(BUILD)/osconv.so
	lua5.4 -e 'package.cpath="$(BUILD)/?.so;"..package.cpath' tests/tune/api.lua
# The same suite under AddressSanitizer + UBSan: any report fails the run.
test-asan: $(DEPS_STAMP)
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" $(BUILD)/asan/osconv-tests $(BUILD)/asan/osconv
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  OSCONV_CLI=$(abspath $(BUILD)/asan/osconv) OSCONV_TEST_QUICK=1 $(BUILD)/asan/osconv-tests

# PyTorch and osconv agree: `osconv export --torch` modules, random weights
# through scripts/torch_to_npy.py, `osconv exec` AOT and JIT. Debian's
# python3-torch is installed when missing; /usr/bin/python3 is the Python
# it installs into (a pyenv or venv python3 on PATH would not see it).
test-torch: $(BUILD)/osconv
	@sh scripts/install-deps.sh python3 python3-torch python3-numpy
	/usr/bin/python3 tests/torch/roundtrip.py $(BUILD)/osconv

# ---- `make bench`: osconv against oneDNN (bench/ob_*.c, README "Figures") --
# bench-deps installs oneDNN (libdnnl-dev) if it can; the sub-make then sees
# the header and builds with it. Without it the bench reports osconv alone.
# The stamp names the choice, so installing oneDNN later rebuilds the bench.
DNNL_H   ?= /usr/include/oneapi/dnnl/dnnl.h
OB_DNNL  := $(if $(wildcard $(DNNL_H)),yes,no)
OB_FLAGS := $(if $(filter yes,$(OB_DNNL)),-DOSC_HAVE_DNNL)
OB_LIBS  := $(if $(filter yes,$(OB_DNNL)),-ldnnl)
BENCH_ARGS ?=
bench-deps:
	@sh scripts/install-bench-deps.sh
bench: bench-deps
	$(MAKE) --no-print-directory bench-build
	$(BUILD)/bench/osconv-bench $(BENCH_ARGS)
bench-build: $(BUILD)/bench/osconv-bench $(BENCH_TOOLS)
$(BUILD)/bench/.dnnl-$(OB_DNNL):
	@mkdir -p $(@D) && rm -f $(BUILD)/bench/.dnnl-* && touch $@
$(BUILD)/bench/osconv-bench: $(OB_SRC) bench/obench.h bench/bench.h $(BUILD)/libosconv.a \
                             $(BUILD)/bench/.dnnl-$(OB_DNNL)
	$(CC) $(CFLAGS) -O3 $(OB_FLAGS) -o $@ $(OB_SRC) $(BUILD)/libosconv.a $(LDLIBS) $(OB_LIBS)
# The bench's quickest mode in `make test`: two tiny layers, every variant
# checked against the reference, nothing timed that matters (seconds); and
# one corrupted output must make it fail; the 2-thread variant is checked too.
test-bench: $(BUILD)/bench/osconv-bench $(BUILD)/bench/bench_stages $(BUILD)/bench/fit_time
	$(BUILD)/bench/osconv-bench --quick --cpu -1 > $(BUILD)/bench/quick.txt || \
	  { cat $(BUILD)/bench/quick.txt; exit 1; }
	@# the time model's tools: two sweep shapes measured, the committed CSV refitted
	$(BUILD)/bench/bench_stages --sweep 2 --runs 1 --isa c > $(BUILD)/bench/stages-quick.csv
	$(BUILD)/bench/fit_time bench/data/stages.csv --eval bench/data/layers.csv \
	  -o $(BUILD)/bench/osctime_coef.h > $(BUILD)/bench/fit-quick.txt 2>&1
	@grep -q '^held-out layers: 80,' $(BUILD)/bench/fit-quick.txt
	@# fused pointwise runs and register pairs against unfused (README "Fused pointwise runs"), one layer
	$(BUILD)/bench/bench_stages --fuse 16 --only c512_7_k3 --blocks 256,reg --runs 1 > $(BUILD)/bench/fuse-quick.csv
	@test "$$(wc -l < $(BUILD)/bench/fuse-quick.csv)" = 2
	@if OSCONV_BENCH_CORRUPT="osconv optimal jit" $(BUILD)/bench/osconv-bench --quick --cpu -1 \
	    --layer c_in=8,size=6,k=3 --only "optimal jit" > $(BUILD)/bench/corrupt.txt; then \
	  echo "test-bench: a corrupted output passed the check" >&2; exit 1; fi
	@grep -q 'CHECK FAILED: .*osconv optimal jit' $(BUILD)/bench/corrupt.txt
	$(BUILD)/bench/osconv-bench --quick --cpu -1 --threads 2 --only "optimal jit" \
	  > $(BUILD)/bench/quick-t2.txt || { cat $(BUILD)/bench/quick-t2.txt; exit 1; }
	@grep -q 'threads: osconv optimal jit, 2 threads against 1' $(BUILD)/bench/quick-t2.txt
	@echo "test-bench: quick bench checks passed; a corrupted output is caught"
# ---- the time model (gen/osctime.h, README "The search") -------------------
# fit-time refits gen/osctime_coef.h from the committed measurements and
# reports the error on the held-out layers; refit-time measures again first
# (a few minutes on core 1, under the bench lock), for when kernels change.
.PHONY: fit-time refit-time
fit-time: $(BUILD)/bench/fit_time
	$(BUILD)/bench/fit_time bench/data/stages.csv --eval bench/data/layers.csv -o gen/osctime_coef.h
refit-time: $(BUILD)/bench/bench_stages
	sh scripts/measure-time.sh $(BUILD)/bench/bench_stages bench/data
	$(MAKE) --no-print-directory fit-time
clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# ---- runtime: libtcc kept W^X, the shared library, install ------------------
# Position-independent objects, so the same ones make libosconv.so.
CFLAGS += -fPIC
# tcc_relocate makes the code pages read+write+execute. libtcc's calls to
# mprotect are renamed to osc_jit_mprotect (runtime/oscjit.c), which keeps
# them read+write; the JIT switches to read+execute itself. The renamed
# libtcc goes into libosconv.a, so -ltcc is never what links. Debian's
# libtcc.a is PIE, not PIC: its only references a shared object cannot
# take (libc's stdout, stderr, environ) are renamed to hidden copies in
# oscjit.c, so the same object also goes into libosconv.so.
# The entry points osconv calls (runtime/osctcc.h) become osc_tcc_*; every
# other libtcc global (tok, file, gen_op, ...) becomes local, so programs
# that define those names, or link their own libtcc, never meet ours.
TCC_A ?= /usr/lib/x86_64-linux-gnu/libtcc.a
TCC_API := $(shell sed -n 's/^\#define \(tcc_[a-z_]*\) osc_tcc_.*/\1/p' runtime/osctcc.h)
# libtcc.a comes from the deps step: on a fresh machine it appears only then.
$(TCC_A): | $(DEPS_STAMP)
	@test -f $@ || { echo "osconv: $@ missing after installing libtcc-dev" >&2; exit 1; }
$(BUILD)/tcc-wx.o: $(TCC_A) runtime/osctcc.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	ld -r --whole-archive $(TCC_A) -o $@.tmp
	objcopy --redefine-sym mprotect=osc_jit_mprotect --redefine-sym stdout=osc_tcc_stdout \
	  --redefine-sym stderr=osc_tcc_stderr --redefine-sym environ=osc_tcc_environ \
	  $(foreach f,$(TCC_API),--redefine-sym $(f)=osc_$(f) --keep-global-symbol osc_$(f)) \
	  $@.tmp $@
	rm -f $@.tmp
	@extra=$$(nm -g --defined-only $@ | awk '$$3 !~ /^osc_tcc_/ {print $$3}'); \
	if [ -n "$$extra" ]; then echo "tcc-wx.o: still global: $$extra" >&2; rm -f $@; exit 1; fi
$(BUILD)/libosconv.a: $(BUILD)/tcc-wx.o

# Exported: the functions of osconv.h (runtime/osconv.map), nothing else.
# SONAME libosconv.so.0: installed as that file, with libosconv.so -> it.
OSC_SONAME := libosconv.so.0
$(BUILD)/libosconv.so: $(LIB_OBJ) $(BUILD)/tcc-wx.o runtime/osconv.map
	$(CC) -shared -o $@ $(LIB_OBJ) $(BUILD)/tcc-wx.o -Wl,-soname,$(OSC_SONAME) \
	  -Wl,--version-script=runtime/osconv.map $(LDLIBS)

# The Lua module for a stock lua5.4 (README, "Autotuning"): the library
# and luaopen_osconv, nothing else exported; Lua itself is left to the
# interpreter that loads it (Debian's lua5.4 exports the Lua API), since a
# second copy of Lua in one process would corrupt both.
$(BUILD)/osconv.so: $(LIB_OBJ) $(BUILD)/gen/osclua.o $(BUILD)/tcc-wx.o gen/osclua.map
	$(CC) -shared -o $@ $(LIB_OBJ) $(BUILD)/gen/osclua.o $(BUILD)/tcc-wx.o \
	  -Wl,--version-script=gen/osclua.map \
	  $(filter-out -llua5.4,$(LDLIBS))

OSC_PC_VERSION = $(shell sed -n 's/^\#define OSC_VERSION "\(.*\)"/\1/p' runtime/osconv.h)
install: $(BUILD)/osconv $(BUILD)/libosconv.a $(BUILD)/libosconv.so runtime/osconv.pc.in
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BUILD)/osconv $(DESTDIR)$(PREFIX)/bin/osconv
	install -m 644 runtime/osconv.h $(DESTDIR)$(PREFIX)/include/osconv.h
	install -m 644 $(BUILD)/libosconv.a $(DESTDIR)$(PREFIX)/lib/libosconv.a
	install -m 755 $(BUILD)/libosconv.so $(DESTDIR)$(PREFIX)/lib/$(OSC_SONAME)
	ln -sf $(OSC_SONAME) $(DESTDIR)$(PREFIX)/lib/libosconv.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(OSC_PC_VERSION)|g' runtime/osconv.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/osconv.pc

# Install into a temporary prefix and build examples/app.c against it (the
# README's command, and statically); check exports and symbol hygiene.
.PHONY: test-install
test-install: $(BUILD)/osconv $(BUILD)/libosconv.a $(BUILD)/libosconv.so
	sh scripts/test-install.sh $(BUILD)

# The generated source cross-built for aarch64 and run under qemu-user gives
# the portable kernels' results byte for byte (scripts/test-cross.sh).
test-cross: $(BUILD)/osconv
	@sh scripts/install-deps.sh gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
	sh scripts/test-cross.sh $(BUILD)

# ---- generated examples ----------------------------------------------------
# examples/generated/ holds what `osconv gen examples/default.lua` writes, so
# readers see real output and any change to the emitted code shows up in a
# diff. This regenerates into a temp dir, compares, and compiles the result.
# After an intended change: $(BUILD)/osconv gen examples/default.lua -o examples/generated
check-generated: $(BUILD)/osconv
	@tmp=$$(mktemp -d) || exit 1; \
	if $(BUILD)/osconv gen examples/default.lua -o "$$tmp" >/dev/null && \
	   diff -ru examples/generated "$$tmp" && \
	   $(CC) -std=c99 -Wall -Wextra -pedantic -Werror -c "$$tmp/demo.c" -o "$$tmp/demo.o"; then \
	  rm -rf "$$tmp"; echo "check-generated: examples/generated is up to date"; \
	else \
	  rm -rf "$$tmp"; echo "check-generated: examples/generated is stale; if the change is" \
	    "intended: $(BUILD)/osconv gen examples/default.lua -o examples/generated" >&2; exit 1; \
	fi

# ---- fuzzing (tests/fuzz/, README "Fuzzing and valgrind") --------------------
# libFuzzer targets built with clang into $(BUILD)/fuzz, the library
# instrumented for coverage (fuzzer-no-link) and both under ASan + UBSan.
# test-fuzz runs each for FUZZ_TIME seconds from its seeds in
# tests/fuzz/<target>/, which it only reads: what it learns goes to
# $(BUILD)/fuzz/corpus/<target>/, a failing input to $(BUILD)/fuzz/crash/.
# A crash, leak, UB report, check failure (fuzz.h), input slower than
# -timeout or RSS above -rss_limit_mb fails the run. The configs' sandbox
# CPU cap is 0.1 s there (fuzz.h), so only a config it fails to stop times
# out. With -j2 two targets run at once.
FUZZ_TARGETS := npy config emit
FUZZ_TIME    ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LEN_npy    := 4096
FUZZ_LEN_config := 8192
FUZZ_LEN_emit   := 8192
FUZZ_DICT_config := -dict=tests/fuzz/config.dict
FUZZ_DICT_emit   := -dict=tests/fuzz/config.dict
FUZZ_OPTS = -max_total_time=$(FUZZ_TIME) -timeout=30 -rss_limit_mb=2048 -close_fd_mask=2 -print_final_stats=1
# Seeds: tests/fuzz/<target>/, and for the config targets each other's
# and the examples (copied, so the corpus never misses a new example).
FUZZ_SEEDS_npy    := tests/fuzz/npy
FUZZ_SEEDS_config := tests/fuzz/config tests/fuzz/emit $(FUZZ_BUILD)/examples
FUZZ_SEEDS_emit   := tests/fuzz/emit tests/fuzz/config $(FUZZ_BUILD)/examples
FUZZ_RUNS := $(FUZZ_TARGETS:%=fuzz-run-%)

# The search's inner loops compare 64-bit costs billions of times, and
# libFuzzer's comparison tracing made them 5 times slower again than the
# sanitizers alone (a search of 0.04 s plain took 6 s, 1.1 s without it),
# so those two files keep only the coverage counters.
FUZZ_NO_CMP_TRACE := $(BUILD)/gen/oscsearch.o $(BUILD)/gen/osccover.o
$(FUZZ_NO_CMP_TRACE): CFLAGS += $(FUZZ_CMP)

.PHONY: fuzz test-fuzz $(FUZZ_RUNS)
fuzz: $(DEPS_STAMP)
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" FUZZ_CMP=-fno-sanitize-coverage=trace-cmp \
	  $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# (inside that make, BUILD is $(FUZZ_BUILD))
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/libosconv.a
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libosconv.a $(LDLIBS)

test-fuzz: $(FUZZ_RUNS)
$(FUZZ_BUILD)/examples/.copied: $(wildcard examples/*.lua)
	@rm -rf $(@D) && mkdir -p $(@D) && cp $^ $(@D)/ && touch $@
$(FUZZ_RUNS): fuzz-run-%: fuzz $(FUZZ_BUILD)/examples/.copied
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/crash
	@echo "fuzz_$*: $(FUZZ_TIME) s from tests/fuzz/$*/ (log: $(FUZZ_BUILD)/$*.log)"
	@if $(FUZZ_BUILD)/fuzz_$* $(FUZZ_OPTS) -max_len=$(FUZZ_LEN_$*) $(FUZZ_DICT_$*) \
	     -artifact_prefix=$(FUZZ_BUILD)/crash/$*- $(FUZZ_BUILD)/corpus/$* $(FUZZ_SEEDS_$*) \
	     >$(FUZZ_BUILD)/$*.log 2>&1; then \
	  echo "fuzz_$*: passed: $$(grep -h -o 'stat::number_of_executed_units: [0-9]*' $(FUZZ_BUILD)/$*.log \
	    | sed 's/.*: //') inputs, $$(ls $(FUZZ_BUILD)/corpus/$* | wc -l) new in its corpus"; \
	else \
	  tail -n 80 $(FUZZ_BUILD)/$*.log; \
	  echo "fuzz_$*: FAILED; the input is $(FUZZ_BUILD)/crash/$*-*: fix it, then add it to" \
	    "tests/fuzz/$*/ (README, \"Fuzzing and valgrind\")" >&2; exit 1; \
	fi

# ---- ThreadSanitizer ------------------------------------------------------
# The pool and the kernels split across threads (suites pool, threads) on
# a TSan build: any data race or lock-order report fails. TSan does not see
# inside JIT code, so the generated tiles are checked by the suites' bitwise
# comparisons; TSan checks the runtime around them (the pool, the pieces,
# the MXCSR hand-over, the shared pool's start); suite x86 has threads
# sharing the instruction memo (gen/x86/oscx86memo.c).
TSAN_SUITES := pool threads x86
.PHONY: test-tsan
test-tsan: $(DEPS_STAMP)
	$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan OPT="-O1 -g" SAN="-fsanitize=thread" \
	  $(BUILD)/tsan/osconv-tests
	@for s in $(TSAN_SUITES); do \
	  echo "tsan: suite $$s"; \
	  TSAN_OPTIONS=halt_on_error=1:exitcode=66 OSCONV_TEST_QUICK=1 $(BUILD)/tsan/osconv-tests $$s \
	    || { echo "tsan: suite $$s FAILED" >&2; exit 1; }; \
	done

# ---- valgrind --------------------------------------------------------------
# The JIT suites (tests/test_jit.c, test_kernel.c) once under memcheck, on
# the plain build: any memory error, and any definite or possible leak,
# fails. (ASan cannot look into JIT code; memcheck translates it like any
# other.) No suppressions are needed: libtcc's own allocations are freed
# by tcc_delete, and what stays reachable at exit (the compiled templates
# osctmpl.c and the instruction memo gen/x86/oscx86memo.c keep for the
# process) is not an error.
VALGRIND_SUITES := jit kernel
# --vex-guest-max-insns=25 (default 50): VEX expands each vmaskmovps into
# per-lane guarded loads, and 50 instructions of a residual layer's AVX2 tail
# stores (a masked load of the residual, then a masked store) overflow its
# temporary storage ("VEX temporary storage exhausted"); shorter superblocks
# translate.
VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible \
            --vex-guest-max-insns=25
.PHONY: test-valgrind
test-valgrind: $(BUILD)/osconv-tests
	@for s in $(VALGRIND_SUITES); do \
	  echo "valgrind: suite $$s"; \
	  $(VALGRIND) $(BUILD)/osconv-tests $$s || { echo "valgrind: suite $$s FAILED" >&2; exit 1; }; \
	done
