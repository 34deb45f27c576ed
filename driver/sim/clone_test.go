package sim

import (
	"reflect"
	"testing"

	"github.com/isoagent/isoagent/driver"
)

// cloneConfig copies every slice and map of a config, including any a
// later field adds: each is filled here by reflection, so a new one that
// cloneConfig does not copy fails this test.
func TestCloneConfigSharesNothing(t *testing.T) {
	var cfg driver.Config
	v := reflect.ValueOf(&cfg).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Map:
			m := reflect.MakeMap(f.Type())
			m.SetMapIndex(reflect.Zero(f.Type().Key()), reflect.Zero(f.Type().Elem()))
			f.Set(m)
		}
	}
	c := reflect.ValueOf(cloneConfig(cfg))
	for i := range v.NumField() {
		f, g := v.Field(i), c.Field(i)
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.Slice, reflect.Map:
			if g.Len() != f.Len() || g.Pointer() == f.Pointer() {
				t.Errorf("%s: the clone has %d elements at %#x, the original %d at %#x; want a copy", name, g.Len(), g.Pointer(), f.Len(), f.Pointer())
			}
		case reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
			t.Errorf("%s: a %s field; cloneConfig must learn to copy it", name, f.Kind())
		}
	}
}
