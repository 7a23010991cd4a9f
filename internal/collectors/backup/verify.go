// Copyright 2026 The mailwatchd Authors
// SPDX-License-Identifier: Apache-2.0

package backup

import (
	"archive/tar"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// formats are the archive formats verification understands.
var formats = []string{"tar.gz", "tar.bz2", "tar.xz", "tar.zst", "tar", "gz", "bz2", "xz", "zst"}

// suffixes map file name endings to formats, longest first.
var suffixes = []struct{ suffix, format string }{
	{".tar.gz", "tar.gz"}, {".tgz", "tar.gz"},
	{".tar.bz2", "tar.bz2"}, {".tbz2", "tar.bz2"}, {".tbz", "tar.bz2"},
	{".tar.xz", "tar.xz"}, {".txz", "tar.xz"},
	{".tar.zst", "tar.zst"}, {".tzst", "tar.zst"},
	{".tar", "tar"},
	{".gz", "gz"}, {".bz2", "bz2"}, {".xz", "xz"}, {".zst", "zst"},
}

func knownFormat(f string) bool { return slices.Contains(formats, f) }

// formatFromName tells the format by the name's ending, or "".
func formatFromName(name string) string {
	for _, s := range suffixes {
		if strings.HasSuffix(name, s.suffix) {
			return s.format
		}
	}
	return ""
}

// zstdMaxWindow is the largest zstd window accepted: 128 MiB, the limit
// the zstd tool itself applies when decompressing without --long or
// --memory. It bounds the memory of a verification.
const zstdMaxWindow = 128 << 20

// verifyStream reads an archive of the given format to its end: the
// compression stream must be intact (gzip and xz check a CRC, bzip2 a
// block CRC, zstd a checksum when the archive has one) and, for tar
// formats, every header must be readable and every entry's data present.
// It returns the number of tar entries (-1 for a bare compressed file).
func verifyStream(r io.Reader, format string) (int64, error) {
	compression, isTar := strings.CutPrefix(format, "tar")
	compression = strings.TrimPrefix(compression, ".")
	if !isTar {
		compression = format
	}
	var dec io.Reader
	switch compression {
	case "":
		dec = r
	case "gz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return 0, fmt.Errorf("gzip: %w", err)
		}
		dec = zr
	case "bz2":
		dec = bzip2.NewReader(r)
	case "xz":
		xr, err := xz.NewReader(r)
		if err != nil {
			return 0, fmt.Errorf("xz: %w", err)
		}
		dec = xr
	case "zst":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return 0, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		dec = zr
	default:
		return 0, fmt.Errorf("unknown format %q", format)
	}
	buf := make([]byte, 256<<10)
	entries := int64(-1)
	if isTar {
		entries = 0
		tr := tar.NewReader(dec)
		for {
			_, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return entries, fmt.Errorf("tar header after %d entries: %w", entries, err)
			}
			entries++
			if _, err := io.CopyBuffer(io.Discard, tr, buf); err != nil {
				return entries, fmt.Errorf("tar entry %d: %w", entries, err)
			}
		}
	}
	// Past the tar end marker, the rest of the stream: padding, and the
	// compression trailer whose checksum is only checked at its end.
	if _, err := io.CopyBuffer(io.Discard, onlyReader{dec}, buf); err != nil {
		return entries, fmt.Errorf("%s stream: %w", cmpName(compression), err)
	}
	return entries, nil
}

func cmpName(c string) string {
	if c == "" {
		return "tar"
	}
	return c
}

// onlyReader hides WriterTo, so that CopyBuffer uses the buffer given.
type onlyReader struct{ io.Reader }

// pacer reads at most rate bytes per second on average, honours ctx
// between reads, and hands out at most chunk bytes per read so that the
// waits are short and even.
type pacer struct {
	ctx   context.Context
	r     io.Reader
	rate  int64
	start time.Time
	read  int64
	now   func() time.Time
	wait  func(context.Context, time.Duration) error
}

const pacerChunk = 256 << 10

func (p *pacer) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	if len(b) > pacerChunk {
		b = b[:pacerChunk]
	}
	n, err := p.r.Read(b)
	p.read += int64(n)
	due := p.start.Add(time.Duration(float64(p.read) / float64(p.rate) * float64(time.Second)))
	if d := due.Sub(p.now()); d > 0 {
		if werr := p.wait(p.ctx, d); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
