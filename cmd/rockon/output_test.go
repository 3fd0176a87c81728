package main

import (
	"os"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// openPTY opens a pseudo-terminal, closed when the test ends: its master
// and its terminal side.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
	})
	return ptmx, tty
}

func TestColorOnlyOnATerminal(t *testing.T) {
	_, tty := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "")
	if !colorWanted(tty, false) {
		t.Error("no colour on a terminal")
	}
	if colorWanted(w, false) {
		t.Error("colour on a pipe")
	}
	if colorWanted(tty, true) {
		t.Error("colour with --no-color")
	}
	t.Setenv("NO_COLOR", "1")
	if colorWanted(tty, false) {
		t.Error("colour with NO_COLOR set")
	}
}

func TestTableAlignsAndPaints(t *testing.T) {
	var b strings.Builder
	o := &output{out: &b, color: true}
	tb := &table{header: []string{"NAME", "STATE"}}
	tb.add("a-long-name", "running")
	tb.add("b\x1b[2Jx", "failed")
	tb.paint = func(row, col int, s string) string {
		if col == 1 {
			return o.state(s)
		}
		return s
	}
	if err := tb.write(o); err != nil {
		t.Fatal(err)
	}
	want := ansiBold + "NAME         STATE" + ansiReset + "\n" +
		"a-long-name  " + ansiGreen + "running" + ansiReset + "\n" +
		"b[2Jx        " + ansiRed + "failed" + ansiReset + "\n"
	if b.String() != want {
		t.Errorf("table:\n got %q\nwant %q", b.String(), want)
	}
}
