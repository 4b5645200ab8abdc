# Two commands: `make demo` (set up + run the main job) and `make test` (set up + pass the tests).
VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

# Nothing fetches at run time: litellm uses its bundled cost map; no telemetry anywhere.
export LITELLM_LOCAL_MODEL_COST_MAP := True
export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
# Python keeps its compiled bytecode (__pycache__/, git-ignored) even where the shell says not
# to: the test suite starts a few hundred Python processes (CLI runs, report kernels, workers),
# and pytest's assertion rewriting of the test files is cached the same way.
unexport PYTHONDONTWRITEBYTECODE
# llama-cpp-python builds from source: a portable x86-64-v3 build (no AVX-512/AMX, which
# some hosts advertise but cannot run), so a wheel built on one machine runs on the next.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF

.PHONY: demo test lint install browser axe lock clean

demo: $(STAMP)
	$(VENV)/bin/harness demo

# One pytest-xdist worker more than cores: a third of the suite's time is spent waiting on
# subprocesses, servers, kernels and Chromium, which the extra worker fills (2 cores: 6 min 45 s
# with 2 workers, 5 min 36 s with 3, the same CPU seconds).
WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))

test: $(STAMP) browser axe
	$(PY) -m pytest -n $(WORKERS) --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check harness tests benchmarks
	$(VENV)/bin/ruff format --check harness tests benchmarks
	$(VENV)/bin/mypy harness

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Exact versions with hashes (requirements.lock): a district installs what was tested. The
# stock pip of `python3 -m venv` is first replaced by the pip the lock pins, the build tools
# come from the lock too, and the lock installs with --no-deps, then `pip check`
# (scripts/install_lock.py): nothing published later changes what is installed.
$(STAMP): requirements.lock requirements-build.in pyproject.toml scripts/install_lock.py | $(PY)
	$(PY) scripts/install_lock.py $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# Headless Chromium and its driver for the report and review-station browser tests (Debian's
# packages; the tests skip where they are unavailable).
browser:
	@{ command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ; } && \
	  command -v chromedriver >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) ; } || \
	  echo "note: no Chromium / chromedriver could be installed; the browser tests will be skipped"
	@command -v pdftotext >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    (apt-get install -y -qq poppler-utils >/dev/null) ; } || \
	  echo "note: no poppler-utils (pdftotext); the print tests will be skipped"

# axe-core for the accessibility browser test (tests/report/test_print.py), from npm into
# .cache/npm (git-ignored); the test loads it from that file, never from the network.
axe:
	@test -f .cache/npm/node_modules/axe-core/axe.min.js || \
	  { command -v npm >/dev/null 2>&1 && npm install --silent --prefix .cache/npm axe-core@4 ; } || \
	  echo "note: npm is missing; the accessibility test will be skipped"

# Re-resolve the lock after changing dependencies in pyproject.toml.
lock: | $(PY)
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links \
	  --extra local --extra dev -o requirements.lock pyproject.toml requirements-build.in

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
