// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// parseBundle returns the certificates of a PEM bundle in file order: the
// first is the leaf, as in certbot's fullchain.pem, Postfix's chain files
// (key, leaf, intermediates) and Dovecot's ssl_cert. Other blocks (keys,
// parameters) are skipped and their bytes wiped.
func parseBundle(data []byte) ([]*x509.Certificate, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty file")
	}
	var chain []*x509.Certificate
	var others []string
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			if len(others) < 4 && !slices.Contains(others, b.Type) {
				others = append(others, b.Type)
			}
			clear(b.Bytes)
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	switch {
	case len(chain) > 0:
		return chain, nil
	case len(others) > 0:
		return nil, fmt.Errorf("no certificate in the file, only %s", quote(strings.Join(others, ", ")))
	}
	return nil, errors.New("no PEM data")
}
