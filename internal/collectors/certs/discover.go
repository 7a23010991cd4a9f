// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Discovery sources, the values of the source label.
const (
	sourcePostfix = "postfix"
	sourceDovecot = "dovecot"
)

// maxDiscovered bounds what one source may add; max_files caps the total.
const maxDiscovered = 64

// postfixCertParams are the main.cf parameters naming the files smtpd
// serves (postconf(5)); smtpd_tls_chain_files (Postfix 3.4+) is a list of
// files each holding a key and its chain.
var postfixCertParams = []string{"smtpd_tls_cert_file", "smtpd_tls_eccert_file", "smtpd_tls_dcert_file", "smtpd_tls_chain_files"}

// discoverPostfix asks postconf for the certificate files of main.cf and
// of master.cf's "-o" overrides (submission often has its own); -x expands
// $name references. errAbsent means Postfix is not installed.
func discoverPostfix(ctx context.Context, run runFunc, postconf string) ([]string, error) {
	if _, err := os.Stat(postconf); errors.Is(err, fs.ErrNotExist) {
		return nil, errAbsent
	}
	main, err := run(ctx, postconf, append([]string{"-x"}, postfixCertParams...)...)
	if err != nil {
		return nil, err
	}
	master, err := run(ctx, postconf, "-P", "-x")
	if err != nil {
		return nil, err
	}
	return parsePostconf(append(append(main, '\n'), master...)), nil
}

// parsePostconf picks the certificate files from "name = value" lines
// (postconf) and "service/type/name = value" lines (postconf -P).
func parsePostconf(out []byte) []string {
	var files []string
	for line := range strings.SplitSeq(string(out), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		if !slices.Contains(postfixCertParams, name) {
			continue
		}
		// Lists in Postfix are separated by commas and/or whitespace.
		for f := range strings.FieldsFuncSeq(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			files = addPath(files, f)
		}
	}
	return files
}

// addPath appends an absolute, not yet listed path, up to maxDiscovered.
func addPath(files []string, p string) []string {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) || len(files) >= maxDiscovered || slices.Contains(files, p) {
		return files
	}
	return append(files, p)
}

var errAbsent = errors.New("not installed")

// Limits of the Dovecot config walk.
const (
	maxIncludeDepth = 8
	maxConfigFiles  = 128
	maxConfigSize   = 1 << 20
)

// dovecotConf walks Dovecot's configuration for the certificate files it
// serves. doveconf would do this exactly, but it opens every "<file" value
// while parsing, including ssl_key, and fails without root; reading the
// text ourselves needs only the (world-readable) config files.
//
// Settings: ssl_cert and ssl_alt_cert = <file (2.3), ssl_server_cert_file
// and ssl_server_alt_cert_file = file, also written as cert_file inside an
// ssl_server { } block (2.4). At the top level the last assignment wins, as
// in Dovecot; inside sections (local_name, protocol, ...) each is another
// certificate served to some clients.
type dovecotConf struct {
	read    func(string) ([]byte, error)
	glob    func(string) ([]string, error)
	files   int
	global  map[string]string
	order   []string // global keys in order of first assignment
	section []string
}

func discoverDovecot(path string) ([]string, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, errAbsent
	}
	d := &dovecotConf{read: readConfigFile, glob: filepath.Glob, global: map[string]string{}}
	err := d.parseFile(path, 0, false)
	return d.result(), err
}

func (d *dovecotConf) result() []string {
	var files []string
	for _, k := range d.order {
		files = addPath(files, d.global[k])
	}
	for _, s := range d.section {
		files = addPath(files, s)
	}
	return files
}

func (d *dovecotConf) parseFile(path string, depth int, try bool) error {
	if d.files++; d.files > maxConfigFiles {
		return fmt.Errorf("more than %d config files included", maxConfigFiles)
	}
	data, err := d.read(path)
	if err != nil {
		if try && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return d.parse(path, data, depth)
}

// parse reads one file's settings; errors in included files are collected
// and the walk goes on, so one unreadable include loses only its part.
func (d *dovecotConf) parse(path string, data []byte, depth int) error {
	var errs []error
	var stack []string
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(stripComment(line))
		switch {
		case line == "":
		case strings.HasPrefix(line, "!include"):
			errs = append(errs, d.include(path, line, depth))
		case line == "}":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case strings.HasSuffix(line, "{"):
			name, _, _ := strings.Cut(strings.TrimSpace(strings.TrimSuffix(line, "{")), " ")
			stack = append(stack, name)
		default:
			key, value, ok := strings.Cut(line, "=")
			if ok {
				d.set(stack, strings.TrimSpace(key), strings.TrimSpace(value))
			}
		}
	}
	return errors.Join(errs...)
}

func (d *dovecotConf) include(from, line string, depth int) error {
	directive, pattern, _ := strings.Cut(line, " ")
	try := directive == "!include_try"
	if !try && directive != "!include" {
		return nil
	}
	pattern = unquote(strings.TrimSpace(pattern))
	if pattern == "" {
		return nil
	}
	if depth >= maxIncludeDepth {
		return fmt.Errorf("%s: includes nested deeper than %d", from, maxIncludeDepth)
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(from), pattern)
	}
	if !strings.ContainsAny(pattern, "*?[") {
		return d.parseFile(pattern, depth+1, try)
	}
	matches, err := d.glob(pattern)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	var errs []error
	for _, m := range matches { // sorted, as Dovecot includes them
		errs = append(errs, d.parseFile(m, depth+1, try))
	}
	return errors.Join(errs...)
}

// set records a certificate setting.
func (d *dovecotConf) set(stack []string, key, value string) {
	if len(stack) == 1 && stack[0] == "ssl_server" {
		stack, key = nil, "ssl_server_"+key // 2.4: ssl_server { cert_file = }
	}
	var file string
	value = unquote(value)
	switch key {
	case "ssl_cert", "ssl_alt_cert":
		// The value is "<path": the file's content is the setting.
		p, ok := strings.CutPrefix(value, "<")
		if !ok && value != "" {
			return
		}
		file = unquote(strings.TrimSpace(p))
	case "ssl_server_cert_file", "ssl_server_alt_cert_file":
		file = value
	default:
		return
	}
	if len(stack) > 0 {
		if file != "" && len(d.section) < maxDiscovered {
			d.section = append(d.section, file)
		}
		return
	}
	if _, ok := d.global[key]; !ok {
		d.order = append(d.order, key)
	}
	d.global[key] = file // an empty value unsets it
}

// stripComment drops a # comment that is not inside double quotes.
func stripComment(line string) string {
	inQuote := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			inQuote = !inQuote
		case '#':
			if !inQuote {
				return line[:i]
			}
		}
	}
	return line
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
