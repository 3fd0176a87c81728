package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Image references follow the OCI distribution grammar: an optional
// registry host (recognised by a dot, a colon or being "localhost"),
// then lower-case path components joined by single separators. The tag is
// a separate field in a definition, so the image itself carries neither a
// tag nor a digest: Rockstor appends ":" + tag, and "postgres:16" would
// become the unusable "postgres:16:latest".
var (
	domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	domainRE        = regexp.MustCompile(`^(?:` + domainComponent + `(?:\.` + domainComponent + `)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$`)
	pathComponentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	// at most maxTagLen, counted apart (as {0,127} the expression
	// compiled to 127 copies of its class at every start of the CLI)
	tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	// Engine object names (containers, networks): what docker and podman
	// accept.
	engineNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
)

const (
	maxImageLen      = 255
	maxEngineNameLen = 128
	maxTagLen        = 128
)

// checkImage reports why s is not a usable image name, or "" when it is.
func checkImage(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > maxImageLen:
		return fmt.Sprintf("longer than %d characters", maxImageLen)
	case strings.Contains(s, "@"):
		return "must not contain a digest (@...)"
	}
	rest := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		first := s[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" || first != strings.ToLower(first) {
			if !domainRE.MatchString(first) {
				return fmt.Sprintf("invalid registry host %q", first)
			}
			rest = s[i+1:]
		}
	}
	if strings.Contains(rest, ":") {
		return `must not contain a tag (give it in "tag")`
	}
	for _, c := range strings.Split(rest, "/") {
		if !pathComponentRE.MatchString(c) {
			return fmt.Sprintf("invalid component %q: image names are lower-case letters, digits and single separators (. _ __ -)", c)
		}
	}
	return ""
}

func checkTag(s string) string {
	if !tagRE.MatchString(s) || len(s) > maxTagLen {
		return "must be 1-128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'"
	}
	return ""
}

func checkEngineName(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > maxEngineNameLen:
		return fmt.Sprintf("longer than %d characters", maxEngineNameLen)
	case !engineNameRE.MatchString(s):
		return "must start with a letter or digit and contain only letters, digits, '_', '.' and '-'"
	}
	return ""
}

// checkText reports control characters in a string that ends up on a
// command line, in a unit file or in a terminal. Tabs and newlines are
// allowed only where allowNewlines is set (descriptions are HTML).
func checkText(s string, allowNewlines bool) string {
	for _, r := range s {
		if allowNewlines && (r == '\n' || r == '\t' || r == '\r') {
			continue
		}
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains control character %U", r)
		}
	}
	return ""
}
