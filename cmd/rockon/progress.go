package main

import (
	"fmt"
	"strings"
	"sync"
)

// progress shows how a daemon job advances: a bar redrawn in place on a
// terminal, one plain line per new step otherwise (logs and pipes). It
// writes to stderr so that --json output on stdout stays parseable.
type progress struct {
	mu    sync.Mutex
	o     *output
	title string
	last  string // last step printed (plain mode)
	drawn bool
	pct   int // last percentage printed (plain mode)
	high  int // highest percentage shown: what is shown never goes back
}

func newProgress(o *output, title string) *progress {
	return &progress{o: o, title: sanitizeCell(title), pct: -1}
}

const barWidth = 24

// update is the job watcher: fraction in 0..1 and the current step.
func (p *progress) update(fraction float64, message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	message = sanitizeCell(message)
	// A warning (an image kept because the registry could not be reached)
	// is printed whole on a line of its own: the bar would draw over it.
	if strings.HasPrefix(message, "warning: ") {
		if p.drawn {
			fmt.Fprint(p.o.err, "\r\x1b[K")
			p.drawn = false
		}
		fmt.Fprintf(p.o.err, "%s: %s\n", p.title, message)
		return
	}
	if r := []rune(message); len(r) > 120 {
		message = string(r[:119]) + "…"
	}
	pct := int(fraction*100 + 0.5)
	if pct < 0 {
		pct = 0
	}
	if pct > 100 {
		pct = 100
	}
	// A job's steps report their own ranges (a pull to 85 %, then the
	// start from its own beginning): the bar holds its highest point.
	pct = max(pct, p.high)
	p.high = pct
	if isTerminal(p.o.err) {
		filled := pct * barWidth / 100
		bar := strings.Repeat("#", filled) + strings.Repeat(" ", barWidth-filled)
		line := fmt.Sprintf("%s [%s] %3d%% %s", p.title, bar, pct, message)
		if len(line) > 100 {
			line = line[:100]
		}
		fmt.Fprintf(p.o.err, "\r\x1b[K%s", line)
		p.drawn = true
		return
	}
	if message == "" || (message == p.last && pct == p.pct) {
		return
	}
	if message != p.last || pct == 100 || pct-p.pct >= 25 {
		fmt.Fprintf(p.o.err, "%s: %d%% %s\n", p.title, pct, message)
		p.last, p.pct = message, pct
	}
}

// finish ends the bar's line.
func (p *progress) finish(ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.o.err, "\r\x1b[K")
		p.drawn = false
	}
}
