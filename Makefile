# mailwatchd: every target is a one-liner CI can call; no logic lives only in CI.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X github.com/mailwatchd/mailwatchd/internal/buildinfo.Version=$(VERSION) \
             -X github.com/mailwatchd/mailwatchd/internal/buildinfo.Revision=$(REVISION)
LISTEN    ?= 127.0.0.1:10099
FUZZTIME  ?= 10000x

PREFIX    ?= /usr
BINDIR    ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR   ?= /lib/systemd/system
DATADIR   ?= $(PREFIX)/share/mailwatchd
DESTDIR   ?=

.PHONY: all build run test test-short e2e e2e-soak lint fmt bench fuzz clean install uninstall deb

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o mailwatchd ./cmd/mailwatchd

# Runs mailwatchd in the foreground with the example configuration, on
# loopback only; open http://$(LISTEN)/ or curl http://$(LISTEN)/metrics.
# Saved log positions go to ./.run instead of /var/lib/mailwatchd, so it
# works as any user.
run: build
	@mkdir -p .run
	sed 's#^  state_dir: /var/lib/mailwatchd$$#  state_dir: $(CURDIR)/.run#' config.example.yaml > .run/config.yaml
	./mailwatchd --config.file=.run/config.yaml --web.listen-address=$(LISTEN) --log.format=console

# Unit and integration tests, always with the race detector.
test:
	$(GO) test -race -count=1 ./...

test-short:
	$(GO) test -short ./...

# The real-stack tests (Postfix, Dovecot, OpenDKIM, fail2ban, journald,
# Prometheus, Alertmanager on loopback). Root on a throwaway machine only.
e2e: build
	./test/run-e2e.sh

# The healthy-stack alert check for SOAK (default 30m) instead of one minute.
SOAK ?= 30m
e2e-soak: build
	MWH_QUIET_WINDOW=$(SOAK) ./test/run-e2e.sh -run 'TestAlertsQuietOnHealthyStack' -timeout 2h

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/e2e/...
	$(GO) mod tidy -diff

fmt:
	gofmt -w $$(git ls-files '*.go')

# bench/run.sh: the Go benchmarks (go test -run='^$$' -bench=. -benchmem ./...)
# plus mailwatchd side by side with prometheus-postfix-exporter and mtail,
# scrape load, RSS and idle CPU; then bench/report.sh: `mailwatchd report`
# against pflogsumm on the same corpus. See bench/README.md. About 12 minutes.
bench:
	GO=$(GO) ./bench/run.sh
	GO=$(GO) ./bench/report.sh

# Every native fuzz target, FUZZTIME each (CI runs the default, 10000x: a
# count, not a duration; see scripts/fuzz.sh).
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# The Debian package, in dist/: nfpm (pinned in tools/go.mod) with
# deploy/debian/nfpm.yaml; version from git (deploy/debian/build.sh).
deb:
	GO=$(GO) deploy/debian/build.sh dist

clean:
	rm -f mailwatchd
	rm -rf dist

# Installs the binary, the systemd units (with BINDIR substituted), the
# sysusers/tmpfiles entries, the example configuration (never overwriting an
# existing config.yaml), the alert rules and the dashboards. DESTDIR-aware.
install: build
	install -D -m 0755 mailwatchd $(DESTDIR)$(BINDIR)/mailwatchd
	install -d $(DESTDIR)$(UNITDIR)
	sed 's#/usr/bin/mailwatchd#$(BINDIR)/mailwatchd#g' deploy/systemd/mailwatchd.service > $(DESTDIR)$(UNITDIR)/mailwatchd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mailwatchd.service
	sed 's#/usr/bin/mailwatchd#$(BINDIR)/mailwatchd#g' deploy/systemd/mailwatchd-report.service > $(DESTDIR)$(UNITDIR)/mailwatchd-report.service
	install -m 0644 deploy/systemd/mailwatchd-report.timer $(DESTDIR)$(UNITDIR)/mailwatchd-report.timer
	chmod 0644 $(DESTDIR)$(UNITDIR)/mailwatchd-report.service
	install -D -m 0644 deploy/systemd/mailwatchd.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/mailwatchd.conf
	install -D -m 0644 deploy/systemd/mailwatchd.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/mailwatchd.conf
	install -D -m 0644 config.example.yaml $(DESTDIR)$(SYSCONFDIR)/mailwatchd/config.example.yaml
	[ -e $(DESTDIR)$(SYSCONFDIR)/mailwatchd/config.yaml ] || install -m 0644 config.example.yaml $(DESTDIR)$(SYSCONFDIR)/mailwatchd/config.yaml
	install -d $(DESTDIR)$(DATADIR)/prometheus $(DESTDIR)$(DATADIR)/grafana
	install -m 0644 $(filter-out %_test.yml,$(wildcard deploy/prometheus/*.yml)) $(DESTDIR)$(DATADIR)/prometheus/
	if ls deploy/grafana/*.json >/dev/null 2>&1; then install -m 0644 deploy/grafana/*.json deploy/grafana/*.yaml $(DESTDIR)$(DATADIR)/grafana/; fi
	install -D -m 0644 docs/runbooks.md $(DESTDIR)$(PREFIX)/share/doc/mailwatchd/runbooks.md

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mailwatchd $(DESTDIR)$(UNITDIR)/mailwatchd.service \
	  $(DESTDIR)$(UNITDIR)/mailwatchd-report.service $(DESTDIR)$(UNITDIR)/mailwatchd-report.timer \
	  $(DESTDIR)$(PREFIX)/lib/sysusers.d/mailwatchd.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/mailwatchd.conf \
	  $(DESTDIR)$(SYSCONFDIR)/mailwatchd/config.example.yaml
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(PREFIX)/share/doc/mailwatchd
