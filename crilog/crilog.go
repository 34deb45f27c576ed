// Package crilog writes and reads container logs in the CRI log format,
// the format containerd and CRI-O write and the kubelet reads: one entry a
// line,
//
//	2016-10-06T00:17:09.669794202Z stdout F log content
//
// an RFC 3339 timestamp with nanoseconds (UTC here), the stream (stdout or
// stderr), a tag (F for an entry that ends a line, P for part of a longer
// one) and the content. A line longer than MaxLineSize bytes is split as
// containerd splits it: P entries of exactly MaxLineSize bytes, then an F
// entry with the rest; output that ends without a newline ends with a P
// entry. "\r\n" ends a line as "\n" does.
//
// A Writer keeps one log file and rotates it by size and count, as the
// kubelet does (defaults 10 MiB and 5 files): path, path.1 (the newest
// rotated), ..., path.N-1. Files lists them oldest first, and Copy reads
// them back as the container printed them: the last lines, those since a
// time, with or without timestamps, following new output as it comes.
package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream is the stream an entry was printed on.
type Stream string

// Streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// MaxLineSize is the longest entry content: a longer line is split, as
// containerd's default max_container_log_line_size splits it.
const MaxLineSize = 16 * 1024

// Tags of an entry.
const (
	tagFull    = "F"
	tagPartial = "P"
)

// timeFormat is how entries' timestamps are written: RFC 3339 with
// nanoseconds, as containerd writes them.
const timeFormat = time.RFC3339Nano

// Entry is one line of a CRI log file.
type Entry struct {
	Time   time.Time
	Stream Stream
	// Partial reports a P entry: the container's line goes on in the next
	// entry of the same stream.
	Partial bool
	// Content is what the container printed, without the newline.
	Content []byte
}

// ErrFormat is the class of Parse's errors.
var ErrFormat = errors.New("not a CRI log entry")

// Parse parses one entry, without or with its trailing newline. Content
// refers to line's memory.
func Parse(line []byte) (Entry, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	var e Entry
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return e, fmt.Errorf("%w: no timestamp", ErrFormat)
	}
	t, err := time.Parse(timeFormat, string(ts))
	if err != nil {
		return e, fmt.Errorf("%w: timestamp %q", ErrFormat, ts)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (Stream(stream) != Stdout && Stream(stream) != Stderr) {
		return e, fmt.Errorf("%w: stream %q", ErrFormat, stream)
	}
	tags, content, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return e, fmt.Errorf("%w: no tag", ErrFormat)
	}
	// The tag field may carry more tags after a colon; the first counts.
	tag, _, _ := bytes.Cut(tags, []byte{':'})
	switch string(tag) {
	case tagFull, tagPartial:
	default:
		return e, fmt.Errorf("%w: tag %q", ErrFormat, tags)
	}
	return Entry{Time: t, Stream: Stream(stream), Partial: string(tag) == tagPartial, Content: content}, nil
}

// appendEntry appends the entry's line, newline included, to b.
func appendEntry(b []byte, t time.Time, s Stream, partial bool, content []byte) []byte {
	b = t.UTC().AppendFormat(b, timeFormat)
	b = append(b, ' ')
	b = append(b, s...)
	if partial {
		b = append(b, " "+tagPartial+" "...)
	} else {
		b = append(b, " "+tagFull+" "...)
	}
	b = append(b, content...)
	return append(b, '\n')
}
