// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package maildns

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// minRSABits: RFC 8301 section 3.2, verifiers must not accept smaller keys.
const minRSABits = 1024

// DKIMKey is a parsed DKIM key record (RFC 6376 section 3.6.1).
type DKIMKey struct {
	Type   string // rsa or ed25519
	Public crypto.PublicKey
}

// ParseDKIMKey checks a DKIM key record: v=DKIM1 first when present, a
// known k=, and a p= that decodes to a key of that type (an empty p= means
// the key was revoked). RSA keys below 1024 bits are refused.
func ParseDKIMKey(txt string) (*DKIMKey, error) {
	tags, err := tagList(txt)
	if err != nil {
		return nil, err
	}
	first, _, _ := strings.Cut(txt, "=")
	if v, ok := tags["v"]; ok && (v != "DKIM1" || strings.TrimSpace(first) != "v") {
		return nil, errors.New(`v= must be "DKIM1" and the first tag`)
	}
	k := strings.ToLower(tags["k"])
	if k == "" {
		k = "rsa"
	}
	p, ok := tags["p"]
	switch {
	case !ok:
		return nil, errors.New("no p= key")
	case p == "":
		return nil, errors.New("empty p=: the key is revoked")
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("p= is not base64: %w", err)
	}
	switch k {
	case "rsa":
		pub, err := parseRSAPublic(der)
		if err != nil {
			return nil, err
		}
		return &DKIMKey{Type: k, Public: pub}, nil
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("ed25519 key is %d bytes, want %d", len(der), ed25519.PublicKeySize)
		}
		return &DKIMKey{Type: k, Public: ed25519.PublicKey(der)}, nil
	default:
		return nil, fmt.Errorf("unknown key type k=%s", k)
	}
}

// parseRSAPublic reads SubjectPublicKeyInfo (what RFC 6376 specifies) or,
// as some generators emit, a bare PKCS#1 RSAPublicKey.
func parseRSAPublic(der []byte) (*rsa.PublicKey, error) {
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("k=rsa but p= holds a %T", k)
		}
		pub = rk
	} else if rk, err2 := x509.ParsePKCS1PublicKey(der); err2 == nil {
		pub = rk
	} else {
		return nil, fmt.Errorf("p= is not an RSA public key: %w", err)
	}
	if bits := pub.N.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("RSA key has %d bits, fewer than %d", bits, minRSABits)
	}
	return pub, nil
}

// tagList parses "tag=value; tag=value" (RFC 6376 section 3.2), removing
// folding white space inside values (base64 keys are often split).
func tagList(txt string) (map[string]string, error) {
	tags := map[string]string{}
	for part := range strings.SplitSeq(txt, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not tag=value", strings.TrimSpace(part))
		}
		name = strings.TrimSpace(name)
		if !isTagName(name) {
			return nil, fmt.Errorf("%q is not a tag name", name)
		}
		if _, dup := tags[name]; dup {
			return nil, fmt.Errorf("tag %s appears twice", name)
		}
		tags[name] = strings.Join(strings.Fields(value), "")
	}
	return tags, nil
}

func parseLocalKey(data []byte) (crypto.PublicKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		return pemPublic(block)
	}
	if !bytes.Contains(data, []byte(`"`)) {
		// KeyTable may hold the key itself: base64 DER of the private key.
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
		if err != nil {
			return nil, errors.New("local key is neither PEM, nor a DKIM record file, nor base64 DER")
		}
		return pemPublic(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	k, err := ParseDKIMKey(quotedStrings(string(data)))
	if err != nil {
		return nil, fmt.Errorf("local record file: %w", err)
	}
	return k.Public, nil
}

func pemPublic(block *pem.Block) (crypto.PublicKey, error) {
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("local key: %w", err)
		}
		return k.Public(), nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			if rk, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 == nil {
				return rk.Public(), nil
			}
			return nil, fmt.Errorf("local key: %w", err)
		}
		signer, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("local key: unsupported %T", k)
		}
		return signer.Public(), nil
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("local key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("local key: unsupported PEM block %q", block.Type)
	}
}

// quotedStrings concatenates the double-quoted strings of a zone-file
// snippet, ignoring ";" comments outside quotes.
func quotedStrings(s string) string {
	var out strings.Builder
	in, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && esc:
			out.WriteByte(c)
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in:
			out.WriteByte(c)
		case c == ';':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		}
	}
	return out.String()
}

// samePublicKey compares a published key with a local one.
func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}
