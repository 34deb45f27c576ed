package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/isoagent/isoagent/driver"
)

// FieldChange is one field of a container's config that a recreate
// changes, named by its path in the config as drivers are given it
// (resources.memoryMB, env.MODE, mounts[0].hostPath).
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

func (c FieldChange) String() string { return c.Field + ": " + c.Old + " -> " + c.New }

// noValue stands for a field one side does not set.
const noValue = "(none)"

// configChanges lists the fields that differ between old, the config a
// container was created with, and next, the one a recreate creates, in
// the order of their paths. What names the container rather than
// configures it (id, name, owner, hash) is left out, and so are the values
// of secrets' digests, which say something of the secrets' content.
func configChanges(old, next driver.Config) []FieldChange {
	a, errA := asTree(old)
	b, errB := asTree(next)
	if errA != nil || errB != nil {
		return nil
	}
	for _, k := range []string{"id", "name", "owner", "hash"} {
		delete(a, k)
		delete(b, k)
	}
	var out []FieldChange
	diffTree("", a, b, &out)
	return out
}

func asTree(cfg driver.Config) (map[string]any, error) {
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(data, &m)
}

func diffTree(path string, a, b any, out *[]FieldChange) {
	am, aMap := a.(map[string]any)
	bm, bMap := b.(map[string]any)
	as, aList := a.([]any)
	bs, bList := b.([]any)
	switch {
	case (aMap || a == nil) && (bMap || b == nil) && (aMap || bMap):
		keys := slices.Sorted(maps.Keys(am))
		for _, k := range slices.Sorted(maps.Keys(bm)) {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			diffTree(joinField(path, k), am[k], bm[k], out)
		}
	case (aList || a == nil) && (bList || b == nil) && (aList || bList):
		for i := range max(len(as), len(bs)) {
			var x, y any
			if i < len(as) {
				x = as[i]
			}
			if i < len(bs) {
				y = bs[i]
			}
			diffTree(path+"["+strconv.Itoa(i)+"]", x, y, out)
		}
	default:
		av, bv := leaf(a), leaf(b)
		if av == bv {
			return
		}
		if strings.Contains(strings.ToLower(path), "secret") && strings.HasSuffix(path, ".digest") {
			av, bv = "(a digest)", "(another digest)"
		}
		*out = append(*out, FieldChange{Field: path, Old: av, New: bv})
	}
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// leaf writes a value as the spec would: strings bare, numbers and
// booleans as JSON has them, and what is not set as noValue.
func leaf(v any) string {
	switch v := v.(type) {
	case nil:
		return noValue
	case string:
		if v == "" {
			return noValue
		}
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

// describeChanges fills in the Changes of each recreate in acts from the
// config its old container was created with, when drv keeps it.
func describeChanges(ctx context.Context, drv driver.Driver, acts []Action) {
	cr, ok := drv.(driver.ConfigReader)
	if !ok {
		return
	}
	for i, a := range acts {
		if a.Kind != ActionRecreate || a.Config == nil || a.Old == "" {
			continue
		}
		if old, err := cr.Config(ctx, a.Old); err == nil {
			acts[i].Changes = configChanges(old, *a.Config)
		}
	}
}
