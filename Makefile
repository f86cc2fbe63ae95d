# kubeharden — build and test. `make test` is what CI runs.
GO ?= go

.PHONY: all build test vet fmt-check bench demo

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
