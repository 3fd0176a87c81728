package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EngineRecordFile, under the state directory, names the engine rockond
// chose when the configuration names none. A later start keeps that engine
// while it is installed: installing docker.io beside podman must not move
// the installed rock-ons to an engine that has none of their containers.
const EngineRecordFile = "engine"

// Engines in the order ChooseEngine prefers them: the package recommends
// "podman | docker.io", and apt installs the first alternative.
var Engines = []string{"podman", "docker"}

// ChooseEngine picks the engine when none is configured: the recorded
// choice if that engine is still installed, otherwise the first of Engines
// that is, otherwise podman (nothing to run yet: `rockon doctor` says what
// to install). installed reports whether an engine's binary is there. The
// reason is a sentence for the journal.
func ChooseEngine(recorded string, installed func(name string) bool) (name, reason string) {
	for _, e := range Engines {
		if e == recorded && installed(e) {
			return e, fmt.Sprintf("engine not configured: using %s, chosen at an earlier start and still installed", e)
		}
	}
	for _, e := range Engines {
		if installed(e) {
			return e, fmt.Sprintf("engine not configured: using %s, the one installed (looked for %s in that order)", e, strings.Join(Engines, ", "))
		}
	}
	return Engines[0], fmt.Sprintf("engine not configured and none installed (%s): assuming %s; install it with: apt install podman (or docker.io)",
		strings.Join(engineBinaries(), ", "), Engines[0])
}

func engineBinaries() []string {
	out := make([]string, len(Engines))
	for i, e := range Engines {
		out[i] = "/usr/bin/" + e
	}
	return out
}

// ResolveEngine fills in c.Engine when the configuration names no engine,
// from the record under StateDir and the binaries in /usr/bin. It returns
// the reason for the journal, or "" when the engine was configured.
func (c *Config) ResolveEngine() string {
	if c.Engine.Name != "" {
		return ""
	}
	recorded, _ := os.ReadFile(filepath.Join(c.StateDir, EngineRecordFile))
	name, reason := ChooseEngine(strings.TrimSpace(string(recorded)), func(e string) bool {
		fi, err := os.Stat("/usr/bin/" + e)
		return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
	})
	c.Engine = Engine{Name: name, Binary: "/usr/bin/" + name}
	return reason
}

// RecordEngine keeps the engine ResolveEngine chose for later starts. An
// engine that is not installed (the fallback) is not recorded.
func (c *Config) RecordEngine() error {
	if _, err := os.Stat(c.Engine.Binary); err != nil {
		return nil
	}
	p := filepath.Join(c.StateDir, EngineRecordFile)
	if old, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(old)) == c.Engine.Name {
		return nil
	}
	if err := WriteFileAtomic(p, []byte(c.Engine.Name+"\n"), 0o644); err != nil {
		return fmt.Errorf("recording the engine: %w", err)
	}
	return nil
}
