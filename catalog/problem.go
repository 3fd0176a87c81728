package catalog

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a definition, located by file and JSON
// path (e.g. "$.Immich.containers.immich-server.ports.2283.host_default").
// Warnings do not stop a rock-on from being used; errors do.
type Problem struct {
	File    string
	Path    string // "" for problems with the file as a whole
	Msg     string
	Warning bool
}

// String renders the problem as one line: "file: path: [warning: ]msg".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error makes a Problem usable as an error.
func (p Problem) Error() string { return p.String() }

// Problems is a list of problems; as an error it is returned by Decode and
// can be unpacked with errors.As to get every problem.
type Problems []Problem

// Error renders one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// HasErrors tells whether any problem is an error rather than a warning.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if !p.Warning {
			return true
		}
	}
	return false
}

// ErrorsOnly returns the errors among the problems, without warnings.
func (ps Problems) ErrorsOnly() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// problemf builds an error Problem.
func problemf(file, path, format string, args ...any) Problem {
	return Problem{File: file, Path: path, Msg: fmt.Sprintf(format, args...)}
}
