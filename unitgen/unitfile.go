package unitgen

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// unitFile is an ordered systemd unit file: comment lines first, then
// sections in the order they were first asked for, each with its entries in
// the order they were added (a key may repeat, as ExecStartPre= does).
// Values are stored already escaped: every value enters through one of the
// add methods below, which quote it for the kind of setting it is, so no
// value can end a line, continue one or start a new directive.
type unitFile struct {
	comments []string
	sections []*section
}

type section struct {
	name    string
	entries []entry
}

type entry struct {
	key, value string
	argv       []string // for command lines: the words before quoting
}

func (u *unitFile) section(name string) *section {
	for _, s := range u.sections {
		if s.name == name {
			return s
		}
	}
	s := &section{name: name, entries: make([]entry, 0, 24)}
	u.sections = append(u.sections, s)
	return s
}

// raw adds a value the generator itself produced (unit names, numbers,
// fixed words). It panics on anything that could break the line: such a
// value is a bug in the generator, not bad input.
func (s *section) raw(key, value string) {
	if strings.ContainsAny(value, "\n\r\x00") || strings.HasSuffix(value, `\`) {
		panic(fmt.Sprintf("unitgen: unsafe raw value for %s=: %q", key, value))
	}
	s.entries = append(s.entries, entry{key: key, value: value})
}

// text adds free text (Description=): specifiers are expanded there, so
// "%" is doubled; control characters become spaces and a trailing
// backslash is dropped, since neither can be written on one line.
func (s *section) text(key, value string) {
	var b strings.Builder
	for _, r := range value {
		switch {
		case r == '%':
			b.WriteString("%%")
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	v := strings.TrimRight(strings.TrimSpace(b.String()), `\`)
	s.entries = append(s.entries, entry{key: key, value: strings.TrimSpace(v)})
}

// exec adds a command line (ExecStart= and friends). prefix is a set of
// systemd's command prefixes ("-" to ignore failure) and is generator
// data; every argv word is quoted with quoteExecWord.
func (s *section) exec(key, prefix string, argv []string) error {
	n := len(prefix)
	for _, a := range argv {
		n += len(a) + 3
	}
	var b strings.Builder
	b.Grow(n + n/8)
	b.WriteString(prefix)
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if err := appendQuoted(&b, a, true); err != nil {
			return fmt.Errorf("%s argument %d: %w", key, i, err)
		}
	}
	s.entries = append(s.entries, entry{key: key, value: b.String(), argv: argv})
	return nil
}

// paths adds a list of absolute paths (RequiresMountsFor=), each quoted.
func (s *section) paths(key string, paths []string) error {
	var words []string
	for _, p := range paths {
		q, err := quoteWord(p, false)
		if err != nil {
			return fmt.Errorf("%s %q: %w", key, p, err)
		}
		words = append(words, q)
	}
	s.entries = append(s.entries, entry{key: key, value: strings.Join(words, " ")})
	return nil
}

// commands returns the argv of every command line with the given key, in
// order: what systemd must parse back from the file.
func (u *unitFile) commands(key string) [][]string {
	var out [][]string
	for _, s := range u.sections {
		for _, e := range s.entries {
			if e.key == key && e.argv != nil {
				out = append(out, e.argv)
			}
		}
	}
	return out
}

// bytes writes the unit file.
func (u *unitFile) bytes() []byte {
	n := 0
	for _, c := range u.comments {
		n += len(c) + 3
	}
	for _, s := range u.sections {
		n += len(s.name) + 4
		for _, e := range s.entries {
			n += len(e.key) + len(e.value) + 2
		}
	}
	var b bytes.Buffer
	b.Grow(n)
	for _, c := range u.comments {
		b.WriteString("# ")
		b.WriteString(c)
		b.WriteByte('\n')
	}
	for i, s := range u.sections {
		if i > 0 || len(u.comments) > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("[" + s.name + "]\n")
		for _, e := range s.entries {
			b.WriteString(e.key)
			b.WriteByte('=')
			b.WriteString(e.value)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

var errNUL = errors.New("contains a NUL byte, which cannot be passed to a command")

// quoteExecWord quotes one argv word for an Exec*= line so that systemd
// hands the command exactly the bytes of s: "%" becomes "%%" (specifier),
// "$" becomes "$$" (variable expansion), and the word is wrapped in double
// quotes with C escapes for backslash, quote and control characters. A
// quoted ";" is an ordinary word. NUL cannot be written at all.
func quoteExecWord(s string) (string, error) {
	return quoteWord(s, true)
}

// quoteWord is quoteExecWord, with dollar doubling only for Exec lines:
// elsewhere (Environment=, RequiresMountsFor=) "$" means nothing.
func quoteWord(s string, dollars bool) (string, error) {
	var b strings.Builder
	b.Grow(len(s) + 2)
	if err := appendQuoted(&b, s, dollars); err != nil {
		return "", err
	}
	return b.String(), nil
}

// appendQuoted writes the quoted word to b.
func appendQuoted(b *strings.Builder, s string, dollars bool) error {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0:
			return errNUL
		case c == '%':
			b.WriteString("%%")
		case c == '$' && dollars:
			b.WriteString("$$")
		case c == '\\':
			b.WriteString(`\\`)
		case c == '"':
			b.WriteString(`\"`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(b, `\x%02x`, c)
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError || r < 0xa0 {
				// Invalid UTF-8 and C1 controls go as escaped bytes:
				// the line itself stays clean UTF-8.
				for j := 0; j < n; j++ {
					fmt.Fprintf(b, `\x%02x`, s[i+j])
				}
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteByte('"')
	return nil
}
