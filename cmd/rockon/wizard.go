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
	"github.com/rockon/rockon/unitgen"
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
}

func newWizard(in io.Reader, o *output) *wizard {
	return &wizard{in: bufio.NewReader(in), out: o.err, o: o}
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
func (w *wizard) fill(def *catalog.RockOn, ch *unitgen.Choices, missing []missingChoice) error {
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

func (w *wizard) askOne(ch *unitgen.Choices, m missingChoice) error {
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
		ans, err := w.ask(prompt + ": ")
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
