# miroverse — the two commands a user needs: `make demo` and `make test`.
GO          ?= go
BIN         := bin/miroverse
VENV        := .venv
PYTHON      := $(VENV)/bin/python
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build demo test bench bench-scale fuzz lint venv sandbox-deps clean

build:
	$(GO) build -o $(BIN) ./cmd/miroverse

# The whole pipeline on the embedded store and the built-in oracle, on the demo corpus.
# The demo config offers the tool-python tools, whose sandbox is bubblewrap.
demo: build sandbox-deps
	./$(BIN) run --config configs/demo.yaml --out out/demo

# Everything the tests need is installed and started here: Go modules, the
# Python venv that checks the Parquet with independent readers (pyarrow,
# datasets), and a real Neo4j (fetched with Maven) when NEO4J_URI is unset.
# bubblewrap (Debian package) is the code sandbox of the tool-python tools.
# A real S3-compatible server (versitygw, built once with go install into a
# cache outside the clone) serves the object-storage tests (scripts/with-s3),
# and a one-node Slurm (Debian's slurm-wlm and munge, installed on first use)
# the batch-job tests (scripts/with-slurm).
# -p 1: the packages share that one Neo4j database, so they must not overlap.
test: build venv sandbox-deps
	$(GO) mod download
	MIROVERSE_PYTHON=$(abspath $(PYTHON)) scripts/with-neo4j scripts/with-s3 scripts/with-slurm \
		$(GO) test -p 1 -count=1 -timeout 40m ./...

venv: $(VENV)/.installed

sandbox-deps:
	@command -v bwrap >/dev/null 2>&1 || { echo "installing bubblewrap (the code sandbox)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }
	@command -v prlimit >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 || { echo "prlimit and setpriv (util-linux) are needed"; exit 1; }

$(VENV)/.installed: scripts/requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
	touch $@

# Side-by-side benchmarks: one table of ratios against a peer measured in the same run.
bench: build venv
	scripts/with-neo4j $(GO) run ./scripts/bench
	$(GO) run ./scripts/benchwiki
	scripts/compare_wikiextractor.sh
	$(GO) run ./scripts/benchagent
	$(GO) run ./scripts/benchshard
	$(GO) run ./scripts/benchweb -python $(PYTHON)

# How the costs grow with the dump (issue 11): generated dumps of 10k, 100k and
# 1M articles, cached under ~/.cache/miroverse/bench-scale, through the real
# CLI; prints the measurements and the goals table. Long (the 1M size takes
# most of an hour): not part of `make test`. NEO4J=1 adds the Neo4j loaders
# (scripts/with-neo4j); BENCHSCALE_FLAGS passes flags, e.g.
#   make bench-scale BENCHSCALE_FLAGS="-sizes 10k,100k -markdown scale.md"
BENCHSCALE_FLAGS ?=
bench-scale: build
ifeq ($(NEO4J),1)
	scripts/with-neo4j nice $(GO) run ./scripts/benchscale -neo4j $(BENCHSCALE_FLAGS)
else
	nice $(GO) run ./scripts/benchscale $(BENCHSCALE_FLAGS)
endif

# Every fuzz target of the tree, one after another (go test fuzzes one at a
# time), each for FUZZTIME. Not part of `make test`, which runs their seed
# corpora. A new input is minimised for at most FUZZMINIMIZETIME: at the
# default of 60 s a short run would spend most of its time minimising.
FUZZTIME         ?= 60s
FUZZMINIMIZETIME ?= 5s
fuzz:
	@grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sort | while IFS=: read -r file fn; do \
		name=$${fn#func }; dir=$$(dirname $$file); \
		echo "fuzz $$name in $$dir for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) $$dir || exit 1; \
	done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin out
