package spec

import (
	"bytes"
	"hash/fnv"
)

// contentSums stands for a file's content where the half-written-file
// rules need it, without keeping the content: its length and a hash of
// each of its beginnings that ends a line. A read cut short at a line end
// is told by them; one cut inside a line is told by where it ends (see
// holdCutLine). The sha256 of the whole content (cachedFile.sum) tells
// the content read again.
type contentSums struct {
	size int
	ends []uint64 // FNV-1a of data[:i+1], for each i where data[i] == '\n'
}

func sumContent(data []byte) contentSums {
	s := contentSums{size: len(data), ends: make([]uint64, 0, bytes.Count(data, []byte{'\n'}))}
	h := fnv.New64a()
	for rest := data; ; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		h.Write(rest[:i+1])
		s.ends = append(s.ends, h.Sum64())
		rest = rest[i+1:]
	}
	return s
}

// cutShort reports whether data is a beginning of the content, shorter
// than it, that ends a line.
func (s contentSums) cutShort(data []byte) bool {
	if len(data) == 0 || len(data) >= s.size || data[len(data)-1] != '\n' {
		return false
	}
	lines := bytes.Count(data, []byte{'\n'})
	if lines > len(s.ends) {
		return false
	}
	h := fnv.New64a()
	h.Write(data)
	return h.Sum64() == s.ends[lines-1]
}
