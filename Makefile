# signpost: top-level build. `make run` and `make test` are the two commands
# a newcomer needs; everything else is here for developers and CI.
#
# Layout the rules rely on (so adding a file needs no Makefile edit):
#   lib/*.c                      -> build/libsignpost.a
#   lib/tests/test_*.c           -> build/tests/lib_test_*       (cmocka)
#   services/NAME/*.c (main.c)   -> build/bin/signpost-NAME
#   services/NAME/tests/test_*.c -> build/tests/NAME_test_*      (cmocka, linked
#                                   with the daemon's objects minus main.o and
#                                   the helpers in its tests/ that are not test_*.c)
#   tools/NAME/*.c               -> build/bin/NAME
#   tests/integration/*.c        -> build/tests/it_*

include mk/flags.mk

BUILD ?= build
LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBA := $(BUILD)/libsignpost.a

SERVICES := $(notdir $(patsubst %/main.c,%,$(wildcard services/*/main.c)))
TOOLS := $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/main.c))))

DAEMON_BINS := $(SERVICES:%=$(BUILD)/bin/signpost-%)
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)

LIB_TEST_SRC := $(wildcard lib/tests/test_*.c)
LIB_TESTS := $(LIB_TEST_SRC:lib/tests/test_%.c=$(BUILD)/tests/lib_test_%)
SVC_TEST_SRC := $(wildcard services/*/tests/test_*.c)
SVC_TESTS := $(foreach s,$(SVC_TEST_SRC),$(BUILD)/tests/$(word 2,$(subst /, ,$(s)))_$(basename $(notdir $(s))))
IT_SRC := $(wildcard tests/integration/*.c)
IT_BINS := $(IT_SRC:tests/integration/%.c=$(BUILD)/tests/it_%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
TESTSUP_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/support/*.c))
TESTSUP := $(BUILD)/libsptest.a

.PHONY: all deps run stop test asan lint format format-check bench clean \
	unit-bins demo

all: $(DAEMON_BINS) $(TOOL_BINS)

unit-bins: $(LIB_TESTS) $(SVC_TESTS) $(IT_BINS)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(TESTSUP): $(TESTSUP_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# One daemon: every .c in services/NAME.
define daemon_rules
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard services/$(1)/*.c))
# helpers its test programs share: tests/*.c that are not test_*.c
$(1)_TSUP := $$(patsubst %.c,$(BUILD)/%.o,$$(filter-out \
	services/$(1)/tests/test_%.c,$$(wildcard services/$(1)/tests/*.c)))
$(BUILD)/bin/signpost-$(1): $$($(1)_OBJ) $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
$(BUILD)/tests/$(1)_test_%: $(BUILD)/services/$(1)/tests/test_%.o $$($(1)_TSUP) $$(filter-out %/main.o,$$($(1)_OBJ)) $(TESTSUP) $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(TEST_LIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call daemon_rules,$(s))))

define tool_rules
$(1)_TOBJ := $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard tools/$(1)/*.c))
$(BUILD)/bin/$(1): $$($(1)_TOBJ) $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))
# signpost-admin issues partners' broker certificates (OpenSSL's libcrypto)
$(BUILD)/bin/signpost-admin: LDLIBS += $(shell pkg-config --libs libcrypto)
# intake-load posts through the load generators' lean HTTP client
$(BUILD)/bin/intake-load: $(TESTSUP)

$(BUILD)/tests/lib_test_%: $(BUILD)/lib/tests/test_%.o $(TESTSUP) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/it_%: $(BUILD)/tests/integration/%.o $(TESTSUP) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(TESTSUP) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

run: deps all
	@scripts/run.sh start

stop:
	@scripts/run.sh stop

demo: all
	@scripts/run.sh demo

# The README's test command. Last line: "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all unit-bins
	@tests/run.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 all unit-bins
	@SIGNPOST_SANITIZE=1 tests/run.sh build-asan unit

bench: deps
	@$(MAKE) --no-print-directory all unit-bins $(BENCH_BINS)
	@bench/run.sh $(BUILD)

FMT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FMT_SRC)
format-check:
	@clang-format --dry-run --Werror $(FMT_SRC) && echo "format OK"

lint:
	python3 scripts/header_map.py
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr --suppress=missingIncludeSystem \
		--suppress=unknownMacro -Ilib \
		lib services tools tests/integration

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
