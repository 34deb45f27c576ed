package sim

import "github.com/isoagent/isoagent/imageref"

// imageBuild returns the OS build an image reference's tag names, or 0 when
// the tag does not tell (or the reference does not parse: the host then
// knows the image, but not its build).
func imageBuild(ref string) uint16 {
	r, err := imageref.Parse(ref)
	if err != nil {
		return 0
	}
	return r.Build()
}
