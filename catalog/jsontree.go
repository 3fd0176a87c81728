package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
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

// simpleKey is a key written in dot notation in a JSON path; anything else
// is quoted in brackets so that a path stays unambiguous.
var simpleKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func childPath(parent, key string) string {
	if simpleKey.MatchString(key) {
		return parent + "." + key
	}
	return parent + "[" + strconv.Quote(key) + "]"
}

func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parseTree parses data into a node tree. Problems with keys (exact or
// case-only duplicates) are reported through report and parsing goes on;
// syntax errors and exceeded limits stop it and return an error carrying
// the path reached so far.
func parseTree(data []byte, report func(path, msg string)) (*node, error) {
	if !utf8.Valid(data) {
		return nil, pathError{"$", "not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := &parser{dec: dec, report: report}
	root, err := p.value("$", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, pathError{"$", "unexpected data after the top-level value"}
	}
	return root, nil
}

// pathError is a problem at a JSON path.
type pathError struct {
	path, msg string
}

func (e pathError) Error() string { return e.path + ": " + e.msg }

type parser struct {
	dec    *json.Decoder
	report func(path, msg string)
}

func (p *parser) syntax(path string, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return pathError{path, "truncated JSON"}
	case errors.As(err, &se):
		return pathError{path, fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())}
	}
	return pathError{path, "invalid JSON: " + err.Error()}
}

func (p *parser) value(path string, depth int) (*node, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(path, err)
	}
	return p.fromToken(tok, path, depth)
}

func (p *parser) fromToken(tok json.Token, path string, depth int) (*node, error) {
	switch t := tok.(type) {
	case nil:
		return &node{kind: kindNull, path: path}, nil
	case bool:
		return &node{kind: kindBool, path: path, bool: t}, nil
	case json.Number:
		if len(t) > 64 {
			return nil, pathError{path, "number too long"}
		}
		return &node{kind: kindNumber, path: path, str: string(t)}, nil
	case string:
		if len(t) > MaxStringLen {
			return nil, pathError{path, fmt.Sprintf("string longer than %d bytes", MaxStringLen)}
		}
		return &node{kind: kindString, path: path, str: t}, nil
	case json.Delim:
		if depth >= MaxDepth {
			return nil, pathError{path, fmt.Sprintf("nested deeper than %d levels", MaxDepth)}
		}
		if t == '[' {
			return p.array(path, depth+1)
		}
		if t == '{' {
			return p.object(path, depth+1)
		}
	}
	return nil, pathError{path, fmt.Sprintf("unexpected token %v", tok)}
}

func (p *parser) array(path string, depth int) (*node, error) {
	n := &node{kind: kindArray, path: path}
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.syntax(path, err)
		}
		if d, ok := tok.(json.Delim); ok && d == ']' {
			return n, nil
		}
		el, err := p.fromToken(tok, indexPath(path, len(n.elems)), depth)
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, el)
	}
}

func (p *parser) object(path string, depth int) (*node, error) {
	n := &node{kind: kindObject, path: path}
	seen := map[string]string{} // lower-case key -> first spelling
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.syntax(path, err)
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return n, nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil, pathError{path, "invalid object key"}
		}
		if len(key) > MaxStringLen {
			return nil, pathError{path, fmt.Sprintf("key longer than %d bytes", MaxStringLen)}
		}
		kp := childPath(path, key)
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
		v, err := p.value(kp, depth)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, key)
		n.vals = append(n.vals, v)
	}
}
