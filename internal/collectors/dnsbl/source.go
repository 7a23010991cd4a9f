// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package dnsbl

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/mailwatchd/mailwatchd/internal/collectors/internal/dnsclient"
)

// Resolver answers DNS queries. Query must return promptly once ctx is done
// and may be called concurrently; *dnsclient.Client implements it.
type Resolver interface {
	Query(ctx context.Context, name string, qtype uint16) (*dnsclient.Response, error)
}

// ifinet6 is where Linux lists IPv6 addresses with their flags.
const ifinet6 = "/proc/net/if_inet6"

// IPv6 address flags of if_inet6 (linux/if_addr.h) that make an address
// unfit as a sender identity: temporary (privacy) addresses rotate and
// would churn series; deprecated/tentative/failed ones are not used.
const (
	ifaTemporary  = 0x01
	ifaDadFailed  = 0x08
	ifaDeprecated = 0x20
	ifaTentative  = 0x40
	ifaSkip       = ifaTemporary | ifaDadFailed | ifaDeprecated | ifaTentative
)

// hostAddresses lists the public addresses of the host's interfaces,
// sorted, at most maxAutoAddresses.
func hostAddresses() ([]netip.Addr, error) {
	ifas, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list interface addresses: %w", err)
	}
	skip, _ := skippedIPv6(ifinet6) // without the file, flags are unknown: keep all
	var out []netip.Addr
	for _, ifa := range ifas {
		pfx, err := netip.ParsePrefix(ifa.String())
		if err != nil {
			continue
		}
		a := pfx.Addr().Unmap()
		if isPublic(a) && !skip[a] && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y netip.Addr) int { return x.Compare(y) })
	if len(out) > maxAutoAddresses {
		out = out[:maxAutoAddresses]
	}
	return out, nil
}

// skippedIPv6 reads if_inet6 ("addr32hex ifindex prefixlen scope flags
// name" per line) and returns the addresses whose flags disqualify them.
func skippedIPv6(path string) (map[netip.Addr]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[netip.Addr]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || len(fields[0]) != 32 {
			continue
		}
		raw, err := hex.DecodeString(fields[0])
		if err != nil {
			continue
		}
		flags, err := strconv.ParseUint(fields[4], 16, 32)
		if err != nil {
			continue
		}
		if flags&ifaSkip != 0 {
			out[netip.AddrFrom16([16]byte(raw))] = true
		}
	}
	return out, sc.Err()
}
