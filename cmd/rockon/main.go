// Command rockon manages Rockstor rock-ons on a systemd host. It talks to
// the rockond daemon over D-Bus for everything that changes the system, and
// works offline for `validate` and `compile`.
//
// Usage:
//
//	rockon [--bus system|session|ADDRESS] [--json] [--no-color] COMMAND [ARGS]
//
// Exit codes (stable; scripts may rely on them):
//
//	0  success
//	1  the operation failed
//	2  usage error: bad command line, or choices the daemon refuses
//	   (port in use, missing value, path that does not exist)
//	3  not found: no such rock-on, container or file
//	4  access denied: changes need root or a polkit authorization
//	5  rockond is not reachable on the bus (not running)
//	6  busy: another operation on the same rock-on is running
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// version is set by the build (make: -X main.version=...).
var version = "devel"

func main() {
	shortLivedGC()
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// gcLimit is the heap the collector leaves alone: a command is a short
// process whose garbage the exit frees.
const gcLimit = 64 << 20

// shortLivedGC collects only once the heap reaches gcLimit, unless GOGC or
// GOMEMLIMIT say otherwise: at the default pace the collector ran during
// the decoding of a status of 1,000 rock-ons, a quarter of the process's
// CPU time for memory the exit frees anyway. A long wait (a job, logs
// --follow) allocates little and is still collected past the limit.
func shortLivedGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(gcLimit)
}

// run executes the command line args and returns the exit code. Errors
// are printed as one line on stderr.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.Run(interspersedArgs(app, args))
	if err == nil {
		return exitOK
	}
	var unknown *unknownRockOn
	if errors.As(err, &unknown) {
		unknown.suggestName(app.Metadata["bus"].(string))
	}
	msg := err.Error()
	msg = strings.TrimSpace(msg)
	if msg != "" && verbose {
		fmt.Fprintf(stderr, "rockon: %s\n", sanitizeText(msg))
	} else if msg != "" {
		fmt.Fprintf(stderr, "rockon: %s\n", sanitizeCell(msg))
	}
	return exitCode(err)
}
