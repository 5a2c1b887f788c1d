# pinpipe — see README.md. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
GO ?= go
GOFLAGS ?=
BIN := bin
# An execution count, not a duration: a duration's deadline races the fuzz
# workers' shutdown on a loaded machine and fails with "context deadline
# exceeded" and no failing input (golang/go#75804, fixed in Go 1.27).
# 250,000 executions take about 10 s per target on two cores.
FUZZTIME ?= 250000x

BINARIES := emit batchjob streamjob s3sink gateway

# Every build and test is static (no cgo): the binaries ship as single static
# files (the image has no libc), and the tests build and run the same kind, so
# one build cache serves both.
export CGO_ENABLED := 0

# FORCE: rebuild the (cached) devstack tool each time; go build is a no-op when nothing changed.
.PHONY: FORCE all build image test test-short vet fmt-check fuzz-short bench stack-up stack-down demo docs clean $(BINARIES)

all: build

build: $(BINARIES)

$(BINARIES):
	$(GO) build -trimpath -o $(BIN)/$@ ./cmd/$@

## image: the OCI image of the static binaries (bin/image/oci, and bin/image/pinpipe.tar for docker load),
## reproducible: no base image, fixed times (SOURCE_DATE_EPOCH, else the commit's time).
image: build
	$(GO) run ./tools/image -bin $(BIN) -out $(BIN)/image

## test: vet, gofmt check, every test (integration tests included), a short fuzz run.
test: vet fmt-check
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) fuzz-short

## test-short: the quick loop, without the integration tests.
test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

fuzz-short:
	@for f in FuzzCleanPin FuzzCleanGeo FuzzCleanUser; do \
		echo "fuzz $$f for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x ./pkg/clean || exit 1; \
	done
	@echo "fuzz FuzzKeyRoundTrip for $(FUZZTIME)"
	$(GO) test -run='^$$' -fuzz='^FuzzKeyRoundTrip$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x ./pkg/landing
	@echo "fuzz FuzzDeaggregate for $(FUZZTIME)"
	$(GO) test -run='^$$' -fuzz='^FuzzDeaggregate$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x ./pkg/kinesisx

## bench: every benchmark of BENCHMARKS.md, on the local stack (about 18 minutes).
bench: stack-up
	$(GO) test -run='^$$' -bench=. -benchmem ./pkg/clean ./pkg/sample ./pkg/parquetio ./pkg/insights
	$(GO) test -run='^$$' -bench=CleanWrite -cpu=1 -benchtime=30x ./pkg/stream
	$(GO) test -run='^$$' -bench='EndToEnd|Latency' -benchtime=1x ./pkg/stream
	$(GO) test -run='^$$' -bench='Commits|CommitLatency' -benchtime=1x -timeout 40m ./pkg/tables
	$(GO) test -run='^$$' -bench=Land -benchtime=1x ./pkg/sink
	$(GO) test -run='^$$' -bench='MySQLToKafka|SampleToKafka|SampleToRestProxy' -benchtime=200000x ./pkg/emit
	$(GO) test -run='^$$' -bench=SampleToKinesis -benchtime=20000x ./pkg/emit
	$(GO) test -run='^$$' -bench=Run -benchtime=1x ./pkg/batch
	$(GO) test -run='^$$' -bench=GatewayKafka -benchtime=50000x ./pkg/gateway
	$(GO) test -run='^$$' -bench=GatewayKinesis -benchtime=20000x ./pkg/gateway
	scripts/bench-gateway.sh 20
	scripts/bench-batch.sh 1000000 10000
	scripts/bench-batch-s3.sh 33334 64
	scripts/bench-incremental.sh 667 30
	scripts/bench-state.sh 300000 3

DEVSTACK := .cache/bin/devstack

$(DEVSTACK): FORCE
	@$(GO) build -o $(DEVSTACK) ./tools/devstack

## stack-up: install (cached) and start the local stack; writes .stack/env. Idempotent.
stack-up: $(DEVSTACK)
	$(DEVSTACK) up

## stack-down: stop exactly the processes stack-up started.
stack-down: $(DEVSTACK)
	$(DEVSTACK) down

## demo: bring the local stack up and run the whole pipeline on it, showing the results (the stack is left running).
demo:
	$(MAKE) stack-up
	@$(GO) build -o .cache/bin/demo ./tools/demo
	.cache/bin/demo

## docs: regenerate the flag and environment reference in README.md from the binaries' flag sets.
docs:
	$(GO) run ./tools/docgen -readme README.md

FORCE:

clean:
	rm -rf $(BIN)
