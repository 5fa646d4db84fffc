# dsrbench: `make` builds bin/dsrbench; `make test` installs what is missing,
# builds and runs every test. See README.md.

# The OpenMP build of OpenBLAS shares its thread pool with our OpenMP loops;
# the pthread build would spin its own threads against them.
, := ,
BLAS_PC_DIR := $(firstword $(wildcard /usr/lib/*/openblas-openmp/pkgconfig))
BLAS_CFLAGS := $(shell PKG_CONFIG_PATH=$(BLAS_PC_DIR) pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS := $(shell PKG_CONFIG_PATH=$(BLAS_PC_DIR) pkg-config --libs openblas 2>/dev/null)
BLAS_RPATH := $(if $(BLAS_PC_DIR),-Wl$(,)-rpath$(,)$(patsubst %/pkgconfig,%,$(BLAS_PC_DIR)))

OPT ?= -O3 -march=native
CFLAGS += -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) -g -Wall -Wextra -Werror -fopenmp \
          -Iengine -Imethods -Iexperiments -Ibuild $(BLAS_CFLAGS)
LDLIBS += $(BLAS_LIBS) $(BLAS_RPATH) -lcsv -linih -lz -lm

LIB_SRC := $(wildcard engine/*.c) $(wildcard methods/*.c) $(wildcard methods/ablations/*.c) \
           $(filter-out experiments/main.c,$(wildcard experiments/*.c))
LIB_OBJ := $(LIB_SRC:%.c=build/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=build/%.o)
DEPFILES := $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) build/experiments/main.d

.PHONY: all deps test check lint clean fixtures data-cifar10 docker-check bench FORCE
all: bin/dsrbench

deps:
	@./install-deps.sh

build/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# the code version for manifests; rewritten only when it changes. Without git
# (a Docker build context has no .git) it is DSRBENCH_VERSION, else unknown.
build/version.h: FORCE
	@mkdir -p build
	@v=$$(git describe --always --dirty 2>/dev/null || echo "$${DSRBENCH_VERSION:-unknown}"); \
	 tmp=$@.$$$$; echo "#define DSRBENCH_GIT \"$$v\"" > $$tmp; \
	 if cmp -s $@ $$tmp; then rm $$tmp; else mv $$tmp $@; fi
build/experiments/manifest.o build/experiments/main.o build/experiments/report_provenance.o: build/version.h
FORCE:

build/libdsrbench.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

bin/dsrbench: build/experiments/main.o build/libdsrbench.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

bin/dsrbench-tests: $(TEST_OBJ) build/libdsrbench.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcriterion

# `make test` is the one test command: dependencies first (in this make, so the
# build below sees them), then the build and every suite.
test: deps
	@$(MAKE) --no-print-directory check

# cppcheck over every source; Criterion's Test() macros are unknown to it
CPPCHECK := cppcheck --enable=warning,style,performance --inline-suppr -q --error-exitcode=1 \
            -Iengine -Imethods -Iexperiments -Itests
lint:
	$(CPPCHECK) $(LIB_SRC) experiments/main.c
	$(CPPCHECK) --suppress=unknownMacro $(TEST_SRC)

check: bin/dsrbench bin/dsrbench-tests
	OMP_WAIT_POLICY=passive ./bin/dsrbench-tests --jobs 2 2>&1
	@for t in tests/*.sh; do echo "== $$t"; sh "$$t" || exit 1; done

# Regenerates tests/fixtures from PyTorch (Debian's python3-torch); `make test`
# uses the committed fixtures and does not need PyTorch.
fixtures:
	@./install-deps.sh --reference
	/usr/bin/python3 tests/reference/make_fixtures.py tests/fixtures

# The performance benchmark against PyTorch (README "Performance"): tables in
# results/bench/, figure results/bench/bench.png. BENCH=quick for a short run.
BENCH ?= full
bench: bin/dsrbench
	@./install-deps.sh --reference
	./bin/dsrbench bench --profile $(BENCH) --out results/bench
	gnuplot -e "steps='results/bench/steps.csv'; out='results/bench/bench.png'" plots/bench.gp

# Downloads and verifies the CIFAR-10 binary archive into data/ (needs internet).
data-cifar10:
	sh experiments/fetch-cifar10.sh

# Builds docker/Dockerfile and runs its smoke command without a Docker daemon
# (podman and buildah, installed when missing; needs root and Debian's mirror).
docker-check:
	sh docker/check.sh

# --- Reproduction (README "Reproducing the paper"): every experiment spec at
# PROFILE (smoke, default or paper) into RESULTS, then the figures and
# RESULTS/PROFILE/REPORT.md. Running it again resumes: complete runs are kept.
PROFILE ?= default
RESULTS ?= results
SPECS := $(sort $(wildcard experiments/specs/*.ini))
ifneq ($(filter reproduce,$(MAKECMDGOALS)),)
REPRODUCE_START := $(shell date +%s)
endif

.PHONY: reproduce figures ablation
reproduce: deps
	@$(MAKE) --no-print-directory all
	@sh experiments/reproduce.sh $(PROFILE) $(RESULTS) $(REPRODUCE_START) \
	    "make reproduce PROFILE=$(PROFILE) RESULTS=$(RESULTS)" $(SPECS)

# Re-draws the figures and rewrites the report from the CSVs in RESULTS/PROFILE
# (the report runs again after drawing so that it links what was drawn).
figures: bin/dsrbench
	./bin/dsrbench report $(RESULTS)/$(PROFILE) --csv-only
	sh plots/draw.sh $(RESULTS)/$(PROFILE)
	./bin/dsrbench report $(RESULTS)/$(PROFILE)

# One RQ3 ablation on its own. With FROM (a finished DSR run's folder) it
# retrains that run's structure, the model, data, sparsity and seed read from
# its manifest, for twice its epochs (PAPER.md); without FROM it runs the
# ablation's runs of experiments/specs/rq3_ablations.ini at PROFILE (and the
# DSR runs they read). ARGS adds train flags, OUT names the run folder.
#   make ablation NAME=reinit-fixed-structure FROM=results/default/rq3_ablations/lenet-300-100_dsr_s0.99_np400_seed1
#   make ablation NAME=frozen-after-N-epochs PROFILE=smoke
ablation: bin/dsrbench
	@[ -n "$(NAME)" ] || { echo "make ablation: NAME=... is required (dsrbench methods lists the ablations)" >&2; exit 2; }
ifneq ($(FROM),)
	@m=$(FROM)/manifest.ini; [ -f "$$m" ] || { echo "make ablation: $$m does not exist (FROM must be a finished run's folder)" >&2; exit 2; }; \
	 get() { sed -n "s/^$$1 = //p" "$$m" | head -1; }; \
	 set -x; ./bin/dsrbench train --ablation $(NAME) --from $(FROM) --model "$$(get model)" \
	    --data "$$(get data)" --seed "$$(get seed)" --epochs $$((2 * $$(get epochs))) \
	    --batch "$$(get batch)" --weight-decay "$$(get weight_decay)" \
	    --train-subset "$$(get train_examples)" --test-subset "$$(get test_examples)" \
	    --out $(if $(OUT),$(OUT),$(RESULTS)/ablations/$(NAME)_$(notdir $(FROM))) $(ARGS)
else
	./bin/dsrbench run experiments/specs/rq3_ablations.ini --profile $(PROFILE) --results $(RESULTS) \
	    --only '*_$(NAME)_*'
endif

clean:
	rm -rf build bin

-include $(DEPFILES)
