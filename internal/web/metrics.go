// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// VersionedGatherer is a Gatherer that numbers its results: the same
// version means the very same families (scheduler.Merged).
type VersionedGatherer interface {
	GatherVersion() ([]*dto.MetricFamily, uint64, error)
}

// cachedMetrics serves /metrics from the response encoded for the current
// version of its gatherer's families, when it can answer exactly as
// promhttp would; every other request goes to promhttp (full).
//
// Between two changes of the series (a log burst, a collector run, the Go
// and process readings once a second) every scrape in a given format and
// encoding gets the same bytes, so they are encoded, and gzipped, once per
// version. On a new version, the families that did not change (the very
// same *dto.MetricFamily) reuse their encoding from the last version. The
// bytes are promhttp's: each family is encoded with the expfmt encoder
// promhttp uses, one after another, as promhttp does (the text and
// protobuf encoders keep no state between families), and the gzip stream
// is written by compress/gzip at its default level, as promhttp's is.
//
// Handled here: no name[] filter; an Accept-Encoding that names only
// plain codings without parameters (as Prometheus and Go clients send:
// "gzip"), so that the choice between identity and gzip is plain; a
// gatherer without error. The rest is promhttp's.
type cachedMetrics struct {
	g       VersionedGatherer
	full    http.Handler
	formats []expfmt.Format // what promhttp offers, in its order

	mu      sync.Mutex
	version uint64
	bodies  map[bodyKey][]byte                             // for version
	fams    map[expfmt.Format]map[*dto.MetricFamily][]byte // encoded families of the last version encoded, per format
	gz      *gzip.Writer
}

type bodyKey struct {
	format expfmt.Format
	gzip   bool
}

// maxCachedFormats bounds the formats kept (a client may ask for any
// escaping scheme; a handful are in use).
const maxCachedFormats = 8

func newCachedMetrics(g VersionedGatherer, full http.Handler) *cachedMetrics {
	return &cachedMetrics{g: g, full: full, formats: expfmt.DefaultAcceptedFormats(),
		bodies: map[bodyKey][]byte{}, fams: map[expfmt.Format]map[*dto.MetricFamily][]byte{}}
}

func (c *cachedMetrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	gz, ok := plainGzip(r.Header.Values("Accept-Encoding"))
	if !ok || (r.URL != nil && strings.Contains(r.URL.RawQuery, "name")) {
		c.full.ServeHTTP(w, r)
		return
	}
	format := expfmt.NegotiateAccept(r.Header, c.formats...)
	body, ok := c.body(format, gz)
	if !ok {
		c.full.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Add("Vary", "Accept")
	h.Add("Vary", "Accept-Encoding")
	h.Set("Content-Type", string(format))
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// body returns the response for format, encoded for the gatherer's current
// version.
func (c *cachedMetrics) body(format expfmt.Format, gz bool) ([]byte, bool) {
	mfs, version, err := c.g.GatherVersion()
	if err != nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case version < c.version:
		return nil, false // gathered before a scrape that already moved on
	case version > c.version:
		c.version = version
		clear(c.bodies)
	}
	key := bodyKey{format, gz}
	if b, ok := c.bodies[key]; ok {
		return b, true
	}
	if _, known := c.fams[format]; !known && len(c.fams) >= maxCachedFormats {
		return nil, false
	}
	var plain []byte
	if b, ok := c.bodies[bodyKey{format, false}]; ok {
		plain = b
	} else {
		var ok bool
		if plain, ok = c.encode(format, mfs); !ok {
			return nil, false
		}
		c.bodies[bodyKey{format, false}] = plain
	}
	if !gz {
		return plain, true
	}
	var buf bytes.Buffer
	if c.gz == nil {
		c.gz = gzip.NewWriter(&buf)
	} else {
		c.gz.Reset(&buf)
	}
	_, _ = c.gz.Write(plain)
	if c.gz.Close() != nil {
		return nil, false
	}
	c.bodies[key] = buf.Bytes()
	return buf.Bytes(), true
}

// encode encodes mfs in format, reusing the encoding of the families that
// were in the last version encoded in this format.
func (c *cachedMetrics) encode(format expfmt.Format, mfs []*dto.MetricFamily) ([]byte, bool) {
	old := c.fams[format]
	fresh := make(map[*dto.MetricFamily][]byte, len(mfs))
	var out, one bytes.Buffer
	for _, mf := range mfs {
		b, ok := old[mf]
		if !ok {
			one.Reset()
			if expfmt.NewEncoder(&one, format).Encode(mf) != nil {
				return nil, false // promhttp logs and counts it
			}
			b = bytes.Clone(one.Bytes())
		}
		fresh[mf] = b
		out.Write(b)
	}
	c.fams[format] = fresh
	return out.Bytes(), true
}

// plainGzip reads Accept-Encoding as promhttp does (identity when absent;
// of identity and gzip, the first offered that the client names), for the
// headers it can read without parsing quality values: a list of plain
// coding names. ok is false for anything else.
func plainGzip(values []string) (gz, ok bool) {
	sawGzip := false
	for _, v := range values {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			for i := 0; i < len(tok); i++ {
				if ch := tok[i]; !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
					return false, false // a q-value, a wildcard, upper case
				}
			}
			switch tok {
			case "identity":
				return false, true // offered before gzip, and named: it wins the tie
			case "gzip":
				sawGzip = true
			}
		}
	}
	return sawGzip, true
}
