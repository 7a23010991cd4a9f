// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package collectors

import (
	"bytes"
	"context"
	"strings"
)

// DefaultSendmail is the sendmail of Postfix (and of every MTA's sendmail
// compatibility interface).
const DefaultSendmail = "/usr/sbin/sendmail"

// Sendmail pipes msg to `sendmail -t -i [args...]` (the recipients from the
// headers, a lone dot is no end of input) through Command: killed when ctx
// ends, its error quoting sendmail's last line of stderr. Postfix's
// sendmail(1) hands the message to postdrop, so the caller needs group
// postdrop (or root). The report mail and the round-trip probe both send
// this way.
func Sendmail(ctx context.Context, path string, msg []byte, args ...string) error {
	if path == "" {
		path = DefaultSendmail
	}
	all := append([]string{"-t", "-i"}, args...)
	_, err := Command{
		Path:      path,
		Args:      all,
		Name:      path + " " + strings.Join(all, " "),
		Stdin:     bytes.NewReader(msg),
		MaxOutput: 4096,
	}.Output(ctx)
	return err
}
