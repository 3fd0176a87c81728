package main

import (
	"bufio"
	"fmt"
	"path"
	"strings"
)

// execWords splits the command line of a unit's Exec*= value into words:
// double-quoted words (with backslash escapes) or bare words, without the
// "-" prefix; "%%" becomes "%".
func execWords(v string) ([]string, error) {
	v = strings.TrimLeft(v, "-@:+!")
	var words []string
	for i := 0; i < len(v); {
		switch c := v[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			var b strings.Builder
			i++
			for ; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			if i >= len(v) {
				return nil, fmt.Errorf("unterminated quote in %q", v)
			}
			i++
			words = append(words, b.String())
		default:
			j := i
			for j < len(v) && v[j] != ' ' && v[j] != '\t' {
				j++
			}
			words = append(words, v[i:j])
			i = j
		}
	}
	for k, w := range words {
		words[k] = strings.ReplaceAll(w, "%%", "%")
	}
	return words, nil
}

// baselineRun derives, from a generated container unit, the command a
// user would type to run the same container by hand, detached: the same
// image and arguments, without what only serves systemd (podman's notify
// and cgroup modes, --replace) — `podman run -d ...` or `docker run -d
// ...` (docker's unit creates the container with the run arguments).
func baselineRun(unit, engine string) ([]string, error) {
	sc := bufio.NewScanner(strings.NewReader(unit))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, "=")
		if !ok || (k != "ExecStart" && k != "ExecStartPre") {
			continue
		}
		w, err := execWords(v)
		if err != nil {
			return nil, err
		}
		if len(w) < 2 {
			continue
		}
		switch {
		case engine == "podman" && k == "ExecStart" && w[1] == "run":
			out := []string{w[0], "run", "-d"}
			for _, a := range w[2:] {
				if strings.HasPrefix(a, "--sdnotify") || strings.HasPrefix(a, "--cgroups=") || a == "--replace" {
					continue
				}
				out = append(out, a)
			}
			return out, nil
		case engine == "docker" && path.Base(w[0]) == "docker" && (k == "ExecStart" && w[1] == "run" || k == "ExecStartPre" && w[1] == "create"):
			return append([]string{w[0], "run", "-d"}, w[2:]...), nil
		}
	}
	return nil, fmt.Errorf("no %s run command in the unit", engine)
}

// shellQuote quotes a word for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
