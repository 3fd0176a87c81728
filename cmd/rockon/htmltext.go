package main

import (
	"html"
	"strconv"
	"strings"
	"unicode"
)

// htmlToText renders the small HTML subset that rock-on descriptions use
// (a, p, b, strong, i, em, u, br, h4, code, ul, ol, li) as plain text
// wrapped at width columns. Links become "text <url>". Anything that is
// not one of these tags is kept as text: definitions write placeholders
// such as "<password>" that a browser would hide but a reader needs.
func htmlToText(src string, width int) string {
	r := &htmlRenderer{}
	for i := 0; i < len(src); {
		if src[i] == '<' {
			if n, ok := r.tag(src[i:]); ok {
				i += n
				continue
			}
		}
		j := strings.IndexByte(src[i+1:], '<')
		if j < 0 {
			j = len(src)
		} else {
			j += i + 1
		}
		r.text(html.UnescapeString(src[i:j]))
		i = j
	}
	r.endLine()
	var b strings.Builder
	for _, l := range r.lines {
		if l.text == "" && l.prefix == "" {
			b.WriteString("\n")
			continue
		}
		wrapLine(&b, l.prefix, l.hang, l.text, width)
	}
	return strings.ReplaceAll(strings.TrimRight(b.String(), "\n"), "\u00a0", " ")
}

type textLine struct {
	prefix, hang, text string
}

type listState struct {
	ordered bool
	n       int
}

type htmlRenderer struct {
	lines  []textLine
	cur    strings.Builder
	prefix string // prefix of the line being built
	hang   string // indent of its continuation lines
	space  bool   // a space is pending before the next word
	gap    bool   // a blank line is due before the next content
	lists  []listState
	links  []linkState
}

type linkState struct {
	href  string
	start int // offset in cur where the link text starts
}

var knownTags = map[string]bool{
	"a": true, "p": true, "b": true, "strong": true, "i": true, "em": true, "u": true,
	"br": true, "h4": true, "code": true, "ul": true, "ol": true, "li": true,
}

// tag parses a known tag at the start of s and applies it; it returns the
// bytes consumed, or false when s does not start with a known tag.
func (r *htmlRenderer) tag(s string) (int, bool) {
	i := 1
	closing := false
	if i < len(s) && s[i] == '/' {
		closing = true
		i++
	}
	start := i
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	name := strings.ToLower(s[start:i])
	if !knownTags[name] || i >= len(s) || !(s[i] == '>' || s[i] == '/' || s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		return 0, false
	}
	// Attributes up to the closing '>'. As in HTML, a quote matters only
	// where a value starts (after '='): a stray quote inside an unquoted
	// value (the registry has target=_blank') is part of the value.
	attrStart := i
	for i < len(s) && s[i] != '>' {
		if s[i] != '=' {
			i++
			continue
		}
		i++
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			end := strings.IndexByte(s[i+1:], s[i])
			if end < 0 {
				return 0, false
			}
			i += end + 2
		}
	}
	attrs := s[attrStart:i]
	r.apply(name, closing, attrs)
	return i + 1, true
}

func (r *htmlRenderer) apply(name string, closing bool, attrs string) {
	switch name {
	case "p", "h4":
		r.block()
	case "ul", "ol":
		r.block()
		if closing {
			if len(r.lists) > 0 {
				r.lists = r.lists[:len(r.lists)-1]
			}
		} else {
			r.lists = append(r.lists, listState{ordered: name == "ol"})
		}
	case "li":
		r.endLine()
		if closing {
			r.prefix, r.hang = "", ""
			return
		}
		depth := len(r.lists)
		if depth == 0 {
			depth = 1
		}
		indent := strings.Repeat("  ", depth)
		bullet := "- "
		if len(r.lists) > 0 {
			l := &r.lists[len(r.lists)-1]
			l.n++
			if l.ordered {
				bullet = strconv.Itoa(l.n) + ". "
			}
		}
		r.prefix = indent + bullet
		r.hang = indent + strings.Repeat(" ", len(bullet))
	case "br":
		r.forceLine()
	case "a":
		if !closing {
			r.links = append(r.links, linkState{href: attrValue(attrs, "href"), start: r.cur.Len()})
			return
		}
		if len(r.links) == 0 {
			return
		}
		l := r.links[len(r.links)-1]
		r.links = r.links[:len(r.links)-1]
		href := strings.TrimSpace(l.href)
		if href == "" {
			return
		}
		text := ""
		if l.start <= r.cur.Len() {
			text = strings.TrimSpace(r.cur.String()[l.start:])
		}
		if text == href {
			return
		}
		if text == "" {
			r.word(href)
			return
		}
		r.space = true
		r.word("<" + href + ">")
	}
}

// attrValue returns the value of attribute name in a tag's attribute
// text, quoted with ' or " or bare.
func attrValue(attrs, name string) string {
	s := attrs
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\n\r/")
		eq := strings.IndexAny(s, "= \t\n")
		if eq < 0 {
			return ""
		}
		key := strings.ToLower(s[:eq])
		s = strings.TrimLeft(s[eq:], " \t\n")
		if !strings.HasPrefix(s, "=") {
			continue
		}
		s = strings.TrimLeft(s[1:], " \t\n")
		var val string
		if len(s) > 0 && (s[0] == '"' || s[0] == '\'') {
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:end+1], s[end+2:]
			}
		} else {
			end := strings.IndexAny(s, " \t\n")
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		if key == name {
			return html.UnescapeString(val)
		}
	}
	return ""
}

// text adds character data, collapsing white space as HTML does.
func (r *htmlRenderer) text(s string) {
	if s == "" {
		return
	}
	if collapsible(rune(s[0])) {
		r.space = true
	}
	// A no-break space is kept, as a browser keeps it: the registry
	// separates headings from notes with runs of &nbsp;.
	words := strings.FieldsFunc(s, collapsible)
	for i, w := range words {
		if i > 0 {
			r.space = true
		}
		r.word(w)
	}
	last, _ := lastRune(s)
	if collapsible(last) {
		r.space = true
	}
}

func collapsible(c rune) bool { return unicode.IsSpace(c) && c != '\u00a0' }

func lastRune(s string) (rune, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < 0x80 || s[i] >= 0xc0 {
			rs := []rune(s[i:])
			if len(rs) > 0 {
				return rs[0], true
			}
		}
	}
	return 0, false
}

func (r *htmlRenderer) word(w string) {
	if r.gap && len(r.lines) > 0 && r.cur.Len() == 0 {
		r.lines = append(r.lines, textLine{})
	}
	r.gap = false
	if r.space && r.cur.Len() > 0 {
		r.cur.WriteByte(' ')
	}
	r.space = false
	r.cur.WriteString(w)
}

// endLine finishes the current line if it has text.
func (r *htmlRenderer) endLine() {
	if r.cur.Len() > 0 {
		r.lines = append(r.lines, textLine{prefix: r.prefix, hang: r.hang, text: r.cur.String()})
		r.cur.Reset()
		r.prefix = r.hang
	}
	r.space = false
}

// forceLine ends the line even when it is empty (<br><br>).
func (r *htmlRenderer) forceLine() {
	if r.cur.Len() == 0 {
		if len(r.lines) > 0 && !r.gap {
			r.lines = append(r.lines, textLine{})
		}
		r.space = false
		return
	}
	r.endLine()
}

// block ends a paragraph: the next text starts after a blank line.
func (r *htmlRenderer) block() {
	r.endLine()
	r.prefix, r.hang = "", ""
	r.gap = true
}

// wrapLine writes text wrapped at width, the first line after prefix and
// the others after hang. Words longer than a line (URLs) are not broken.
func wrapLine(b *strings.Builder, prefix, hang, text string, width int) {
	lineLen := len([]rune(prefix))
	b.WriteString(prefix)
	first := true
	for _, w := range strings.Split(text, " ") {
		wl := len([]rune(w))
		if !first && width > 0 && lineLen+1+wl > width {
			b.WriteString("\n")
			b.WriteString(hang)
			lineLen = len([]rune(hang))
			first = true
		}
		if !first {
			b.WriteByte(' ')
			lineLen++
		}
		b.WriteString(w)
		lineLen += wl
		first = false
	}
	b.WriteString("\n")
}
