package sim

// imageBuild returns the OS build an image reference's tag names, or 0 when
// the tag does not tell.
//
// TODO: use spec.ParseImageRef(ref) and ImageRef.Build once package spec
// has them; until then the sim knows no build from tags.
func imageBuild(ref string) uint16 { return 0 }
