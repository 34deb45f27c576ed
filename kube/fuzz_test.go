package kube_test

import (
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// FuzzHostPathSound: whatever a hostPath volume says, the cluster admits
// it only when the agent would map it: winpath reads it, and the Checker
// allows that folder (or pipe). A path in winpath's normal form that the
// agent allows is admitted too, so that the exported manifests pass.
func FuzzHostPathSound(f *testing.F) {
	for _, s := range []string{`D:\data\x`, `d:/DATA/x`, `D:\database`, `D:\sites\web`, `\\?\D:\data\x`, `D:\data\..\x`,
		`D:\data\x.`, `D:\data\nul`, `C:\`, `C:\Windows`, `C:\Users\bob`, `C:\ProgramData\docker\x`, `C:\PROGRA~1`,
		`\\fs01\share\x`, `\\fs01\C$\x`, `\\.\pipe\metrics-a`, `//./PIPE/docker_engine`, `\\.\pipe\kube-x`, `\\.\pipe\a\b`, `\\.\pipe\lsass.`, `\\.\pipe\docker_engine `, `\\.\pipe\...`, `\\.\pipe\..`,
		`\\.\PhysicalDrive0`, `D:\data\x:y`, "D:\\data\\\u017f", `D:\data\\x`, `D:`, `\\fs01`, `\\fs01\share\`} {
		f.Add(s, false)
		f.Add(s, true)
	}
	p, err := policy.Parse("policy.yaml", []byte(basePolicy))
	if err != nil {
		f.Fatal(err)
	}
	pc, err := policy.NewChecker(p)
	if err != nil {
		f.Fatal(err)
	}
	c := &spec.Container{Metadata: spec.Metadata{Name: "web-1"}}
	c.Spec.Image = imageref.MustParse("mcr.microsoft.com/windows/nanoserver:ltsc2022")
	specs, err := spec.Parse("s.yaml", []byte(specYAML("web-1", `mounts: [{hostPath: 'D:\data\x', containerPath: 'C:\d'}]`)))
	if err != nil {
		f.Fatal(err)
	}
	objs, v := exportVAP(f, specs, p)
	f.Fuzz(func(t *testing.T, s string, readOnly bool) {
		d := workloadCopy(t, objs[0].Object)
		d.Spec.Template.Spec.Volumes[0].HostPath.Path = s
		d.Spec.Template.Spec.Containers[0].VolumeMounts[0].ReadOnly = readOnly
		admitted := len(v.admitUnstructured(t, toUnstructured(t, d))) == 0
		cfg := driver.Config{Name: "web-1", Isolation: driver.Process, Image: c.Spec.Image}
		normal := false
		if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(s, "/", `\`)), `\\.\pipe\`) {
			pipe, err := winpath.ParsePipe(s)
			if err != nil {
				if admitted {
					t.Fatalf("the cluster admits pipe %q, which the agent cannot read: %v", s, err)
				}
				return
			}
			cfg.Pipes = []driver.Pipe{{HostPipe: pipe, ContainerPipe: pipe}}
			normal = pipe.String() == s
		} else {
			hp, err := winpath.Parse(s)
			if err != nil {
				if admitted {
					t.Fatalf("the cluster admits host path %q, which the agent cannot read: %v", s, err)
				}
				return
			}
			cfg.Mounts = []driver.Mount{{HostPath: hp, ContainerPath: winpath.MustParse(`C:\d`), ReadOnly: readOnly}}
			normal = hp.String() == s
		}
		vs := pc.Check(c, cfg, policy.Leads{})
		if admitted && len(vs) > 0 {
			t.Fatalf("the cluster admits %q (readOnly %v), which the agent refuses: %v", s, readOnly, vs)
		}
		ascii := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e }) < 0
		if normal && ascii && len(vs) == 0 && !admitted {
			t.Fatalf("the cluster refuses %q (readOnly %v), in normal form, which the agent allows", s, readOnly)
		}
	})
}
