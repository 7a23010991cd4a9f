# mailwatchd: every target is a one-liner CI can call; no logic lives only in CI.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X github.com/mailwatchd/mailwatchd/internal/buildinfo.Version=$(VERSION) \
             -X github.com/mailwatchd/mailwatchd/internal/buildinfo.Revision=$(REVISION)
LISTEN    ?= 127.0.0.1:10099
FUZZTIME  ?= 30s

.PHONY: all build run test test-short e2e lint fmt tidy-check bench fuzz clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o mailwatchd ./cmd/mailwatchd

# Runs mailwatchd in the foreground with the example configuration, on
# loopback only; open http://$(LISTEN)/ or curl http://$(LISTEN)/metrics.
run: build
	./mailwatchd --config.file=config.example.yaml --web.listen-address=$(LISTEN) --log.format=console

# Unit and integration tests, always with the race detector.
test:
	$(GO) test -race -count=1 ./...

test-short:
	$(GO) test -short ./...

# The real-stack tests (Postfix, Dovecot, OpenDKIM, fail2ban, journald,
# Prometheus, Alertmanager on loopback). Root on a throwaway machine only.
e2e: build
	./test/run-e2e.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

tidy-check:
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/config/

clean:
	rm -f mailwatchd
