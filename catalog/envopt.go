package catalog

import (
	"regexp"
)

// optionalRE finds "optional" as a word in a label or description, as
// definitions say it ("Optional: ...", "(optional)", "leave empty if ...").
var optionalRE = regexp.MustCompile(`(?i)\boptional\b|\bleave (it )?(empty|blank)\b`)

// Optional reports whether the definition says the variable may be left
// empty (rockstor-core #2280): then no value means the variable is not
// passed and the image's default applies. Rockstor itself asks for every
// listed variable.
func (e Env) Optional() bool {
	return optionalRE.MatchString(e.Label) || optionalRE.MatchString(e.Description)
}
