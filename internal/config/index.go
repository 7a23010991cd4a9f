// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mailwatchd/mailwatchd/internal/confval"
)

func confvalDuration(d time.Duration) confval.Duration { return confval.Duration(d) }

// index maps YAML paths to lines, and lines back to paths, so that decode
// errors (which know only a line) and validation errors (which know only a
// path) can both be reported with the other half.
type index struct {
	lineOf map[string]int     // "collectors.filesystem.paths[1]" -> 12
	keyAt  map[lineKey]string // (12, "pathz") -> "collectors.filesystem.pathz"
	pathAt map[int]string     // 12 -> the deepest path starting on line 12

	// The walk follows aliases, so a small file can name an exponential
	// number of nodes (the "billion laughs" alias bomb). nodes and pathBytes
	// count what the walk visited and stored; past maxNodes or maxPathBytes
	// it stops and tooBig is set, and the file is refused before the
	// decoder (which expands aliases too) ever sees it.
	nodes, pathBytes int
	tooBig           bool
}

// Limits of one configuration file. A real configuration has a few hundred
// nodes (config.example.yaml: about 400) and a few kilobytes of paths; these
// bounds are two orders of magnitude above that, and keep the memory a
// hostile file can make mailwatchd spend, at start or on a reload, to a few
// MiB.
const (
	maxConfigBytes = 1 << 20  // the file itself
	maxNodes       = 50_000   // nodes visited, aliases expanded
	maxPathBytes   = 16 << 20 // bytes of YAML paths indexed, aliases expanded
)

type lineKey struct {
	line int
	key  string
}

func newIndex() *index {
	return &index{lineOf: map[string]int{}, keyAt: map[lineKey]string{}, pathAt: map[int]string{}}
}

func (x *index) add(path string, line int) {
	x.pathBytes += len(path)
	if x.pathBytes > maxPathBytes {
		x.tooBig = true
	}
	if _, ok := x.lineOf[path]; !ok {
		x.lineOf[path] = line
	}
	x.pathAt[line] = path
}

func (x *index) walk(n *yaml.Node, path string) {
	if x.tooBig {
		return
	}
	x.nodes++
	if x.nodes > maxNodes {
		x.tooBig = true
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			x.walk(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			x.add(p, k.Line)
			x.keyAt[lineKey{k.Line, k.Value}] = p
			x.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			x.add(p, c.Line)
			x.walk(c, p)
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			x.walk(n.Alias, path)
		}
	}
}

var (
	lineRe     = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownRe  = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	cannotRe   = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
	syntaxLine = regexp.MustCompile(`line (\d+)`)
)

// typeProblem turns one message of a yaml.TypeError into a Problem.
func (x *index) typeProblem(msg string) Problem {
	m := lineRe.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Msg: msg}
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	if u := unknownRe.FindStringSubmatch(text); u != nil {
		path := x.keyAt[lineKey{line, u[1]}]
		if path == "" {
			path = u[1]
		}
		return Problem{Path: path, Line: line, Msg: "unknown key " + strconv.Quote(u[1])}
	}
	if c := cannotRe.FindStringSubmatch(text); c != nil {
		text = "expected " + goTypeWord(c[3]) + ", got " + yamlTag(c[1]) + " " + strconv.Quote(c[2])
	}
	return Problem{Path: x.pathAt[line], Line: line, Msg: text}
}

// fieldProblem adds the line to a validation error.
func (x *index) fieldProblem(err error) Problem {
	var fe *confval.FieldError
	if !errors.As(err, &fe) {
		return Problem{Msg: err.Error()}
	}
	p := Problem{Path: fe.Path, Msg: fe.Msg}
	// The key may be absent (a default failed validation): use the nearest
	// enclosing key that is in the file.
	for path := fe.Path; path != ""; path = parentPath(path) {
		if l, ok := x.lineOf[path]; ok {
			p.Line = l
			break
		}
	}
	return p
}

func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

func syntaxProblem(err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{Msg: msg}
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
	}
	return p
}

func goTypeWord(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case t == "int" || t == "int64" || t == "uint" || t == "float64":
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	}
	return "a mapping"
}

func yamlTag(tag string) string {
	switch tag {
	case "str":
		return "string"
	case "seq":
		return "list"
	case "map":
		return "mapping"
	}
	return tag
}
