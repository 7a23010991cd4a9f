// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package roundtrip

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

// resolver answers DNS queries; *dnsclient.Client implements it.
type resolver interface {
	Query(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, error)
}

// maxSignatures bounds the DKIM signatures verified on one copy.
const maxSignatures = 5

// checkDKIM verifies the copy's DKIM signatures (go-msgauth's dkim, RFC
// 6376) with the keys from the collector's resolver, never the system's:
// it succeeds when a signature of domain verifies.
func checkDKIM(ctx context.Context, r resolver, msg []byte, domain string) error {
	lookup := func(name string) ([]string, error) {
		resp, err := r.Query(ctx, name, dns.TypeTXT)
		if err != nil {
			return nil, &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true, IsTimeout: errors.Is(err, context.DeadlineExceeded)}
		}
		switch resp.Rcode {
		case dns.RcodeSuccess:
			return resp.TXT(), nil
		case dns.RcodeNameError:
			return nil, &net.DNSError{Err: "no such name", Name: name, IsNotFound: true}
		default:
			return nil, &net.DNSError{Err: dns.RcodeToString[resp.Rcode], Name: name, IsTemporary: true}
		}
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: maxSignatures})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return fmt.Errorf("DKIM: %w", err)
	}
	if len(verifs) == 0 {
		return errors.New("DKIM: the delivered copy has no DKIM-Signature")
	}
	var problems []string
	for _, v := range verifs {
		if !strings.EqualFold(strings.TrimSuffix(v.Domain, "."), strings.TrimSuffix(domain, ".")) {
			problems = append(problems, "d="+v.Domain+" is not "+domain)
			continue
		}
		if v.Err == nil {
			return nil
		}
		problems = append(problems, "d="+v.Domain+": "+v.Err.Error())
	}
	return fmt.Errorf("DKIM: no valid signature of %s (%s)", domain, strings.Join(problems, "; "))
}

// hasHeader reports whether the copy's header block has the field name.
func hasHeader(msg []byte, name string) bool {
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(msg)))
	h, _ := tr.ReadMIMEHeader()
	_, ok := h[textproto.CanonicalMIMEHeaderKey(name)]
	return ok
}
