package registry

import (
	"context"
	"reflect"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/internal/testutil/winimage"
	"github.com/isoagent/isoagent/winbuild"
)

// An image's HEALTHCHECK comes with its config, for the agent to run when
// a spec has none.
func TestFetchKeepsTheHealthcheck(t *testing.T) {
	r := newTestRegistry(t, "", "")
	img := winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, winimage.Layer(t, nil, true))
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second, Retries: 2}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	r.push("web:ltsc2022", img)
	r.push("plain:ltsc2022", winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, winimage.Layer(t, nil, true)))
	c := newClient(t, r.entry())
	for _, tt := range []struct {
		tag  string
		want *driver.ImageHealthcheck
	}{
		{"web:ltsc2022", &driver.ImageHealthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second, Retries: 2}},
		{"plain:ltsc2022", nil},
	} {
		res, err := c.Resolve(context.Background(), r.ref(tt.tag), host(winbuild.LTSC2022))
		if err != nil {
			t.Fatal(err)
		}
		dl, err := c.Fetch(context.Background(), res, FetchOptions{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(dl.Config.Healthcheck, tt.want) {
			t.Errorf("%s: Healthcheck = %+v, want %+v", tt.tag, dl.Config.Healthcheck, tt.want)
		}
	}
}
