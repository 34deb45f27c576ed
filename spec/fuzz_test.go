package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/isoagent/isoagent/winpath"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic or hang,
// must either return specs or located errors, and what it accepts must be
// normalised and defaulted.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"../examples/specs/*.yaml", "../examples/bad/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(doc("mounts: [{hostPath: '\\\\?\\D:\\x', containerPath: 'c:/x'}]")))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("spec: {<<: [{image: x}], image: y}\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := Parse("fuzz.yaml", data)
		if err != nil {
			if cs != nil {
				t.Fatal("specs returned with an error")
			}
			errs := Errors(err)
			if len(errs) == 0 {
				t.Fatal("an error without problems")
			}
			for _, e := range errs {
				if e.File != "fuzz.yaml" || e.Message == "" {
					t.Fatalf("problem %#v is not located or says nothing", e)
				}
			}
			return
		}
		for _, c := range cs {
			if !dnsLabelRE.MatchString(c.Name()) || c.Spec.Image.IsZero() || c.Spec.RestartPolicy == "" || c.Spec.Network.Mode == "" {
				t.Fatalf("accepted spec is not valid and defaulted: %+v", c)
			}
			// Accepted paths and pipes are normalised: parsing them again
			// changes nothing.
			for _, m := range c.Spec.Mounts {
				for _, p := range []string{m.HostPath.String(), m.ContainerPath.String()} {
					if n, err := winpath.Parse(p); err != nil || n.String() != p {
						t.Fatalf("accepted path %q is not normalised: %v, %v", p, n, err)
					}
				}
			}
			for _, pp := range c.Spec.Pipes {
				for _, p := range []string{pp.HostPipe.String(), pp.ContainerPipe.String()} {
					if n, err := winpath.ParsePipe(p); err != nil || n.String() != p {
						t.Fatalf("accepted pipe %q is not normalised: %v, %v", p, n, err)
					}
				}
			}
		}
	})
}
