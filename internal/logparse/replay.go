// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package logparse

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/mailwatchd/mailwatchd/internal/logparse/follow"
	"github.com/mailwatchd/mailwatchd/internal/logparse/maillog"
)

// Replay formats.
const (
	FormatText       = "text"
	FormatPrometheus = "prometheus"
)

// maxShapes bounds the distinct unmatched shapes a replay remembers.
const maxShapes = 10000

// Replayer classifies whole inputs once with a config's rules, for
// `mailwatchd replay FILE...`: the same parser, rules and counters as the
// daemon, without positions or tailing. It also remembers the most frequent
// shapes of unmatched lines, with addresses, ids and numbers masked. Lines
// that start with '{' are read as `journalctl -o json` entries.
type Replayer struct {
	counters *counters
	rules    atomic.Pointer[ruleSet]
	descs    *descs
	source   string
	src      *sourceCounters
	sink     *sink

	shapes        map[string]int
	shapeOverflow int
}

// NewReplayer builds a replayer; source is the value of the source label of
// the counts (for example "replay").
func NewReplayer(cfg Config, source string) (*Replayer, error) {
	r := &Replayer{counters: newCounters(), descs: newDescs(), source: source, shapes: map[string]int{}}
	rs, err := r.counters.newRuleSet(cfg.Rules, cfg.Providers, cfg.Services)
	if err != nil {
		return nil, err
	}
	r.rules.Store(rs)
	// The SASL window of a replay ends at the newest line replayed, not now.
	r.counters.sasl.now = func() time.Time { return time.Unix(0, 0) }
	r.counters.sasl.configure(cfg.SASLWindow.D(), cfg.SASLTopSenders, cfg.SASLMaxUsers, cfg.SASLMaxQueueIDs)
	r.src = r.counters.source(source)
	r.sink = newSink(&r.rules, r.counters, r.src, time.Now)
	r.sink.onUnmatched = r.addShape
	return r, nil
}

// Feed reads rd to its end. It can be called for several inputs; the counts
// add up.
func (r *Replayer) Feed(ctx context.Context, rd io.Reader) error {
	err := follow.ReadAll(ctx, rd, r.sink)
	if err != nil && !errors.Is(err, ctx.Err()) { // a read error, not the end of ctx
		r.src.ReadErrors.Add(1)
	}
	return err
}

func (r *Replayer) addShape(e *maillog.Entry) {
	key := string(e.Program) + ": " + maskShape(e.Message)
	if _, ok := r.shapes[key]; !ok && len(r.shapes) >= maxShapes {
		r.shapeOverflow++
		return
	}
	r.shapes[key]++
}

// Describe implements prometheus.Collector.
func (r *Replayer) Describe(ch chan<- *prometheus.Desc) { r.descs.describe(ch) }

// Collect implements prometheus.Collector.
func (r *Replayer) Collect(ch chan<- prometheus.Metric) { r.counters.collect(r.descs, ch) }

// WritePrometheus writes the counts in the Prometheus text format, with the
// names and labels the daemon exports.
func (r *Replayer) WritePrometheus(w io.Writer) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(r); err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(w, mf); err != nil {
			return err
		}
	}
	return nil
}

// WriteText writes a report for people: the non-zero counters and the top
// most frequent unmatched line shapes.
func (r *Replayer) WriteText(w io.Writer, top int) error {
	bw := bufio.NewWriter(w)
	s := r.src.snapshot()
	fmt.Fprintf(bw, "lines %d, malformed %d\n", s.Lines, s.Malformed)
	st := r.counters.snapshot()
	section := func(title string, m map[string]uint64, order []string) {
		fmt.Fprintf(bw, "\n%s\n", title)
		for _, k := range order {
			fmt.Fprintf(bw, "  %-34s %d\n", k, m[k])
		}
	}
	var actions, reasons, programs []string
	for a := maillog.ActNone + 1; a < maillog.NumActions; a++ {
		actions = append(actions, a.String())
	}
	for re := maillog.ReasonNone + 1; re < maillog.NumReasons; re++ {
		reasons = append(reasons, re.String())
	}
	for p := maillog.Program(0); p < maillog.NumPrograms; p++ {
		programs = append(programs, p.String())
	}
	section("postfix messages (pflogsumm definitions)", st.Actions, actions)
	section("postfix rejects by reason", st.Reasons, reasons)
	section("events (non-zero)", st.Events, sortedKeys(st.Events))
	if len(st.Rules) > 0 || len(r.counters.rules) > 0 {
		section("user rules", st.Rules, sortedKeys(r.counters.rules))
	}
	section("unmatched lines by program", st.Unmatched, programs)
	type kv struct {
		k string
		v int
	}
	list := make([]kv, 0, len(r.shapes))
	for k, v := range r.shapes {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].v != list[j].v {
			return list[i].v > list[j].v
		}
		return list[i].k < list[j].k
	})
	fmt.Fprintf(bw, "\nmost frequent unmatched shapes (%d distinct", len(list))
	if r.shapeOverflow > 0 {
		fmt.Fprintf(bw, "; %d more lines in shapes not kept", r.shapeOverflow)
	}
	fmt.Fprintln(bw, ")")
	for i, e := range list {
		if i == top {
			break
		}
		fmt.Fprintf(bw, "  %8d  %s\n", e.v, e.k)
	}
	return bw.Flush()
}

// Replay is `mailwatchd replay`: it classifies the inputs (files, stdin) in
// turn with cfg's rules, counting under the source label "replay", and
// writes what the daemon would have counted to w in format: FormatText (the
// non-zero counters and the 20 most frequent unmatched shapes) or
// FormatPrometheus (the exposition format). Nothing is written when an
// input cannot be read.
func Replay(ctx context.Context, cfg Config, w io.Writer, format string, inputs ...io.Reader) error {
	if format != FormatText && format != FormatPrometheus {
		return fmt.Errorf("unknown replay format %q (want %s or %s)", format, FormatText, FormatPrometheus)
	}
	rp, err := NewReplayer(cfg, "replay")
	if err != nil {
		return err
	}
	for _, in := range inputs {
		if err := rp.Feed(ctx, in); err != nil {
			return err
		}
	}
	if format == FormatPrometheus {
		return rp.WritePrometheus(w)
	}
	return rp.WriteText(w, 20)
}

// OpenInput opens a replay input: a plain or gzip-compressed file (detected
// by its magic bytes, whatever its name).
func OpenInput(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	magic, _ := br.Peek(2)
	if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return struct {
			io.Reader
			io.Closer
		}{br, f}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, closers{zr, f}}, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// maskShape reduces a message to its shape: <...> and [...] contents, queue
// ids, long ids and digit runs are replaced, so lines that differ only in
// addresses, hosts, ids and numbers collapse into one. The result is at most
// 160 bytes.
func maskShape(msg []byte) string {
	return string(AppendMasked(nil, msg, 160, "<[", appendMaskedWord))
}

// AppendMasked appends msg to dst with what differs from one line to the
// next masked: the non-empty contents of the brackets named in brackets ('<'
// and/or '['; up to 256 bytes) become "*", each word (letters, digits and
// ._-@+/=) is what word appends for it, and control and non-ASCII bytes are
// '?'. At most limit bytes are appended. Replay's shapes and the report's
// reply texts differ only in their brackets and word rules.
func AppendMasked(dst, msg []byte, limit int, brackets string, word func(out, w []byte) []byte) []byte {
	out, start := dst, len(dst)
	for i := 0; i < len(msg) && len(out)-start < limit; {
		c := msg[i]
		switch {
		case (c == '<' || c == '[') && strings.IndexByte(brackets, c) >= 0:
			closeCh := byte('>')
			if c == '[' {
				closeCh = ']'
			}
			j := bytes.IndexByte(msg[i+1:min(len(msg), i+258)], closeCh)
			if j > 0 {
				out = append(out, c, '*', closeCh)
				i += j + 2
				continue
			}
			out = append(out, c)
			i++
		case isWordByte(c):
			j := i
			for j < len(msg) && isWordByte(msg[j]) {
				j++
			}
			out = word(out, msg[i:j])
			i = j
		case c < 0x20 || c >= 0x7f:
			out = append(out, '?')
			i++
		default:
			out = append(out, c)
			i++
		}
	}
	return out[:min(len(out), start+limit)]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@' || c == '+' || c == '/' || c == '='
}

func appendMaskedWord(out, w []byte) []byte {
	digits, letters := 0, 0
	for _, c := range w {
		if isDigit(c) {
			digits++
		} else if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' {
			letters++
		}
	}
	switch {
	case bytes.IndexByte(w, '@') >= 0:
		return append(out, "ADDR"...)
	case maillog.IsQueueID(w) && digits > 0:
		return append(out, "QID"...)
	case len(w) >= 16 && digits > 0 && letters > 0:
		return append(out, "ID"...)
	}
	inDigits := false
	for _, c := range w {
		if isDigit(c) {
			if !inDigits {
				out = append(out, 'N')
			}
			inDigits = true
			continue
		}
		inDigits = false
		out = append(out, c)
	}
	return out
}
