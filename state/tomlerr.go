package state

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// FileError is a problem in a TOML file, located as precisely as the
// decoder allows, so that an administrator can go straight to the line.
type FileError struct {
	File string // path as given to the loader
	Line int    // 1-based; 0 when unknown
	Key  string // dotted TOML key, "" when the problem is not about one key
	Err  error  // the reason
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		fmt.Fprintf(&b, "%s: ", e.Key)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *FileError) Unwrap() error { return e.Err }

// ErrUnknownKey is wrapped by the FileError for a key the format does not
// have (usually a typo).
var ErrUnknownKey = errors.New("unknown key")

// ErrEmptyFile is wrapped by the FileError for a file with no content, which
// is never a valid state or a deliberate configuration.
var ErrEmptyFile = errors.New("file is empty")

// decodeStrict decodes TOML data into v and turns every decoder complaint
// and every key v has no place for into a *FileError (several are joined).
func decodeStrict(file string, data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return &FileError{File: file, Err: ErrEmptyFile}
	}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(v)
	if err != nil {
		return tomlError(file, data, err)
	}
	return undecodedError(file, data, md.Undecoded())
}

// undecodedError reports unknown keys, only the outermost one of an unknown
// table (its sub-keys would be noise).
func undecodedError(file string, data []byte, keys []toml.Key) error {
	var errs []error
	var last toml.Key
	for _, k := range keys {
		if last != nil && hasPrefix(k, last) {
			continue
		}
		last = k
		errs = append(errs, &FileError{File: file, Line: keyLine(data, k), Key: k.String(), Err: ErrUnknownKey})
	}
	return errors.Join(errs...)
}

func hasPrefix(k, prefix toml.Key) bool {
	if len(k) < len(prefix) {
		return false
	}
	for i := range prefix {
		if k[i] != prefix[i] {
			return false
		}
	}
	return true
}

// The decoder reports type mismatches as plain errors whose text carries
// the line and key; this picks them apart so callers get a FileError like
// any other.
var decodeErrRe = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "(.*?)"\): (.*)$`)

func tomlError(file string, data []byte, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		// Message without Usage: the usage text is a paragraph of advice
		// that would make one-line error reports unreadable.
		return &FileError{File: file, Line: pe.Position.Line, Key: pe.LastKey, Err: errors.New(pe.Message)}
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return fe
	}
	if m := decodeErrRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		key := m[2]
		if line == 0 {
			line = keyLine(data, splitDotted(key))
		}
		return &FileError{File: file, Line: line, Key: key, Err: errors.New(m[3])}
	}
	return &FileError{File: file, Err: errors.New(strings.TrimPrefix(err.Error(), "toml: "))}
}

// keyLine finds the line on which key is defined (as "key = ..." or as a
// table header), or 0. The decoder keeps key positions to itself, so this
// is a small line scanner: good enough to point at a line, not a parser.
func keyLine(data []byte, key toml.Key) int {
	var table []string
	var inMulti string // the open multi-line string delimiter, if any
	for i, line := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(line)
		if inMulti != "" {
			if strings.Count(s, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		switch {
		case s == "" || s[0] == '#':
			continue
		case strings.HasPrefix(s, "[[") || s[0] == '[':
			h := strings.TrimLeft(s, "[")
			if j := closingBracket(h); j >= 0 {
				h = h[:j]
			}
			table = splitDotted(h)
			if equalKey(table, key) {
				return i + 1
			}
			continue
		}
		eq := keyEnd(s)
		if eq < 0 {
			continue // a continuation of a multi-line array or inline table
		}
		full := append(append([]string{}, table...), splitDotted(s[:eq])...)
		if equalKey(full, key) {
			return i + 1
		}
		for _, d := range []string{`"""`, `'''`} {
			if strings.Count(s[eq:], d)%2 == 1 {
				inMulti = d
			}
		}
	}
	return 0
}

// closingBracket returns the index of the ']' that closes a table header,
// or -1.
func closingBracket(s string) int { return unquotedIndex(s, ']') }

// keyEnd returns the index of the '=' that ends the key of a key/value line,
// or -1 when the line does not start with a key.
func keyEnd(s string) int {
	c := s[0]
	if !(c == '"' || c == '\'' || c == '_' || c == '-' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
		return -1
	}
	return unquotedIndex(s, '=')
}

// unquotedIndex returns the index of the first b in s outside a quoted key
// part (a basic string's escapes honoured), or -1.
func unquotedIndex(s string, b byte) int {
	q := byte(0)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == b:
			return i
		}
	}
	return -1
}

// splitDotted splits a TOML dotted key into its parts, unquoting quoted
// parts.
func splitDotted(s string) []string {
	var parts []string
	var cur strings.Builder
	q := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q == '"' && c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case q != 0:
			cur.WriteByte(c)
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
			cur.WriteByte(c)
		case c == '.':
			parts = append(parts, unquoteKey(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, unquoteKey(cur.String()))
}

func unquoteKey(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	if len(s) >= 2 && s[0] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
		return s[1 : len(s)-1]
	}
	return s
}

func equalKey(a []string, b toml.Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
