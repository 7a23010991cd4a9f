// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package report

import "sort"

// OtherKey is the key of the row that collects what a full table could not
// keep: a table holds at most Options.MaxKeys distinct keys, and every
// update of a key it has no room for is added to this row. No domain,
// address or shape is written with parentheses, so the row cannot be
// mistaken for one.
const OtherKey = "(other)"

// table is a map of rows with a bounded number of keys.
type table[V any] struct {
	max  int
	rows map[string]*V
	// other collects the updates of keys that found the table full;
	// folded counts them.
	other  V
	folded uint64
}

func newTable[V any](max int) *table[V] {
	return &table[V]{max: max, rows: map[string]*V{}}
}

// get returns the row of key, creating it while there is room, else the
// other row.
func (t *table[V]) get(key string) *V {
	if v, ok := t.rows[key]; ok {
		return v
	}
	if len(t.rows) >= t.max {
		t.folded++
		return &t.other
	}
	v := new(V)
	t.rows[key] = v
	return v
}

// getBytes is get without converting key unless a row is created.
func (t *table[V]) getBytes(key []byte) *V {
	if v, ok := t.rows[string(key)]; ok {
		return v
	}
	return t.get(string(key))
}

// keyed is a row with its key, for sorting and output.
type keyed[V any] struct {
	Key string
	Row V
}

// sorted returns the rows, the other row last when it was used, ordered by
// less (which sees the keys too, for ties).
func (t *table[V]) sorted(less func(a, b *keyed[V]) bool) []keyed[V] {
	out := make([]keyed[V], 0, len(t.rows)+1)
	for k, v := range t.rows {
		out = append(out, keyed[V]{k, *v})
	}
	sort.Slice(out, func(i, j int) bool { return less(&out[i], &out[j]) })
	if t.folded > 0 {
		out = append(out, keyed[V]{OtherKey, t.other})
	}
	return out
}

// counter is the row of a table that only counts.
type counter struct{ n uint64 }

// byCount orders counter rows by count, then key.
func byCount(a, b *keyed[counter]) bool {
	if a.Row.n != b.Row.n {
		return a.Row.n > b.Row.n
	}
	return a.Key < b.Key
}
