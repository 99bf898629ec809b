# osconv -- see README.md. `make run` and `make test` install what is missing.
BUILD   ?= build
CC      ?= cc
OPT     ?= -O2 -g
SAN     ?=
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(OPT) $(SAN) \
           -Igen -Iruntime -I$(BUILD) -I/usr/include/lua5.4
LDLIBS  := -llua5.4 -ltcc -ljansson -lxxhash -lm -ldl -lpthread
PREFIX  ?= /usr/local

CLI_SRC   := gen/osconv.c $(wildcard gen/cmd_*.c)
LIB_SRC   := $(filter-out $(CLI_SRC),$(wildcard gen/*.c)) $(wildcard runtime/*.c)
TEST_SRC  := $(wildcard tests/*.c)
BENCH_SRC := $(wildcard bench/*.c)
TEMPLATES := $(sort $(wildcard templates/*.c.in))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/osc_templates.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all deps run test test-plain test-asan bench clean install check-generated
all: $(BUILD)/osconv $(BUILD)/libosconv.a

# System packages: checked once per build dir, installed when missing.
$(DEPS_STAMP): scripts/install-deps.sh
	@sh scripts/install-deps.sh
	@mkdir -p $(@D) && touch $@
deps: $(DEPS_STAMP)

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Templates are embedded in the library, so the JIT needs no files on disk.
$(BUILD)/osc_templates.c: $(TEMPLATES) scripts/embed-templates.sh | $(DEPS_STAMP)
	@mkdir -p $(@D)
	sh scripts/embed-templates.sh $(TEMPLATES) > $@.tmp && mv $@.tmp $@
$(BUILD)/osc_templates.o: $(BUILD)/osc_templates.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libosconv.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

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
	$(MAKE) --no-print-directory test-asan
test-plain: $(BUILD)/osconv-tests $(BUILD)/osconv
	OSCONV_CLI=$(abspath $(BUILD)/osconv) $(BUILD)/osconv-tests
# The same suite under AddressSanitizer + UBSan: any report fails the run.
test-asan: $(DEPS_STAMP)
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" $(BUILD)/asan/osconv-tests $(BUILD)/asan/osconv
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  OSCONV_CLI=$(abspath $(BUILD)/asan/osconv) OSCONV_TEST_QUICK=1 $(BUILD)/asan/osconv-tests

bench: $(BENCH_SRC:%.c=$(BUILD)/%)

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
