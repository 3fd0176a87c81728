package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/sys/unix"
)

// output is where a command writes, and how: tables or JSON, with or
// without colour.
type output struct {
	out, err io.Writer
	json     bool
	color    bool
	tty      bool // out is a terminal: progress bars instead of lines
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(file.Fd()), unix.TCGETS)
	return err == nil
}

// colorWanted decides colour: only on a terminal, never with NO_COLOR set
// (https://no-color.org: any non-empty value) or --no-color.
func colorWanted(w io.Writer, noColor bool) bool {
	if noColor || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
)

func (o *output) paint(code, s string) string {
	if !o.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

// stateColor paints a state word by what it means to the user.
func (o *output) state(s string) string {
	switch s {
	case "running", "active", "ok":
		return o.paint(ansiGreen, s)
	case "failed", "degraded", "error":
		return o.paint(ansiRed, s)
	case "starting", "stopping", "restarting", "activating", "deactivating", "reloading":
		return o.paint(ansiYellow, s)
	case "stopped", "inactive", "not installed", "-":
		return o.paint(ansiDim, s)
	}
	return s
}

// writeJSON prints v as indented JSON followed by a newline.
func (o *output) writeJSON(v any) error {
	enc := json.NewEncoder(o.out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table collects rows and prints them aligned. Colour codes are added
// after alignment so that they do not count towards column widths.
type table struct {
	header []string
	rows   [][]string
	// paint, if set, colours the text of a cell (row, column) after
	// padding.
	paint func(row, col int, s string) string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(o *output) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	if len(t.header) > 0 {
		fmt.Fprintln(tw, strings.Join(t.header, "\t")+"\t")
	}
	for _, r := range t.rows {
		clean := make([]string, len(r))
		for i, c := range r {
			clean[i] = sanitizeCell(c)
		}
		fmt.Fprintln(tw, strings.Join(clean, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	// one write for the table: a line each was a system call each, 1,000
	// of them for a status of 1,000 rock-ons
	var out strings.Builder
	out.Grow(b.Len())
	for i, line := range lines {
		line = strings.TrimRight(line, " ")
		if i == 0 && len(t.header) > 0 {
			line = o.paint(ansiBold, line)
		} else if t.paint != nil && o.color {
			row := i
			if len(t.header) > 0 {
				row--
			}
			line = t.paintLine(row, line)
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	_, err := io.WriteString(o.out, out.String())
	return err
}

// paintLine colours the cells of one aligned line: it finds each cell's
// text at its position and wraps it.
func (t *table) paintLine(row int, line string) string {
	var b strings.Builder
	pos := 0
	for col, cell := range t.rows[row] {
		cell = sanitizeCell(cell)
		i := strings.Index(line[pos:], cell)
		if i < 0 || cell == "" {
			continue
		}
		b.WriteString(line[pos : pos+i])
		b.WriteString(t.paint(row, col, cell))
		pos += i + len(cell)
	}
	b.WriteString(line[pos:])
	return b.String()
}

// sanitizeCell keeps one cell on one line and free of terminal control
// sequences: catalog text is untrusted.
func sanitizeCell(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
}

// sanitizeText removes terminal control characters from multi-line text,
// keeping newlines.
func sanitizeText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
}
