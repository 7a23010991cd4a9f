// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"bufio"
	"context"
	"crypto"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

// Resolver answers DNS queries. Query must return promptly once ctx is done
// and may be called concurrently; *dnsclient.Client implements it.
type Resolver interface {
	Query(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, error)
}

// maxKeyFile bounds what is read of a key file or key table.
const maxKeyFile = 1 << 20

// LoadLocalKey reads the key a DKIM record must publish from an OpenDKIM
// key file: the private key (PEM: PKCS#1 "RSA PRIVATE KEY" or PKCS#8
// "PRIVATE KEY", RSA or Ed25519), a "PUBLIC KEY" PEM, or the .txt record
// file opendkim-genkey writes next to it (zone-file syntax, quoted strings).
func LoadLocalKey(path string) (crypto.PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read local key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile))
	if err != nil {
		return nil, fmt.Errorf("read local key: %w", err)
	}
	return parseLocalKey(data)
}

// keyTableEntry is one line of an OpenDKIM KeyTable.
type keyTableEntry struct {
	domain, selector, key string // key: a file path, or the key itself
}

// readKeyTable parses an OpenDKIM KeyTable (opendkim.conf(5), KeyTable):
// "keyname domain:selector:keypath" per line, "#" comments.
func readKeyTable(path string) ([]keyTableEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key table: %w", err)
	}
	defer f.Close()
	var out []keyTableEntry
	sc := bufio.NewScanner(io.LimitReader(f, maxKeyFile))
	sc.Buffer(make([]byte, 64*1024), maxKeyFile)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		parts := strings.SplitN(fields[1], ":", 3)
		if len(parts) != 3 {
			continue
		}
		out = append(out, keyTableEntry{domain: strings.ToLower(parts[0]), selector: parts[1], key: parts[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read key table: %w", err)
	}
	return out, nil
}
