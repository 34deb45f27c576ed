package winpath

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseAcceptsAndNormalises(t *testing.T) {
	tests := []struct {
		in        string
		want      string
		unc       bool
		driveRoot bool
		volume    string
	}{
		{`C:\data`, `C:\data`, false, false, "C:"},
		{`c:\data`, `C:\data`, false, false, "C:"},
		{`C:/data/web`, `C:\data\web`, false, false, "C:"},
		{`C:\data\`, `C:\data`, false, false, "C:"},
		{`C:\\data\\\web`, `C:\data\web`, false, false, "C:"},
		{`C:/data\mixed/slashes`, `C:\data\mixed\slashes`, false, false, "C:"},
		{`C:\`, `C:\`, false, true, "C:"},
		{`d:/`, `D:\`, false, true, "D:"},
		{`Z:\Program Files\App`, `Z:\Program Files\App`, false, false, "Z:"},
		{`C:\.hidden`, `C:\.hidden`, false, false, "C:"},
		{`C:\data\...x`, `C:\data\...x`, false, false, "C:"},
		{`C:\data\file.tar.gz`, `C:\data\file.tar.gz`, false, false, "C:"},
		{`C:\CONSOLE`, `C:\CONSOLE`, false, false, "C:"},
		{`C:\COM10`, `C:\COM10`, false, false, "C:"},
		{`C:\LPT`, `C:\LPT`, false, false, "C:"},
		{`C:\nullable.txt`, `C:\nullable.txt`, false, false, "C:"},
		{`C:\ leading space`, `C:\ leading space`, false, false, "C:"},
		{`C:\données\日本`, `C:\données\日本`, false, false, "C:"},
		{`\\?\C:\data`, `C:\data`, false, false, "C:"},
		{`\\?\c:\`, `C:\`, false, true, "C:"},
		{`//?/C:/data`, `C:\data`, false, false, "C:"},
		{`\\server\share`, `\\server\share`, true, false, `\\server\share`},
		{`\\server\share\dir\file`, `\\server\share\dir\file`, true, false, `\\server\share`},
		{`//fs01/share/data/`, `\\fs01\share\data`, true, false, `\\fs01\share`},
		{`\\?\UNC\server\share\x`, `\\server\share\x`, true, false, `\\server\share`},
		{`\\?\unc\server\share`, `\\server\share`, true, false, `\\server\share`},
		{`\\10.0.0.5\d$\logs`, `\\10.0.0.5\d$\logs`, true, false, `\\10.0.0.5\d$`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if p.String() != tt.want {
				t.Errorf("String() = %q, want %q", p, tt.want)
			}
			if p.IsUNC() != tt.unc {
				t.Errorf("IsUNC() = %v, want %v", p.IsUNC(), tt.unc)
			}
			if p.IsDriveRoot() != tt.driveRoot {
				t.Errorf("IsDriveRoot() = %v, want %v", p.IsDriveRoot(), tt.driveRoot)
			}
			if p.Volume() != tt.volume {
				t.Errorf("Volume() = %q, want %q", p.Volume(), tt.volume)
			}
			// Normalising is idempotent.
			again, err := Parse(p.String())
			if err != nil || again != p {
				t.Errorf("Parse(%q) = %v, %v; want it unchanged", p, again, err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg string
	}{
		{``, "empty"},
		{`data`, "relative"},
		{`.\data`, "relative"},
		{`..\data`, "relative"},
		{`data\sub`, "relative"},
		{`C:`, "relative to the current folder of drive C:"},
		{`C:foo`, `C:\foo`},
		{`c:foo\bar`, "relative to the current folder"},
		{`\data`, "relative to the current drive"},
		{`/data`, "relative to the current drive"},
		{`1:\data`, "drive letter"},
		{`:\data`, "relative"},
		{`C:\data\..\Windows`, `".."`},
		{`C:\..`, `".."`},
		{`C:/data/../../x`, `".."`},
		{`C:\data\.\x`, `"."`},
		{`C:\.`, `"."`},
		{`\\?\C:\data\..\x`, `".."`},
		{`\\server\share\..\other`, `".."`},
		{`C:\data.`, "dot or space"},
		{`C:\data.\x`, "dot or space"},
		{`C:\data \x`, "dot or space"},
		{`C:\data...`, "dot or space"},
		{`C:\...`, "dot or space"},
		{`C:\ `, "dot or space"},
		{`C:\CON`, "reserved"},
		{`C:\con`, "reserved"},
		{`C:\data\NUL.txt`, "reserved"},
		{`C:\nul.tar.gz`, "reserved"},
		{`C:\Nul .txt`, "reserved"},
		{`C:\PRN`, "reserved"},
		{`C:\aux\x`, "reserved"},
		{`C:\COM1`, "reserved"},
		{`C:\com9.log`, "reserved"},
		{`C:\COM0`, "reserved"},
		{`C:\LPT1`, "reserved"},
		{`C:\lpt9\x`, "reserved"},
		{`C:\COM¹`, "reserved"},
		{`C:\LPT³.txt`, "reserved"},
		{`C:\CONIN$`, "reserved"},
		{`C:\conout$.x`, "reserved"},
		{`\\server\NUL`, "reserved"},
		{`C:\da<ta`, "does not allow"},
		{`C:\data:stream`, "does not allow"},
		{`C:\what?`, "does not allow"},
		{`C:\star*`, "does not allow"},
		{`C:\a"b`, "does not allow"},
		{`C:\a|b`, "does not allow"},
		{"C:\\tab\there", "control character"},
		{"C:\\nul\x00byte", "control character"},
		{`\\.\C:`, "device path"},
		{`\\.\C:\data`, "device path"},
		{`//./C:/data`, "device path"},
		{`\\.\PhysicalDrive0`, "device path"},
		{`\\.`, "device path"},
		{`\\?`, "device path"},
		{`\\.\pipe\x`, "named pipe"},
		{`\\?\Volume{1b3b1146-4076-11e1-84aa-806e6f6e6963}\data`, "volume by GUID"},
		{`\\?\GLOBALROOT\Device\HarddiskVolume1`, "GLOBALROOT"},
		{`\\?\globalroot\x`, "GLOBALROOT"},
		{`\\?\C:`, "device path"},
		{`\\?\C:data`, "device path"},
		{`\??\C:\data`, "NT object path"},
		{`\\?\pipe\x`, "device path"},
		{`\\server`, "no share"},
		{`\\server\`, "no share"},
		{`\\`, "no server"},
		{`\\\share`, "no server"},
		{`\\host\pipe\x`, "another machine"},
		{`\\se:rver\share`, "server name"},
		{`\\server\sh*re`, "does not allow"},
		{"C:\\\xff", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want an error", tt.in, p)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Parse(%q) error %q, want it to mention %q", tt.in, err, tt.wantMsg)
			}
		})
	}
}

// TestParseErrorsSayHowToFix pins the promise that messages give the fix,
// quoting the path as written.
func TestParseErrorsSayHowToFix(t *testing.T) {
	tests := []struct{ in, want string }{
		{`data`, `path 'data' is relative; write an absolute Windows path such as C:\data`},
		{`C:foo`, `path 'C:foo' is relative to the current folder of drive C:; write an absolute path such as C:\foo`},
		{`\data`, `path '\data' is relative to the current drive; start it with a drive letter, such as C:\data`},
		{`C:\x\..\y`, `path 'C:\x\..\y' contains a ".." component; write the path without it (it is rejected, not resolved)`},
		{`\\server`, `UNC path '\\server' has no share; write it as \\server\share\folder`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestEqualIgnoresCaseAndSpelling(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`C:\Data`, `c:\data`, true},
		{`C:\data\`, `C:/data`, true},
		{`\\?\C:\data`, `C:\DATA`, true},
		{`\\FS01\Share\x`, `\\fs01\share\X`, true},
		{`\\?\UNC\fs01\share`, `//FS01/SHARE`, true},
		{`C:\données`, `C:\DONNÉES`, true},
		{`C:\data`, `D:\data`, false},
		{`C:\data`, `C:\data2`, false},
		{`C:\k`, "C:\\\u212a", false}, // Kelvin sign: NTFS does not fold it to K
		{`\\c\data`, `C:\data`, false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			if got := Equal(MustParse(tt.a), MustParse(tt.b)); got != tt.want {
				t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestHasPrefixOnComponentBoundaries(t *testing.T) {
	tests := []struct {
		p, prefix string
		want      bool
	}{
		{`D:\data\web`, `D:\data`, true},
		{`D:\data\web`, `d:\DATA`, true},
		{`D:\data`, `D:\data`, true},
		{`D:\data\web`, `D:\`, true},
		{`D:\database`, `D:\data`, false},
		{`D:\dat`, `D:\data`, false},
		{`D:\data`, `D:\data\web`, false},
		{`E:\data\web`, `D:\data`, false},
		{`D:\`, `D:\`, true},
		{`\\fs01\share\x\y`, `\\fs01\share`, true},
		{`\\fs01\share\x\y`, `\\FS01\SHARE\X`, true},
		{`\\fs01\share2\x`, `\\fs01\share`, false},
		{`\\fs01\share\x`, `D:\`, false},
		{`D:\x`, `\\fs01\share`, false},
	}
	for _, tt := range tests {
		t.Run(tt.p+" under "+tt.prefix, func(t *testing.T) {
			if got := HasPrefix(MustParse(tt.p), MustParse(tt.prefix)); got != tt.want {
				t.Errorf("HasPrefix(%q, %q) = %v, want %v", tt.p, tt.prefix, got, tt.want)
			}
		})
	}
	if HasPrefix(MustParse(`C:\x`), Path{}) || HasPrefix(Path{}, MustParse(`C:\`)) {
		t.Error("HasPrefix with a zero Path = true, want false")
	}
}

func TestElems(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`C:\`, nil},
		{`C:\a\b`, []string{"a", "b"}},
		{`\\s\share`, nil},
		{`\\s\share\a`, []string{"a"}},
	}
	for _, tt := range tests {
		got := MustParse(tt.in).Elems()
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("Elems(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if MustParse(tt.in).IsRoot() != (len(tt.want) == 0) {
			t.Errorf("IsRoot(%q) = %v", tt.in, !(len(tt.want) == 0))
		}
	}
}

func TestPathTextRoundTrip(t *testing.T) {
	var p Path
	if err := p.UnmarshalText([]byte(`d:/data/`)); err != nil {
		t.Fatal(err)
	}
	b, _ := p.MarshalText()
	if string(b) != `D:\data` {
		t.Errorf("MarshalText = %q, want D:\\data", b)
	}
	if err := p.UnmarshalText([]byte(`C:foo`)); err == nil {
		t.Error("UnmarshalText(C:foo) succeeded, want an error")
	}
}

// TestZeroValuesRoundTrip: configs and state files hold zero paths (a
// mount's ResolvedPath) and write them as empty text, which must read back
// as the zero value, not fail the whole file.
func TestZeroValuesRoundTrip(t *testing.T) {
	var v struct {
		Path Path
		Pipe Pipe
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) != `{"Path":"","Pipe":""}` {
		t.Fatalf("json.Marshal of zero values = %s, %v", b, err)
	}
	v.Path, v.Pipe = MustParse(`D:\x`), MustParsePipe(`\\.\pipe\x`)
	if err := json.Unmarshal(b, &v); err != nil || !v.Path.IsZero() || !v.Pipe.IsZero() {
		t.Errorf("json.Unmarshal(%s) = %+v, %v; want zero values", b, v, err)
	}
}

func TestQuoteShowsPathsAsWritten(t *testing.T) {
	tests := []struct{ in, want string }{
		{`C:\data`, `'C:\data'`},
		{`it's`, `"it's"`},
		{"a\tb", `"a\tb"`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
