# Two commands on a fresh machine with only Python 3.11: `make run` and `make test`.
# uv is bootstrapped into .tools/ and the environment is built from uv.lock.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
RUN := $(UV) run --frozen --no-sync
export DO_NOT_TRACK := 1
export KEDRO_DISABLE_TELEMETRY := true
export MPLBACKEND := Agg
# Every process (kedro runs, test workers, notebook kernels, Spark's Python workers) imports
# some 4,000 modules; compiled once to __pycache__, they load in a third of the time. An
# environment that forbids bytecode files (Docker images often set this) would compile them
# again in every process: 3-4 s each.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install install-spark run test test-browser bench bench-spark viz report-shot clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet uv==$(UV_VERSION)

# The default pipeline needs no Spark: pyspark (a 1.4 GB source archive) is an opt-in extra,
# installed for the tests (the Spark equivalence and spark_udf tests) and `--env=spark` only.
.venv/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --inexact
	touch $@

.venv/.synced-spark: .venv/.synced
	$(UV) sync --frozen --inexact --extra spark
	touch $@

install: .venv/.synced

install-spark: .venv/.synced-spark

run: install
	$(RUN) kedro run

test: install-spark
	$(RUN) ruff check src tests benchmarks examples
	$(RUN) pytest -n auto --dist loadgroup

# The report in headless Chromium (Debian packages chromium and chromium-driver).
test-browser: install
	$(RUN) pytest -m browser

# The whole report as one PNG, as tall as the page (headless Chromium, as in the browser test).
report-shot: install
	test -f data/08_reporting/tier_report.html || $(RUN) kedro run
	$(RUN) python -m tests.e2e.browser data/08_reporting/tier_report.html \
	  data/08_reporting/tier_report.png

bench: install
	$(RUN) python benchmarks/features.py
	$(RUN) python benchmarks/models.py
	$(RUN) python benchmarks/score.py
	$(RUN) python benchmarks/busy.py
	$(RUN) python benchmarks/quality.py --data cdnow
	$(RUN) python benchmarks/quality.py --data synthetic
	$(RUN) python benchmarks/quality.py --data maven

# features and scoring on Spark local[2] (the spark extra), apart from `make bench`
bench-spark: install-spark
	$(RUN) python benchmarks/features.py --engine spark --sizes 100000 200000 1000000 --repeats 1
	$(RUN) python benchmarks/features.py --engine spark --read spark --sizes 1000000 10000000 --repeats 1
	$(RUN) python benchmarks/score.py --spark-master "local[2]" --driver-memory 10g
	$(RUN) python benchmarks/score.py --spark-master "local[2]" --driver-memory 10g --customers 10000000

viz: install
	$(RUN) kedro viz build

clean:
	rm -rf .venv .tools
