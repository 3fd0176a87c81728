package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/unitgen"
	"golang.org/x/sys/unix"
)

// errCancelled ends a wizard the user left (end of input or "no").
var errCancelled = withCode(exitFailed, errors.New("cancelled; nothing was changed"))

// wizard asks for the choices a definition needs and the command line did
// not give, one question at a time, like Rockstor's install wizard: each
// with its label, description and default.
type wizard struct {
	in  *bufio.Reader
	out io.Writer // prompts go to stderr so that stdout stays clean
	o   *output
	fd  int // the terminal the answers come from, -1 when none
}

func newWizard(in io.Reader, o *output) *wizard {
	w := &wizard{in: bufio.NewReader(in), out: o.err, o: o, fd: -1}
	if f, ok := in.(*os.File); ok && isTerminal(f) {
		w.fd = int(f.Fd())
	}
	return w
}

// secretWords mark a value that is not shown: in its name or label.
var secretWords = []string{"password", "passwd", "secret", "token", "key"}

// isSecret reports whether a choice holds a secret (a password, token,
// key...), which the wizard neither echoes nor shows in its recap.
func isSecret(m missingChoice) bool {
	if m.kind != "env" && m.kind != "custom" {
		return false
	}
	return secretName(m.key) || secretName(m.label)
}

func secretName(s string) bool {
	s = strings.ToLower(s)
	for _, w := range secretWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// askHidden is ask with the terminal's echo off, for a secret.
func (w *wizard) askHidden(prompt string) (string, error) {
	if w.fd < 0 {
		return w.ask(prompt)
	}
	old, err := unix.IoctlGetTermios(w.fd, unix.TCGETS)
	if err != nil {
		return w.ask(prompt)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(w.fd, unix.TCSETS, &quiet); err != nil {
		return w.ask(prompt)
	}
	defer func() {
		_ = unix.IoctlSetTermios(w.fd, unix.TCSETS, old)
		fmt.Fprintln(w.out) // the Enter the user typed was not echoed
	}()
	return w.ask(prompt)
}

// ask prints a question and reads one line; io.EOF cancels.
func (w *wizard) ask(prompt string) (string, error) {
	fmt.Fprint(w.out, prompt)
	line, err := w.in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		fmt.Fprintln(w.out)
		if errors.Is(err, io.EOF) {
			return "", errCancelled
		}
		return "", fmt.Errorf("reading the answer: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// yesNo asks a yes/no question; def is the answer to an empty line.
func (w *wizard) yesNo(question string, def bool) (bool, error) {
	hint := "[y/N]"
	if def {
		hint = "[Y/n]"
	}
	for {
		ans, err := w.ask(question + " " + hint + " ")
		if err != nil {
			return false, err
		}
		switch strings.ToLower(strings.TrimSpace(ans)) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		fmt.Fprintln(w.out, "  please answer y or n")
	}
}

// fill asks every missing choice and records the answers in ch.
func (w *wizard) fill(def *catalog.RockOn, ch *model.Choices, missing []missingChoice) error {
	if len(missing) == 0 {
		return nil
	}
	fmt.Fprintf(w.out, "%s needs %d more value(s). Press Enter to accept a [default].\n", w.o.paint(ansiBold, sanitizeCell(def.Name)), len(missing))
	container := "\x00"
	for _, m := range missing {
		if m.container != container {
			container = m.container
			if container != "" && len(def.Containers) > 1 {
				fmt.Fprintf(w.out, "\n%s\n", w.o.paint(ansiBold, "Container "+sanitizeCell(container)))
			} else if container == "" {
				fmt.Fprintf(w.out, "\n%s\n", w.o.paint(ansiBold, "Custom configuration"))
			}
		}
		if err := w.askOne(ch, m); err != nil {
			return err
		}
	}
	return nil
}

func (w *wizard) askOne(ch *model.Choices, m missingChoice) error {
	var what string
	switch m.kind {
	case "port":
		what = "Host port for container port " + m.key
	case "volume":
		what = "Host directory or share for " + m.key
	case "env":
		what = "Value of " + m.key
	case "device":
		what = "Host device for " + m.key + " (Enter to skip)"
	default:
		what = "Value of " + m.key
	}
	fmt.Fprintln(w.out)
	if m.label != "" {
		fmt.Fprintf(w.out, "  %s\n", sanitizeCell(m.label))
	}
	if m.desc != "" {
		fmt.Fprintf(w.out, "  %s\n", w.o.paint(ansiDim, sanitizeCell(htmlToText(m.desc, 0))))
	}
	for {
		prompt := "  " + what
		if m.def != "" {
			prompt += " [" + m.def + "]"
		}
		read := w.ask
		if isSecret(m) {
			read = w.askHidden
		}
		ans, err := read(prompt + ": ")
		if err != nil {
			return err
		}
		if ans == "" {
			ans = m.def
		}
		msg := checkAnswer(m, ans)
		if msg == "" && m.kind == "volume" {
			msg = volumeMissing(ans)
		}
		if msg != "" {
			fmt.Fprintf(w.out, "  %s\n", w.o.paint(ansiRed, msg))
			continue
		}
		if err := setChoice(ch, m, ans); err != nil {
			fmt.Fprintf(w.out, "  %s\n", w.o.paint(ansiRed, err.Error()))
			continue
		}
		return nil
	}
}

// checkAnswer returns why an answer cannot be used, or "".
func checkAnswer(m missingChoice, ans string) string {
	switch m.kind {
	case "port":
		if _, err := parsePort(ans); err != nil {
			return "a port number 1-65535 is required (0: do not publish)"
		}
	case "volume":
		switch {
		case ans == "":
			return "a host directory (absolute path) or a share name is required"
		case strings.Contains(ans, "/") && !filepath.IsAbs(ans):
			return "a host directory must be an absolute path; a share name has no slash"
		}
	case "env", "custom":
		if ans == "" {
			return "a value is required"
		}
	case "device":
		if ans != "" && !strings.HasPrefix(ans, "/dev/") {
			return "a device path under /dev is required (Enter to skip)"
		}
	}
	if strings.ContainsAny(ans, "\n\x00") {
		return "the value cannot hold a newline or NUL"
	}
	return ""
}

// volumeMissing says why a volume answer cannot be used on this host: the
// directory must exist (a share name is looked up under the shares root).
func volumeMissing(choice string) string {
	cfg, err := daemonConfig()
	if err != nil {
		return ""
	}
	host, err := unitgen.HostPath(choice, cfg.Volumes.SharesRoot)
	if err != nil {
		return err.Error()
	}
	if _, err := os.Stat(host); errors.Is(err, fs.ErrNotExist) {
		return host + " does not exist; create it first or choose another"
	}
	return ""
}

// recap prints every choice the install will use, secrets hidden, before
// the user confirms it (Rockstor's wizard ends with a summary too).
func (w *wizard) recap(def *catalog.RockOn, ch *model.Choices) {
	fmt.Fprintf(w.out, "\n%s\n", w.o.paint(ansiBold, "Summary"))
	line := func(format string, a ...any) { fmt.Fprintf(w.out, "  "+format+"\n", a...) }
	for _, c := range def.Containers {
		cc := ch.Containers[c.Name]
		if len(def.Containers) > 1 {
			line("%s", w.o.paint(ansiBold, "Container "+sanitizeCell(c.Name)))
		}
		for _, p := range c.Ports {
			for _, proto := range p.Protocols() {
				host, ok := cc.Ports[fmt.Sprintf("%d/%s", p.ContainerPort, proto)]
				if !ok {
					if host, ok = cc.Ports[fmt.Sprint(p.ContainerPort)]; !ok {
						host = p.HostDefault
					}
				}
				if host == 0 {
					line("port %d/%s: not published", p.ContainerPort, proto)
				} else {
					line("port %d/%s -> host %d", p.ContainerPort, proto, host)
				}
			}
		}
		for _, v := range c.Volumes {
			line("volume %s -> %s", sanitizeCell(v.Path), sanitizeCell(cc.Volumes[v.Path]))
		}
		for _, e := range c.Env {
			v := sanitizeCell(cc.Env[e.Name])
			if isSecret(missingChoice{kind: "env", key: e.Name, label: e.Label}) {
				v = "(hidden)"
			}
			line("%s = %s", sanitizeCell(e.Name), v)
		}
		for _, d := range c.Devices {
			v := cc.Devices[d.Name]
			if v == "" {
				v = "(none)"
			}
			line("device %s -> %s", sanitizeCell(d.Name), sanitizeCell(v))
		}
	}
	for _, f := range def.CustomConfig {
		v := sanitizeCell(ch.CustomConfig[f.Key])
		if isSecret(missingChoice{kind: "custom", key: f.Key, label: f.Label}) {
			v = "(hidden)"
		}
		line("%s = %s", sanitizeCell(f.Key), v)
	}
	if len(ch.Consent) > 0 {
		line("allowed: %s", sanitizeCell(strings.Join(ch.Consent, ", ")))
	}
}
