package catalog

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits on what Decode accepts. Definitions in the real registry are a few
// kilobytes, nest five levels and have strings of a few kilobytes; the bounds
// leave ample room while keeping a hostile file cheap to refuse.
const (
	MaxFileSize  = 1 << 20  // bytes of one definition file
	MaxDepth     = 16       // nesting of objects and arrays
	MaxStringLen = 64 << 10 // bytes of one string or key
	maxProblems  = 100      // per file; the rest is summarised
)

// kind is the JSON type of a node.
type kind int

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "an array"
	default:
		return "an object"
	}
}

// node is a parsed JSON value that keeps object keys in document order, so
// that checks can see exact spellings (encoding/json into structs matches
// keys case-insensitively and silently keeps the last duplicate).
type node struct {
	kind  kind
	path  string // JSON path of this value, e.g. $.Immich.containers
	str   string // string value, or the number literal
	bool  bool
	keys  []string // object keys in order
	vals  []*node  // object values, parallel to keys
	elems []*node  // array elements
}

// get returns the member of an object with exactly this key.
func (n *node) get(key string) *node {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// childPath extends a JSON path by an object key: dot notation for keys of
// letters, digits, '_' and '-', otherwise quoted in brackets so that a path
// stays unambiguous ($["Bareos Backup Server"], $.a["x.y"]).
func childPath(parent, key string) string {
	simple := key != ""
	for i := 0; i < len(key) && simple; i++ {
		c := key[i]
		simple = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	if simple {
		return parent + "." + key
	}
	return parent + "[" + strconv.Quote(key) + "]"
}

func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parseTree parses data (RFC 8259 JSON) into a node tree. Problems with
// keys (exact or case-only duplicates) are reported through report and
// parsing goes on; syntax errors and exceeded limits stop it and return a
// pathError carrying the path reached. It is a small hand-written parser:
// encoding/json's token API allocates per token and made decoding the
// registry several times slower than fetching it.
func parseTree(data []byte, report func(path, msg string)) (*node, error) {
	if !utf8.Valid(data) {
		return nil, pathError{"$", "not valid UTF-8"}
	}
	p := &parser{data: data, report: report}
	root, err := p.value("$", 0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, pathError{"$", fmt.Sprintf("unexpected data after the top-level value at byte %d", p.pos)}
	}
	return root, nil
}

// pathError is a problem at a JSON path.
type pathError struct {
	path, msg string
}

func (e pathError) Error() string { return e.path + ": " + e.msg }

type parser struct {
	data   []byte
	pos    int
	report func(path, msg string)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// fail reports a syntax error at the current position.
func (p *parser) fail(path, what string) error {
	if p.pos >= len(p.data) {
		return pathError{path, "truncated JSON"}
	}
	return pathError{path, fmt.Sprintf("invalid JSON at byte %d: %s", p.pos, what)}
}

func (p *parser) value(path string, depth int) (*node, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.fail(path, "")
	}
	switch c := p.data[p.pos]; {
	case c == '{' || c == '[':
		if depth >= MaxDepth {
			return nil, pathError{path, fmt.Sprintf("nested deeper than %d levels", MaxDepth)}
		}
		p.pos++
		if c == '{' {
			return p.object(path, depth+1)
		}
		return p.array(path, depth+1)
	case c == '"':
		s, err := p.str(path)
		if err != nil {
			return nil, err
		}
		return &node{kind: kindString, path: path, str: s}, nil
	case c == 't':
		return p.literal(path, "true", &node{kind: kindBool, path: path, bool: true})
	case c == 'f':
		return p.literal(path, "false", &node{kind: kindBool, path: path})
	case c == 'n':
		return p.literal(path, "null", &node{kind: kindNull, path: path})
	case c == '-' || c >= '0' && c <= '9':
		return p.number(path)
	}
	return nil, p.fail(path, fmt.Sprintf("unexpected character %q", p.data[p.pos]))
}

func (p *parser) literal(path, word string, n *node) (*node, error) {
	if len(p.data)-p.pos < len(word) {
		if string(p.data[p.pos:]) == word[:len(p.data)-p.pos] {
			p.pos = len(p.data)
			return nil, p.fail(path, "")
		}
	} else if string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return n, nil
	}
	return nil, p.fail(path, "invalid literal")
}

func (p *parser) digits() int {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

// number checks the RFC 8259 number grammar and keeps the literal.
func (p *parser) number(path string) (*node, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.data) && p.data[p.pos] == '0':
		p.pos++
	case p.digits() == 0:
		return nil, p.fail(path, "invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return nil, p.fail(path, "invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return nil, p.fail(path, "invalid number")
		}
	}
	if p.pos-start > 64 {
		return nil, pathError{path, "number too long"}
	}
	return &node{kind: kindNumber, path: path, str: string(p.data[start:p.pos])}, nil
}

// str parses a string at p.pos (the opening quote).
func (p *parser) str(path string) (string, error) {
	p.pos++
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			if p.pos-start > MaxStringLen {
				return "", pathError{path, fmt.Sprintf("string longer than %d bytes", MaxStringLen)}
			}
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail(path, "control character in string")
		}
		p.pos++
	}
	b := append([]byte(nil), p.data[start:p.pos]...)
	for {
		if len(b) > MaxStringLen {
			return "", pathError{path, fmt.Sprintf("string longer than %d bytes", MaxStringLen)}
		}
		if p.pos >= len(p.data) {
			return "", p.fail(path, "")
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(b), nil
		case c < 0x20:
			return "", p.fail(path, "control character in string")
		case c != '\\':
			b = append(b, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.data) {
			return "", p.fail(path, "")
		}
		e := p.data[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail(path, "invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A pair makes one character; a lone half becomes
				// U+FFFD, as encoding/json does.
				save := p.pos
				if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
					p.pos += 2
					if r2, ok := p.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
				}
				p.pos = save
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			p.pos--
			return "", p.fail(path, "invalid escape")
		}
	}
}

func (p *parser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

func (p *parser) array(path string, depth int) (*node, error) {
	n := &node{kind: kindArray, path: path}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return n, nil
	}
	for {
		el, err := p.value(indexPath(path, len(n.elems)), depth)
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, el)
		if end, err := p.afterMember(path, ']'); err != nil {
			return nil, err
		} else if end {
			return n, nil
		}
	}
}

func (p *parser) object(path string, depth int) (*node, error) {
	n := &node{kind: kindObject, path: path}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return n, nil
	}
	var seen map[string]string // lower-case key -> first spelling
	for {
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.fail(path, "")
		}
		if p.data[p.pos] != '"' {
			return nil, p.fail(path, "expected a string key")
		}
		key, err := p.str(path)
		if err != nil {
			return nil, err
		}
		kp := childPath(path, key)
		if seen == nil {
			seen = map[string]string{}
		}
		folded := strings.ToLower(key)
		if first, dup := seen[folded]; dup {
			if first == key {
				p.report(kp, "duplicate key")
			} else {
				p.report(kp, fmt.Sprintf("key differs from %q only by case", first))
			}
		} else {
			seen[folded] = key
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.fail(kp, "")
		}
		if p.data[p.pos] != ':' {
			return nil, p.fail(kp, "expected ':'")
		}
		p.pos++
		v, err := p.value(kp, depth)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, key)
		n.vals = append(n.vals, v)
		if end, err := p.afterMember(path, '}'); err != nil {
			return nil, err
		} else if end {
			return n, nil
		}
	}
}

// afterMember reads what follows an array element or an object member: a
// comma (more follow) or the closing bracket (end).
func (p *parser) afterMember(path string, closing byte) (end bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, p.fail(path, "")
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.fail(path, fmt.Sprintf("expected ',' or '%c'", closing))
}
