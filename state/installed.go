package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/rockon/rockon/model"
)

// Installed is everything rockon knows about one installed rock-on; it is
// the content of one file in the state directory.
type Installed struct {
	// Schema is the format version the record was read from (0 for a
	// record never loaded). Save always writes CurrentSchema.
	Schema int `toml:"schema"`
	// Name is the rock-on's name as in the catalog, e.g. "Immich".
	Name string `toml:"name"`
	// Phase is the transaction marker recovery looks at (see doc.go).
	Phase      Phase     `toml:"phase"`
	PhaseSince time.Time `toml:"phase_since,omitempty"`
	// Desired is what the user asked for: on (running, started at boot)
	// or off.
	Desired Desired `toml:"desired"`
	// Last is the state last observed.
	Last LastState `toml:"last,omitempty"`

	// AutoUpdate: the user opted this rock-on in to the automatic update
	// (rockon-auto-update.timer, rockon update --auto).
	AutoUpdate bool `toml:"auto_update,omitempty"`

	InstalledAt time.Time `toml:"installed_at,omitempty"`
	UpdatedAt   time.Time `toml:"updated_at,omitempty"`

	// Source says where Definition came from (a metastore URL or a local
	// file), for information and update checks.
	Source string `toml:"source,omitempty"`
	// Definition is the definition JSON exactly as installed
	// (catalog.RockOn.Raw), so that a catalog change never silently
	// changes an installed rock-on.
	Definition Definition `toml:"definition"`
	// Choices are the user's choices: ports, volumes (including added
	// ones), env, devices, labels, networks, custom config, consent.
	Choices model.Choices `toml:"choices,omitempty"`

	// Images are the images pulled for the containers, one per container.
	Images []Image `toml:"images,omitempty"`
	// Units are the unit files generated from Definition and Choices.
	Units []GeneratedFile `toml:"units,omitempty"`
	// EnvFiles are the env files generated for the units (in the env
	// directory).
	EnvFiles []GeneratedFile `toml:"env_files,omitempty"`

	// Pending is the change being applied while Phase is PhaseUpdating
	// (nil otherwise): the new definition and choices. The fields above
	// stay those of the version that is known to work until the update
	// commits.
	Pending *Change `toml:"pending,omitempty"`
}

// Phase is the step of the rock-on's life the record is in. A phase other
// than PhaseInstalled means an operation was started and has not finished;
// if the daemon finds one at start-up, that operation was interrupted.
type Phase string

const (
	// PhaseInstalling: the record was written before anything else of the
	// install (pull, units, env files); rolling back removes what exists.
	PhaseInstalling Phase = "installing"
	// PhaseInstalled: everything recorded exists; the steady state.
	PhaseInstalled Phase = "installed"
	// PhaseUpdating: Pending is being applied; the main fields still
	// describe the previous, working version.
	PhaseUpdating Phase = "updating"
	// PhaseUninstalling: removal was decided; recovery finishes it.
	PhaseUninstalling Phase = "uninstalling"
)

// UnmarshalText implements encoding.TextUnmarshaler (so a bad value is
// reported with its line).
func (p *Phase) UnmarshalText(b []byte) error {
	switch v := Phase(b); v {
	case PhaseInstalling, PhaseInstalled, PhaseUpdating, PhaseUninstalling:
		*p = v
		return nil
	}
	return fmt.Errorf("invalid phase %q (want installing, installed, updating or uninstalling)", b)
}

// Desired is the state the user wants.
type Desired string

const (
	DesiredOn  Desired = "on"
	DesiredOff Desired = "off"
)

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Desired) UnmarshalText(b []byte) error {
	switch v := Desired(b); v {
	case DesiredOn, DesiredOff:
		*d = v
		return nil
	}
	return fmt.Errorf("invalid desired state %q (want on or off)", b)
}

// LastState is the state last observed by the daemon.
type LastState struct {
	// State is a short lower-case word chosen by the daemon, e.g.
	// "running", "stopped", "partial", "failed", "unknown".
	State string `toml:"state,omitempty"`
	// At is when it was observed.
	At time.Time `toml:"at,omitempty"`
	// Message explains a failure, e.g. the unit that failed.
	Message string `toml:"message,omitempty"`
}

// Image is the image one container runs.
type Image struct {
	Container string `toml:"container"`
	// Ref is what was pulled, e.g. "ghcr.io/immich-app/immich-server:release".
	Ref string `toml:"ref"`
	// ID is the engine's image ID ("sha256:..."), which pins the exact
	// image the units run.
	ID string `toml:"id,omitempty"`
	// Digest is the repository digest ("name@sha256:..."), when the
	// registry reported one.
	Digest   string    `toml:"digest,omitempty"`
	PulledAt time.Time `toml:"pulled_at,omitempty"`
	// Volumes are the VOLUMEs the image declares, read from it after the
	// pull: the units give each one the definition does not map a named
	// volume (unitgen.Options.ImageVolumes).
	Volumes []string `toml:"volumes,omitempty"`
}

// GeneratedFile is a file generated from the record: its base name and
// the hex SHA-256 of its content, to tell a file rockon wrote from one that
// was edited or is stale.
type GeneratedFile struct {
	Name   string `toml:"name"`
	SHA256 string `toml:"sha256"`
}

// Change is an update in progress.
type Change struct {
	Source     string        `toml:"source,omitempty"`
	Definition Definition    `toml:"definition"`
	Choices    model.Choices `toml:"choices,omitempty"`
	Images     []Image       `toml:"images,omitempty"`
}

// Definition is a definition's JSON, stored byte for byte as a TOML string:
// as a multi-line literal string when its bytes allow (readable, no
// escapes), otherwise as an escaped basic string.
type Definition []byte

// MarshalTOML implements toml.Marshaler.
func (d Definition) MarshalTOML() ([]byte, error) {
	if !utf8.Valid(d) {
		return nil, errors.New("definition is not valid UTF-8")
	}
	if literalOK(d) {
		// The newline after the opening quotes is dropped by the
		// parser, so the string starts on its own line.
		b := make([]byte, 0, len(d)+8)
		b = append(b, "'''\n"...)
		b = append(b, d...)
		return append(b, "'''"...), nil
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]string{"d": string(d)}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimPrefix(buf.Bytes(), []byte("d = ")), []byte("\n")), nil
}

// UnmarshalTOML implements toml.Unmarshaler.
func (d *Definition) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("definition must be a string, not %T", v)
	}
	*d = Definition(s)
	return nil
}

// UnmarshalText implements encoding.TextUnmarshaler, which the fast
// decoder uses.
func (d *Definition) UnmarshalText(b []byte) error {
	*d = Definition(bytes.Clone(b))
	return nil
}

// literalOK reports whether s survives a multi-line literal string
// unchanged: no run of three single quotes inside, no trailing quote that
// would merge with the closing delimiter, no carriage return (newlines may
// be normalised) and no other control character but tab and newline.
func literalOK(s []byte) bool {
	if bytes.Contains(s, []byte("'''")) || bytes.HasSuffix(s, []byte("'")) {
		return false
	}
	for _, c := range s {
		if c < 0x20 && c != '\t' && c != '\n' || c == 0x7f {
			return false
		}
	}
	return true
}

// Unit returns the generated unit with the given name.
func (in *Installed) Unit(name string) (GeneratedFile, bool) {
	for _, u := range in.Units {
		if u.Name == name {
			return u, true
		}
	}
	return GeneratedFile{}, false
}

var (
	sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)
	stateRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// Validate checks what a hand edit could break and what recovery relies
// on: file names must be plain base names (recovery deletes them), hashes
// hex, the definition JSON.
func (in *Installed) Validate() error {
	var out []error
	for _, e := range in.check() {
		out = append(out, fmt.Errorf("%s: %w", e.key, e.err))
	}
	return errors.Join(out...)
}

func (in *Installed) check() []keyErr {
	var errs []keyErr
	add := func(key string, format string, args ...any) {
		errs = append(errs, keyErr{key, fmt.Errorf(format, args...)})
	}
	if strings.TrimSpace(in.Name) == "" {
		add("name", "must not be empty")
	} else if _, err := model.CheckSlug(in.Name); err != nil {
		add("name", "%v", err)
	}
	switch in.Phase {
	case PhaseInstalling, PhaseInstalled, PhaseUpdating, PhaseUninstalling:
	default:
		add("phase", "invalid phase %q", in.Phase)
	}
	switch in.Desired {
	case DesiredOn, DesiredOff:
	default:
		add("desired", "invalid desired state %q", in.Desired)
	}
	if in.Last.State != "" && !stateRe.MatchString(in.Last.State) {
		add("last.state", "invalid state %q (want a short lower-case word)", in.Last.State)
	}
	if err := checkDefinition(in.Definition); err != nil {
		add("definition", "%v", err)
	}
	checkImages := func(key string, imgs []Image) {
		seen := map[string]bool{}
		for i, im := range imgs {
			switch {
			case im.Container == "":
				add(key, "entry %d: container must not be empty", i+1)
			case seen[im.Container]:
				add(key, "entry %d: container %q listed twice", i+1, im.Container)
			case im.Ref == "":
				add(key, "entry %d: ref must not be empty", i+1)
			}
			seen[im.Container] = true
		}
	}
	checkImages("images", in.Images)
	checkFiles := func(key string, files []GeneratedFile) {
		seen := map[string]bool{}
		for i, f := range files {
			if err := checkBaseName(f.Name); err != nil {
				add(key, "entry %d: %v", i+1, err)
			} else if seen[f.Name] {
				add(key, "entry %d: %q listed twice", i+1, f.Name)
			}
			seen[f.Name] = true
			if !sha256Re.MatchString(f.SHA256) {
				add(key, "entry %d: sha256 %q is not 64 lower-case hex digits", i+1, f.SHA256)
			}
		}
	}
	checkFiles("units", in.Units)
	checkFiles("env_files", in.EnvFiles)
	if in.Pending != nil {
		if in.Phase != PhaseUpdating {
			add("pending", "present while phase is %q (only while updating)", in.Phase)
		}
		if err := checkDefinition(in.Pending.Definition); err != nil {
			add("pending.definition", "%v", err)
		}
		checkImages("pending.images", in.Pending.Images)
	} else if in.Phase == PhaseUpdating {
		add("pending", "missing while phase is updating")
	}
	return errs
}

func checkDefinition(d Definition) error {
	switch {
	case len(d) == 0:
		return errors.New("must not be empty")
	case !utf8.Valid(d):
		return errors.New("not valid UTF-8")
	case !json.Valid(d):
		return errors.New("not valid JSON")
	}
	return nil
}

func checkBaseName(n string) error {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00\n\r") {
		return fmt.Errorf("%q is not a plain file name", n)
	}
	return nil
}
