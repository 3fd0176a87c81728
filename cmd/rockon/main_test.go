package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets test scripts run this package's binary as "rockon": the
// test binary re-executes itself with the real main.
func TestMain(m *testing.M) {
	testscript.Main(cleanupAfter{m}, map[string]func(){
		"rockon": func() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// cleanupAfter runs the tests, then stops what benchmarks left running
// for their later runs.
type cleanupAfter struct{ m *testing.M }

func (c cleanupAfter) Run() int {
	code := c.m.Run()
	stopBenchSandbox()
	return code
}

// registryDir finds the real catalog, kept beside the repository
// (../shared/registry from its root).
func registryDir(t testing.TB) string {
	dir, err := filepath.Abs("../../../shared/registry")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "root.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the registry is needed at %s: %v", dir, err)
		}
		t.Skipf("the registry is not at %s: %v", dir, err)
	}
	return dir
}

// TestOffline runs the scripts of commands that need no daemon:
// validate, compile, usage errors, completion and manual page.
func TestOffline(t *testing.T) {
	reg := registryDir(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/offline",
		Setup: func(e *testscript.Env) error {
			e.Setenv("REGISTRY", reg)
			e.Setenv("NO_COLOR", "")
			// Nothing listens here: commands that need the daemon must
			// say it is not running.
			e.Setenv("ROCKON_BUS", "unix:path="+filepath.Join(e.WorkDir, "no-bus"))
			return nil
		},
		Cmds: scriptCmds,
	})
}

// scriptCmds are the extra commands of the test scripts.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"json":  cmdJSON,
	"count": cmdCount,
	"code":  cmdCode,
}

// cmdCode runs a program like exec and checks its exit code:
// code N PROGRAM ARGS...
func cmdCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: code N PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("code: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("code: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// cmdJSON checks the JSON the last command printed:
//
//	json PATH VALUE      the value at PATH equals VALUE (compared as JSON
//	                     text, strings unquoted)
//	json PATH            the value exists
//	json len PATH N      the array or object at PATH has N elements
//
// PATH is dot-separated: keys, or indexes for arrays ("." is the root).
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	var doc any
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &doc); err != nil {
		ts.Fatalf("stdout is not JSON: %v", err)
	}
	if len(args) == 3 && args[0] == "len" {
		v, err := jsonAt(doc, args[1])
		if err != nil {
			ts.Fatalf("%v", err)
		}
		n := -1
		switch x := v.(type) {
		case []any:
			n = len(x)
		case map[string]any:
			n = len(x)
		}
		want, _ := strconv.Atoi(args[2])
		if (n == want) == neg {
			ts.Fatalf("len(%s) = %d, want %s%d", args[1], n, map[bool]string{true: "not ", false: ""}[neg], want)
		}
		return
	}
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: json PATH [VALUE] | json len PATH N")
	}
	v, err := jsonAt(doc, args[0])
	if len(args) == 1 {
		if (err == nil) == neg {
			ts.Fatalf("%s: exists=%v", args[0], err == nil)
		}
		return
	}
	if err != nil {
		ts.Fatalf("%v", err)
	}
	got := ""
	if s, ok := v.(string); ok {
		got = s
	} else {
		b, _ := json.Marshal(v)
		got = string(b)
	}
	if (got == args[1]) == neg {
		ts.Fatalf("%s = %q, want %s%q", args[0], got, map[bool]string{true: "not ", false: ""}[neg], args[1])
	}
}

func jsonAt(doc any, path string) (any, error) {
	v := doc
	if path == "." {
		return v, nil
	}
	for _, k := range strings.Split(strings.TrimPrefix(path, "."), ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[k]
			if !ok {
				return nil, fmt.Errorf("%s: no key %q", path, k)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("%s: no index %q (length %d)", path, k, len(x))
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("%s: %q is not inside an object or array", path, k)
		}
	}
	return v, nil
}

// cmdCount checks how many lines of a file (stdout, stderr or a path)
// match a regular expression: count FILE REGEXP N.
func cmdCount(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: count FILE REGEXP N")
	}
	re, err := regexp.Compile(args[1])
	if err != nil {
		ts.Fatalf("%v", err)
	}
	n := 0
	for _, l := range strings.Split(ts.ReadFile(args[0]), "\n") {
		if re.MatchString(l) {
			n++
		}
	}
	want, err := strconv.Atoi(args[2])
	if err != nil {
		ts.Fatalf("count: %v", err)
	}
	if (n == want) == neg {
		ts.Fatalf("%d line(s) of %s match %q, want %d", n, args[0], args[1], want)
	}
}
