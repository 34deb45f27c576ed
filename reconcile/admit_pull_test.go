package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winbuild"
)

// answers is a RegistrySource with fixed answers (or errors) by reference,
// recording what it was asked.
type answers struct {
	by    map[string]RegistryAnswer
	errs  map[string]error
	asked []string
}

func (a *answers) Lookup(_ context.Context, ref imageref.Ref, fresh bool, _ driver.Host) (RegistryAnswer, error) {
	a.asked = append(a.asked, fmt.Sprintf("%s fresh=%v", ref, fresh))
	if err, ok := a.errs[ref.String()]; ok {
		return RegistryAnswer{}, err
	}
	if ans, ok := a.by[ref.String()]; ok {
		return ans, nil
	}
	return RegistryAnswer{}, fmt.Errorf("image %s: %w", ref, ErrLookupPending)
}

// hostImages is an ImageSource of images with digests.
type hostImages map[string]driver.Image

func (h hostImages) Image(_ context.Context, ref imageref.Ref) (driver.Image, error) {
	img, ok := h[ref.String()]
	if !ok {
		return driver.Image{}, fmt.Errorf("image %s: %w", ref, driver.ErrNotFound)
	}
	return img, nil
}

const appImage = "registry.example/app:ltsc2022"

var (
	digestA = "sha256:" + strings.Repeat("a", 64)
	digestB = "sha256:" + strings.Repeat("b", 64)
)

func withPolicy(p spec.PullPolicy) func(*spec.Spec) {
	return func(s *spec.Spec) { s.ImagePullPolicy = p; s.Isolation = spec.IsolationProcess }
}

// Admission asks the registry as the pull policy says and takes its
// answer's digest and build; the host's image answers otherwise.
func TestAdmissionAsksTheRegistryAsThePullPolicySays(t *testing.T) {
	onHost := hostImages{appImage: {OSVersion: osv(winbuild.LTSC2022), Digest: digestA}}
	moved := map[string]RegistryAnswer{appImage: {Digest: digestB, OSVersion: osv(winbuild.LTSC2022)}}
	tests := []struct {
		name       string
		policy     spec.PullPolicy
		host       hostImages
		answers    map[string]RegistryAnswer
		errs       map[string]error
		wantDigest string
		wantAsked  []string
		wantReason Reason // "" for admitted
		wantRetry  bool
		wantWarn   string
	}{
		{name: "IfNotPresent uses the host's image", policy: spec.PullIfNotPresent, host: onHost, answers: moved, wantDigest: digestA},
		{name: "IfNotPresent asks for an image the host lacks", policy: spec.PullIfNotPresent, answers: moved, wantDigest: digestB, wantAsked: []string{appImage + " fresh=false"}},
		{name: "Always takes the tag's new digest", policy: spec.PullAlways, host: onHost, answers: moved, wantDigest: digestB, wantAsked: []string{appImage + " fresh=true"}},
		{name: "Always runs the host's image until the registry answers", policy: spec.PullAlways, host: onHost, wantDigest: digestA, wantAsked: []string{appImage + " fresh=true"}},
		{name: "Always runs the host's image while the registry fails", policy: spec.PullAlways, host: onHost, errs: map[string]error{appImage: errors.New("registry down")},
			wantDigest: digestA, wantAsked: []string{appImage + " fresh=true"}, wantWarn: "registry down"},
		{name: "a spec waits for the first answer", policy: spec.PullIfNotPresent, wantAsked: []string{appImage + " fresh=false"}, wantReason: ReasonImagePull, wantRetry: true},
		{name: "a failing registry is a retried rejection", policy: spec.PullIfNotPresent, errs: map[string]error{appImage: errors.New("UNAUTHORIZED: authentication required")},
			wantAsked: []string{appImage + " fresh=false"}, wantReason: ReasonImagePull, wantRetry: true},
		{name: "Never refuses an image the host lacks", policy: spec.PullNever, answers: moved, wantReason: ReasonImagePull},
		{name: "Never uses the host's image", policy: spec.PullNever, host: onHost, answers: moved, wantDigest: digestA},
		{name: "no variant for the host is a version mismatch", policy: spec.PullIfNotPresent,
			errs:      map[string]error{appImage: fmt.Errorf("%w: image has Windows builds 26100 (ltsc2025), all newer than the host", ErrNoVariant)},
			wantAsked: []string{appImage + " fresh=false"}, wantReason: ReasonVersionMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &answers{by: tt.answers, errs: tt.errs}
			host := tt.host
			if host == nil {
				host = hostImages{}
			}
			d := Admit(context.Background(), server(winbuild.LTSC2022), host, []*spec.Container{ctr("app", appImage, withPolicy(tt.policy))},
				AdmitOptions{Owner: "isoagent", Registry: src})[0]
			if strings.Join(src.asked, ";") != strings.Join(tt.wantAsked, ";") {
				t.Errorf("asked the registry %q, want %q", src.asked, tt.wantAsked)
			}
			if tt.wantReason != "" {
				if d.Admitted() || d.Rejection.Reason != tt.wantReason || d.Rejection.Retry != tt.wantRetry || d.Rejection.Field != "spec.image" {
					t.Fatalf("decision %+v, want a rejection %s (retry %v) of spec.image", d.Rejection, tt.wantReason, tt.wantRetry)
				}
				return
			}
			if !d.Admitted() {
				t.Fatalf("rejected: %v", d.Rejection)
			}
			if d.Config.ImageDigest != tt.wantDigest {
				t.Errorf("config digest %q, want %q", d.Config.ImageDigest, tt.wantDigest)
			}
			if w := strings.Join(d.Warnings, "; "); (tt.wantWarn == "") != (w == "") || !strings.Contains(w, tt.wantWarn) {
				t.Errorf("warnings %q, want one saying %q", d.Warnings, tt.wantWarn)
			}
		})
	}
}

// The build the registry names is checked before anything is pulled: a
// process-isolated spec whose variant for this host is an older build is
// refused naming both builds.
func TestAdmissionChecksTheRegistrysBuild(t *testing.T) {
	src := &answers{by: map[string]RegistryAnswer{"registry.example/app:latest": {Digest: digestA, OSVersion: osv(winbuild.LTSC2019)}}}
	d := Admit(context.Background(), server(winbuild.LTSC2022), hostImages{},
		[]*spec.Container{ctr("app", "registry.example/app:latest", withPolicy(spec.PullIfNotPresent))}, AdmitOptions{Registry: src})[0]
	if d.Admitted() || d.Rejection.Reason != ReasonVersionMismatch {
		t.Fatalf("decision %+v, want a version mismatch", d.Rejection)
	}
	for _, want := range []string{"17763 (ltsc2019)", "20348 (ltsc2022)"} {
		if !strings.Contains(d.Rejection.Message, want) {
			t.Errorf("rejection %q does not name %s", d.Rejection.Message, want)
		}
	}
}

// A config whose image the host has without a digest hashes as it did
// before the agent pulled images: existing containers are not recreated.
func TestAdmissionWithoutADigestKeepsTheHash(t *testing.T) {
	c := ctr("app", img2022, withPolicy(spec.PullIfNotPresent))
	without := Admit(context.Background(), server(winbuild.LTSC2022), catalog{img2022: osv(winbuild.LTSC2022)}, []*spec.Container{c}, AdmitOptions{})[0]
	with := Admit(context.Background(), server(winbuild.LTSC2022), catalog{img2022: osv(winbuild.LTSC2022)}, []*spec.Container{c}, AdmitOptions{Registry: &answers{}})[0]
	if without.Config.Hash == "" || with.Config.Hash != without.Config.Hash {
		t.Errorf("hash with a registry %s, without %s; want the same", with.Config.Hash, without.Config.Hash)
	}
}

// The digest behind a tag is the container's identity under Always only:
// a tag that moved recreates an Always container, and leaves an
// IfNotPresent or Never one on the image it was created from, even when
// the tag moved on the host too.
func TestMovedTagChangesTheIdentityUnderAlwaysOnly(t *testing.T) {
	before := hostImages{appImage: {OSVersion: osv(winbuild.LTSC2022), Digest: digestA}}
	after := hostImages{appImage: {OSVersion: osv(winbuild.LTSC2022), Digest: digestB}}
	moved := map[string]RegistryAnswer{appImage: {Digest: digestB, OSVersion: osv(winbuild.LTSC2022)}}
	still := map[string]RegistryAnswer{appImage: {Digest: digestA, OSVersion: osv(winbuild.LTSC2022)}}
	for _, tt := range []struct {
		policy     spec.PullPolicy
		wantChange bool
	}{
		{spec.PullAlways, true},
		{spec.PullIfNotPresent, false},
		{spec.PullNever, false},
	} {
		t.Run(string(tt.policy), func(t *testing.T) {
			admit := func(host hostImages, ans map[string]RegistryAnswer) Decision {
				d := Admit(context.Background(), server(winbuild.LTSC2022), host, []*spec.Container{ctr("app", appImage, withPolicy(tt.policy))},
					AdmitOptions{Owner: "isoagent", Registry: &answers{by: ans}})[0]
				if !d.Admitted() {
					t.Fatalf("rejected: %v", d.Rejection)
				}
				return d
			}
			a, b := admit(before, still), admit(after, moved)
			if changed := a.Config.Hash != b.Config.Hash; changed != tt.wantChange {
				t.Errorf("hash changed = %v after the tag moved, want %v", changed, tt.wantChange)
			}
			if b.Config.ImageDigest != digestB {
				t.Errorf("config digest after the move %q, want %q: a container created now runs the new image", b.Config.ImageDigest, digestB)
			}
		})
	}
}
