# kubeharden — build and test. `make test` is what CI runs.
GO ?= go

.PHONY: all build test vet fmt-check bench demo fuzz fuzz-smoke

all: build

build:
	$(GO) build -o kubeharden .

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# test runs vet, the formatting check and every test.
test: fmt-check vet
	$(GO) test ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo:
	$(GO) run . lint testdata/demo

# Fuzz targets as package:FuzzName:SMOKE, SMOKE being the number of inputs
# the CI smoke run tries (sized to a few seconds each on 2 cores). `make
# fuzz` runs each target for FUZZTIME.
FUZZ_TARGETS = \
	./internal/ypath:FuzzParse:50000 ./internal/ypath:FuzzWalk:50000 \
	./render:FuzzManifestObjects:3000 ./render:FuzzKustomizePatchLocate:3000 ./render:FuzzSplitTemplate:3000 \
	./fix:FuzzApply:100000 ./fix:FuzzLower:3000 \
	./config:FuzzParse:10000 ./lint:FuzzExemptionAnnotation:10000 \
	./render:FuzzValuesSite:300 ./driver:FuzzFixRoundTrip:200
FUZZTIME ?= 60s

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; smoke=$${rest#*:}; \
		time=$(FUZZTIME); [ "$$time" = smoke ] && time=$${smoke}x; \
		echo "fuzz $$pkg $$name ($$time)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $$time -fuzzminimizetime 10s; \
	done

# fuzz-smoke is the short fuzz run CI does. It counts inputs instead of
# timing the run: with a duration, Go 1.26's fuzzing coordinator can fail
# a run with "context deadline exceeded" when the time is up
# (go.dev/issue/75804, fixed in Go 1.27).
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=smoke
