package hardening

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
	"github.com/rockon/rockon/unitgen"
)

// injectionValues are values that mean something to systemd's unit syntax,
// to a shell or to an engine's option parser.
var injectionValues = []struct{ name, value string }{
	{"NewlineExecStartPre", "x\nExecStartPre=/usr/bin/touch /run/pwned"},
	{"CarriageReturn", "x\rExecStartPre=/usr/bin/touch /run/pwned"},
	{"TrailingBackslash", `x\`},
	{"Percent", "50%"},
	{"PercentH", "%h"},
	{"PercentZ", "%z"},
	{"PercentN", "%n"},
	{"DollarHOME", "$HOME"},
	{"DollarBraceX", "${X}"},
	{"DoubleDollar", "$$"},
	{"LoneSemicolon", ";"},
	{"SemicolonCommand", "; /usr/bin/touch /run/pwned"},
	{"DoubleQuotes", `"a" "b`},
	{"SingleQuotes", `'a' 'b`},
	{"Backquote", "`touch /run/pwned`"},
	{"Tab", "a\tb"},
	{"U2028", "a\u2028b"},
	{"NEL", "a\u0085b"},
	{"DashOption", "--privileged"},
	{"DashVolume", "-v=/:/host"},
	{"Backslashes", `\x41\n\\`},
	{"Hash", "#comment"},
	{"Brackets", "[Service]"},
}

// injectionDef is a one-container rock-on with one env variable per value
// and every value as a command argument.
func injectionDef(values []string, nenv int) []byte {
	env := map[string]any{}
	var args [][]string
	for _, v := range values {
		args = append(args, []string{v, ""})
	}
	for i := range max(nenv, 1) {
		env[fmt.Sprintf("E%02d", i)] = map[string]any{"description": "e", "label": "e"}
	}
	c := webContainer()
	delete(c, "volumes")
	c["ports"] = map[string]any{"8080": map[string]any{"description": "p", "label": "p", "host_default": 18095, "protocol": "tcp"}}
	c["environment"] = env
	c["cmd_arguments"] = args
	return defJSON("Injection", map[string]container{"inj": c})
}

// unitKeys is the list of section headers and keys of a unit file (values
// dropped), the file's structure as systemd reads it.
func unitKeys(content []byte) []string {
	var keys []string
	for _, line := range strings.Split(string(content), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			keys = append(keys, line)
		default:
			k, _, _ := strings.Cut(line, "=")
			keys = append(keys, strings.TrimSpace(k))
		}
		// systemd joins a line ending in a backslash with the next one
		// and treats a CR as a line end
		if strings.HasSuffix(line, `\`) || strings.Contains(line, "\r") {
			keys = append(keys, "<line continued or split>")
		}
	}
	return keys
}

// TestUnitInjection: every hostile value, as an env value and as a command
// argument of the definition, is either refused with the field named or
// reaches the container byte for byte, while the units have exactly the
// directives of the same rock-on with harmless values; real systemd parses
// them and runs the container (podman) in the sandbox.
func TestUnitInjection(t *testing.T) {
	var argVals, envVals []string
	var argNames, envNames []string
	for _, iv := range injectionValues {
		t.Run(iv.name, func(t *testing.T) {
			// a command argument comes from the catalog: decode decides
			if _, err := catalog.Decode("test.json", injectionDef([]string{iv.value}, 1)); err != nil {
				if !strings.Contains(err.Error(), "cmd_arguments") {
					t.Errorf("%s: command argument refused without naming the field: %v", iv.name, err)
				}
			} else {
				argVals, argNames = append(argVals, iv.value), append(argNames, iv.name)
			}
			// an env value comes from the user: validation decides
			def := decodeOne(t, injectionDef([]string{"plain"}, 1))
			ch := model.Choices{Containers: map[string]model.ContainerChoices{"inj": {Env: map[string]string{"E00": iv.value}}}}
			if _, err := unitgen.Compile(def, ch, options()); err != nil {
				if !strings.Contains(err.Error(), `environment variable "E00"`) {
					t.Errorf("%s: env value refused without naming the field: %v", iv.name, err)
				}
			} else {
				envVals, envNames = append(envVals, iv.value), append(envNames, iv.name)
			}
		})
	}
	t.Logf("passed through as command arguments: %v", argNames)
	t.Logf("passed through as env values: %v", envNames)
	for _, must := range []string{"NewlineExecStartPre", "TrailingBackslash", "PercentH", "DollarHOME", "LoneSemicolon", "U2028", "Tab", "DashOption"} {
		if !slices.Contains(argNames, must) && !slices.Contains(envNames, must) {
			t.Logf("%s refused everywhere (allowed, but the end-to-end check does not see it)", must)
		}
	}

	// The same rock-on with harmless values: its unit structure is the
	// reference.
	plain := make([]string, len(argVals))
	for i := range plain {
		plain[i] = fmt.Sprintf("plain%d", i)
	}
	compile := func(args, envs []string, engine string) *unitgen.Result {
		t.Helper()
		def := decodeOne(t, injectionDef(args, len(envVals)))
		envCh := map[string]string{}
		for i := range len(envVals) {
			v := "plain"
			if i < len(envs) {
				v = envs[i]
			}
			envCh[fmt.Sprintf("E%02d", i)] = v
		}
		opt := options()
		opt.Engine = engine
		opt.EnvDir = "/var/lib/rockon/env"
		res, err := unitgen.Compile(def, model.Choices{Containers: map[string]model.ContainerChoices{"inj": {Env: envCh}}}, opt)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, engine := range []string{unitgen.Podman, unitgen.Docker} {
		ref := compile(plain, nil, engine)
		res := compile(argVals, envVals, engine)
		for i, f := range res.Units {
			if got, want := unitKeys(f.Content), unitKeys(ref.Units[i].Content); !slices.Equal(got, want) {
				t.Errorf("%s %s: directives\n%q\nwant (harmless values)\n%q", engine, f.Name, got, want)
			}
		}
		for i, f := range res.EnvFiles {
			if got, want := bytes.Count(f.Content, []byte("\n")), bytes.Count(ref.EnvFiles[i].Content, []byte("\n")); got != want {
				t.Errorf("%s %s: %d lines, want %d", engine, f.Name, got, want)
			}
		}
		if testing.Short() {
			continue
		}
		t.Run(engine, func(t *testing.T) { injectionInSandbox(t, engine, res, ref, argVals, argNames, envVals, envNames) })
	}
}

// injectionInSandbox runs the compiled rock-on under real systemd with the
// engine and checks what systemd loaded and what the container got.
func injectionInSandbox(t *testing.T, engine string, res, ref *unitgen.Result, argVals, argNames, envVals, envNames []string) {
	s := sandbox.New(t, sandbox.Options{Docker: engine == unitgen.Docker})
	s.LoadTestImages(t, engine)
	for _, f := range res.Units {
		s.Write(t, "/etc/systemd/system/"+f.Name, string(f.Content), f.Mode)
	}
	// the harmless reference, loaded (never started) under another name
	for _, f := range ref.Units {
		s.Write(t, "/etc/systemd/system/"+strings.Replace(f.Name, "rockon-injection", "rockon-injref", 1), string(f.Content), f.Mode)
	}
	for _, f := range res.EnvFiles {
		s.Write(t, path.Join("/var/lib/rockon/env", f.Name), string(f.Content), f.Mode)
	}
	s.Run(t, "systemctl", "daemon-reload")
	unit := res.Containers[0].Unit
	// systemd's own view of the files: the keys it loaded, no warnings
	if out := s.Run(t, "systemd-analyze", "verify", "/etc/systemd/system/"+unit); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify %s:\n%s", unit, out)
	}
	// systemd's parse of every command: the same commands, programs and
	// number of words as the harmless reference (each value one word)
	refUnit := strings.Replace(unit, "rockon-injection", "rockon-injref", 1)
	for _, prop := range []string{"ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost"} {
		got, want := s.ExecArgv(t, unit, prop), s.ExecArgv(t, refUnit, prop)
		if len(got) != len(want) {
			t.Errorf("%s: %d commands, the reference has %d:\n%q", prop, len(got), len(want), got)
			continue
		}
		for i := range got {
			if len(got[i]) != len(want[i]) || got[i][0] != want[i][0] {
				t.Errorf("%s command %d: %d words from %q, the reference %d from %q:\n%q", prop, i, len(got[i]), got[i][0], len(want[i]), want[i][0], got[i])
			}
		}
	}
	for _, prop := range []string{"Environment", "EnvironmentFiles", "User", "Group", "WorkingDirectory", "RootDirectory"} {
		got := s.Run(t, "systemctl", "show", "-p", prop, unit)
		if want := strings.ReplaceAll(s.Run(t, "systemctl", "show", "-p", prop, refUnit), "rockon-injref", "rockon-injection"); got != want {
			t.Errorf("%s: %q, the reference %q", prop, got, want)
		}
	}
	cat := s.Run(t, "systemctl", "cat", unit)
	if n := strings.Count(cat, "\nExecStart="); n != 1 {
		t.Errorf("systemctl cat: %d ExecStart lines:\n%s", n, cat)
	}

	s.Run(t, "systemctl", "start", res.Target)
	gotArgs := s.HTTPGet(t, "http://127.0.0.1:18095/args")
	var argv []string
	if err := json.Unmarshal([]byte(gotArgs), &argv); err != nil || len(argv) < 1 {
		t.Fatalf("container argv %s: %v", gotArgs, err)
	}
	for i, v := range argVals {
		if i+1 >= len(argv) || argv[i+1] != v {
			t.Errorf("%s: container argument %d = %q, want %q", argNames[i], i, at(argv, i+1), v)
		}
	}
	if len(argv) != len(argVals)+1 {
		t.Errorf("container argv has %d words, want %d: %q", len(argv), len(argVals)+1, argv)
	}
	env := strings.Split(s.HTTPGet(t, "http://127.0.0.1:18095/env"), "\n")
	for i, v := range envVals {
		if kv := fmt.Sprintf("E%02d=%s", i, v); !slices.Contains(env, kv) {
			var got []string
			for _, l := range env {
				if strings.HasPrefix(l, fmt.Sprintf("E%02d=", i)) {
					got = append(got, l)
				}
			}
			t.Errorf("%s: container env lacks %q; it has %q", envNames[i], kv, got)
		}
	}
	if out := s.Run(t, engine, "container", "inspect", "--format", "{{.HostConfig.Privileged}} {{len .Mounts}}", "inj"); strings.TrimSpace(out) != "false 1" {
		t.Errorf("container privileged/mounts: %s (want not privileged, only /etc/localtime)", out)
	}
	if _, err := s.Command(context.Background(), "test", "-e", "/run/pwned").CombinedOutput(); err == nil {
		t.Error("/run/pwned exists: a value ran a command")
	}
	s.Run(t, "systemctl", "stop", res.Target)
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "<missing>"
}
