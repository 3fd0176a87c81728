package model

import (
	"fmt"
	"strings"
)

// MaxSlugLen bounds a slug so that every unit name built from a rock-on
// slug and a container slug stays far below systemd's 255-character limit.
const MaxSlugLen = 64

// Slug derives the name fragment used in unit, env-file and network names
// from a rock-on or container name. The rule, stable across releases:
//
//   - ASCII letters are lower-cased, digits are kept;
//   - "@" becomes "at", "+" becomes "plus", "&" becomes "and"
//     ("Folding@home" -> "foldingathome");
//   - every other run of characters (spaces, dots, parentheses, "_",
//     non-ASCII letters) becomes one "-"; leading and trailing "-" go.
//
// So "Netdata (official)" -> "netdata-official", "Seafile v12" ->
// "seafile-v12", "plex-linuxserver.io" -> "plex-linuxserver-io". The
// result uses only [a-z0-9-]. It may be empty (a name of only symbols) or
// longer than MaxSlugLen: CheckSlug says whether it is usable. Different
// names can share a slug ("Nginx" and "nginx"); the daemon refuses to
// install a rock-on whose slug or unit names collide with an installed one.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	put := func(s string) {
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteString(s)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			put(string(r))
		case r >= 'A' && r <= 'Z':
			put(string(r + 'a' - 'A'))
		case r == '@':
			put("at")
		case r == '+':
			put("plus")
		case r == '&':
			put("and")
		default:
			dash = true
		}
	}
	return b.String()
}

// CheckSlug returns the slug of name, or an error when it cannot name units.
func CheckSlug(name string) (string, error) {
	s := Slug(name)
	switch {
	case s == "":
		return "", fmt.Errorf("name %q has no letters or digits to build unit names from", name)
	case len(s) > MaxSlugLen:
		return "", fmt.Errorf("name %q gives a slug longer than %d characters", name, MaxSlugLen)
	}
	return s, nil
}
