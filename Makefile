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

# Fuzz targets as package:FuzzName; `make fuzz` runs each for FUZZTIME.
FUZZ_TARGETS = \
	./internal/ypath:FuzzParse ./internal/ypath:FuzzWalk \
	./render:FuzzManifestObjects ./render:FuzzKustomizePatchLocate ./render:FuzzSplitTemplate \
	./fix:FuzzApply ./fix:FuzzLower \
	./config:FuzzParse ./lint:FuzzExemptionAnnotation ./render:FuzzValuesSite .:FuzzFixRoundTrip
FUZZTIME ?= 60s

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$pkg $$name"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s; \
	done

# fuzz-smoke is the short fuzz run CI does.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5s
