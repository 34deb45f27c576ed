package winpath

import (
	"strings"
	"testing"
)

func TestParsePipeAcceptsAndNormalises(t *testing.T) {
	tests := []struct{ in, want, name string }{
		{`\\.\pipe\metrics`, `\\.\pipe\metrics`, "metrics"},
		{`//./pipe/metrics`, `\\.\pipe\metrics`, "metrics"},
		{`\\.\PIPE\Metrics-App`, `\\.\pipe\Metrics-App`, "Metrics-App"},
		{`\/.\Pipe/x.y_z`, `\\.\pipe\x.y_z`, "x.y_z"},
		{`\\.\pipe\docker_engine`, `\\.\pipe\docker_engine`, "docker_engine"},
		{`\\.\pipe\with space`, `\\.\pipe\with space`, "with space"},
		{`\\.\pipe\` + strings.Repeat("p", 247), `\\.\pipe\` + strings.Repeat("p", 247), strings.Repeat("p", 247)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePipe(tt.in)
			if err != nil {
				t.Fatalf("ParsePipe(%q): %v", tt.in, err)
			}
			if p.String() != tt.want || p.Name() != tt.name {
				t.Errorf("ParsePipe(%q) = %q (name %q), want %q (name %q)", tt.in, p, p.Name(), tt.want, tt.name)
			}
		})
	}
}

func TestParsePipeRejects(t *testing.T) {
	tests := []struct{ in, wantMsg string }{
		{``, `such as \\.\pipe\metrics`},
		{`metrics`, `such as \\.\pipe\metrics`},
		{`pipe\metrics`, "local named pipe"},
		{`C:\pipe\metrics`, "local named pipe"},
		{`\\.\pipe\`, "empty name"},
		{`//./pipe/`, "empty name"},
		{`\\.\pipe`, "not a named pipe"},
		{`\\.\C:\x`, "not a named pipe"},
		{`\\.\mailslot\x`, "not a named pipe"},
		{`\\host\pipe\x`, "another machine (host)"},
		{`//build-01/pipe/docker_engine`, "another machine"},
		{`\\?\pipe\x`, `write it as \\.\pipe\x`},
		{`\\.\pipe\a\b`, "must not contain a slash"},
		{`\\.\pipe\a/b`, "must not contain a slash"},
		{"\\\\.\\pipe\\bad\x01", "control character"},
		{`\\.\pipe\` + strings.Repeat("p", 248), "Windows allows 256"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePipe(tt.in)
			if err == nil {
				t.Fatalf("ParsePipe(%q) = %q, want an error", tt.in, p)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ParsePipe(%q) error %q, want it to mention %q", tt.in, err, tt.wantMsg)
			}
		})
	}
}

func TestPipeEqualIgnoresCase(t *testing.T) {
	a, _ := ParsePipe(`\\.\pipe\Metrics`)
	b, _ := ParsePipe(`//./PIPE/metrics`)
	c, _ := ParsePipe(`\\.\pipe\metrics2`)
	if !a.Equal(b) {
		t.Errorf("%s and %s are the same pipe", a, b)
	}
	if a.Equal(c) {
		t.Errorf("%s and %s are different pipes", a, c)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`C:\data`, `\\?\C:\x`, `\\s\share\x`, `\\?\UNC\s\sh`, `C:foo`, `C:\NUL.txt`, `\\.\pipe\x`, `//./pipe/x`, `C:\a\..\b`, "\\\\?\\Volume{x}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err == nil {
			// A parsed path is normalised and parses to itself.
			again, err := Parse(p.String())
			if err != nil || again != p {
				t.Fatalf("Parse(%q) = %q, which reparses to %q, %v", s, p, again, err)
			}
			if !Equal(p, again) || !HasPrefix(p, p) {
				t.Fatalf("%q is not equal to or under itself", p)
			}
			if strings.Contains(p.String(), "/") {
				t.Fatalf("Parse(%q) = %q still has a forward slash", s, p)
			}
		}
		q, err := ParsePipe(s)
		if err == nil {
			again, err := ParsePipe(q.String())
			if err != nil || again != q {
				t.Fatalf("ParsePipe(%q) = %q, which reparses to %q, %v", s, q, again, err)
			}
		}
	})
}
