package state

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rockon/rockon/model"
)

// DefaultConfigPath is where rockond reads its configuration unless told
// otherwise.
const DefaultConfigPath = "/etc/rockon/rockond.toml"

// Config is rockond.toml. Every key is optional; DefaultConfig holds the
// value of each missing one. packaging/rockond.toml documents every key.
type Config struct {
	// StateDir holds one file per installed rock-on (see Store).
	StateDir string `toml:"state_dir"`
	// EnvDir holds the root-only env files of the generated units.
	EnvDir string `toml:"env_dir"`
	// UnitDir is where the generated systemd units are written.
	UnitDir string `toml:"unit_dir"`

	Metastore Metastore `toml:"metastore"`
	Engine    Engine    `toml:"engine"`
	Volumes   Volumes   `toml:"volumes"`
	Metrics   Metrics   `toml:"metrics"`
	DBus      DBus      `toml:"dbus"`
	Install   Install   `toml:"install"`
	Timeouts  Timeouts  `toml:"timeouts"`
	Update    Update    `toml:"update"`
}

// Metastore is where rock-on definitions come from.
type Metastore struct {
	// RemoteURL is the base URL of the remote metastore; RootFile under it
	// lists the definition files. Empty disables the remote metastore.
	RemoteURL string `toml:"remote_url"`
	RootFile  string `toml:"root_file"`
	// LocalDir holds local definition files (*.json), which take
	// precedence over remote ones of the same name. Empty disables it.
	LocalDir string `toml:"local_dir"`
	// RefreshEvery is how often the running daemon itself fetches the
	// catalog again (it does at start-up too); 0, the default, leaves it to
	// rockon-catalog-refresh.timer. Kept for configurations that set it.
	RefreshEvery Duration `toml:"refresh_every"`
}

// Update is the opt-in automatic update, which rockon-auto-update.timer
// runs (rockon update --auto).
type Update struct {
	// Auto lists installed rock-ons (by name) opted in to the automatic
	// update besides those opted in one by one (rockon config NAME
	// --auto-update on): checked one at a time and updated when a registry
	// has a newer image for one of their containers (with the update's
	// rollback when it does not start). Empty: none.
	Auto []string `toml:"auto"`
	// AutoEvery is how often the daemon itself runs the automatic update;
	// 0, the default, leaves it to rockon-auto-update.timer. Kept for
	// configurations that set it.
	AutoEvery Duration `toml:"auto_every"`
}

// Engine is the container engine the units run.
type Engine struct {
	// Name is "docker" or "podman"; empty means the one installed,
	// chosen by ResolveEngine.
	Name string `toml:"name"`
	// Binary is the engine's absolute path; empty means /usr/bin/<name>,
	// resolved when the configuration is loaded (or the engine chosen).
	Binary string `toml:"binary"`
}

// Volumes says where volume host paths may come from.
type Volumes struct {
	// SharesRoot is where named shares live: a volume mapped to share
	// "media" uses SharesRoot/media. The default, /srv, exists on every
	// Debian system (Rockstor mounts its shares at /mnt2).
	SharesRoot string `toml:"shares_root"`
	// AllowedRoots are the directories a volume's host path must be in
	// (the path itself or below it).
	AllowedRoots []string `toml:"allowed_roots"`
}

// Metrics is the Prometheus endpoint.
type Metrics struct {
	// Listen is host:port; empty turns the endpoint off.
	Listen string `toml:"listen"`
	// TLSCert and TLSKey, both or neither, switch the endpoint to HTTPS.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// BasicAuthUsers maps a user name to a bcrypt hash of the password;
	// when not empty every request must authenticate.
	BasicAuthUsers map[string]string `toml:"basic_auth_users"`
}

// DBus is the control interface.
type DBus struct {
	// Bus is "system", "session" or a D-Bus address such as
	// "unix:path=/run/rockon-test/bus".
	Bus string `toml:"bus"`
	// Polkit, when true, asks polkit whether a caller may change
	// things; when false only root (uid 0) may.
	Polkit bool `toml:"polkit"`
}

// Install holds defaults applied to every install.
type Install struct {
	// Consent lists privileges accepted for every rock-on, in the same
	// form as model.Choices.Consent. Empty by default: each install
	// must accept risky privileges itself.
	Consent []string `toml:"consent"`
}

// Timeouts bound the slow operations.
type Timeouts struct {
	Pull  Duration `toml:"pull"`  // pulling one image
	Start Duration `toml:"start"` // a container unit becoming active
	Stop  Duration `toml:"stop"`  // a container unit stopping
	Fetch Duration `toml:"fetch"` // fetching the remote metastore
}

// Duration is a time.Duration written as a Go duration string ("90s",
// "5m") in TOML.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"90s\" or \"5m\")", b)
	}
	*d = Duration(v)
	return nil
}

// DefaultConfig returns the configuration used for every key a file does not
// set.
func DefaultConfig() *Config {
	return &Config{
		StateDir: "/var/lib/rockon",
		EnvDir:   "/var/lib/rockon/env",
		UnitDir:  "/etc/systemd/system",
		Metastore: Metastore{
			RemoteURL: "https://rockstor.com/rockons",
			RootFile:  "root.json",
			LocalDir:  "/etc/rockon/rockons.d",
			// rockon-catalog-refresh.timer refreshes daily
			RefreshEvery: 0,
		},
		// rockon-auto-update.timer runs it, when enabled
		Update: Update{Auto: []string{}, AutoEvery: 0},
		// No engine: the one installed (ResolveEngine), so that the
		// package's "Recommends: podman | docker.io" and the configuration
		// agree whichever apt picked.
		Engine:  Engine{},
		Volumes: Volumes{SharesRoot: "/srv", AllowedRoots: []string{"/srv"}},
		Metrics: Metrics{Listen: "127.0.0.1:9387"},
		DBus:    DBus{Bus: "system", Polkit: true},
		Timeouts: Timeouts{
			Pull:  Duration(30 * time.Minute),
			Start: Duration(5 * time.Minute),
			Stop:  Duration(2 * time.Minute),
			Fetch: Duration(time.Minute),
		},
	}
}

// LoadConfig reads and validates the configuration file at path. A missing
// file is an error wrapping fs.ErrNotExist: the daemon decides whether that
// means defaults (the default path) or a mistake (a path given by flag).
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig decodes a configuration file's content; file names it in
// errors. Keys the file does not set keep their DefaultConfig values.
// Unknown keys, wrong types and invalid values are *FileError values
// naming the file, the line and the key.
func ParseConfig(file string, data []byte) (*Config, error) {
	c := DefaultConfig()
	// An engine binary left unset follows the engine name, so a file that
	// only says name = "podman" gets /usr/bin/podman.
	if err := decodeStrict(file, data, c); err != nil {
		return nil, err
	}
	if c.Engine.Binary == "" && c.Engine.Name != "" {
		c.Engine.Binary = "/usr/bin/" + c.Engine.Name
	}
	// "x = []" and an absent key mean the same; one representation keeps
	// comparisons simple.
	if len(c.Volumes.AllowedRoots) == 0 {
		c.Volumes.AllowedRoots = nil
	}
	if len(c.Install.Consent) == 0 {
		c.Install.Consent = nil
	}
	if len(c.Metrics.BasicAuthUsers) == 0 {
		c.Metrics.BasicAuthUsers = nil
	}
	if errs := c.check(); len(errs) > 0 {
		return nil, fileErrors(file, data, errs)
	}
	return c, nil
}

// Validate checks the values of a configuration built in code.
func (c *Config) Validate() error {
	var out []error
	for _, e := range c.check() {
		out = append(out, fmt.Errorf("%s: %w", e.key, e.err))
	}
	return errors.Join(out...)
}

// Host is the part of the configuration compiling units needs (what
// unitgen.Options carries).
func (c *Config) Host() model.Host {
	return model.Host{
		Engine:       c.Engine.Name,
		EngineBinary: c.Engine.Binary,
		SharesRoot:   c.Volumes.SharesRoot,
		AllowedRoots: c.Volumes.AllowedRoots,
		EnvDir:       c.EnvDir,
	}
}

type keyErr struct {
	key string
	err error
}

// fileErrors makes the problems check found in a file's values errors
// that name the file, the key and the key's line.
func fileErrors(file string, data []byte, errs []keyErr) error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = &FileError{File: file, Line: keyLine(data, splitDotted(e.key)), Key: e.key, Err: e.err}
	}
	return errors.Join(out...)
}

func (c *Config) check() []keyErr {
	var errs []keyErr
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, keyErr{key, err})
		}
	}
	add("state_dir", checkAbs(c.StateDir, false))
	add("env_dir", checkAbs(c.EnvDir, false))
	add("unit_dir", checkAbs(c.UnitDir, false))

	add("metastore.remote_url", checkURL(c.Metastore.RemoteURL))
	if c.Metastore.RemoteURL != "" {
		add("metastore.root_file", checkRootFile(c.Metastore.RootFile))
	}
	add("metastore.local_dir", checkAbs(c.Metastore.LocalDir, true))

	if c.Engine.Name != "" && c.Engine.Name != "docker" && c.Engine.Name != "podman" {
		add("engine.name", fmt.Errorf("unknown engine %q (want \"docker\", \"podman\" or \"\" for the one installed)", c.Engine.Name))
	}
	if c.Engine.Name == "" && c.Engine.Binary != "" {
		add("engine.binary", errors.New("set engine.name too: a binary alone does not say which engine it is"))
	}
	add("engine.binary", checkAbs(c.Engine.Binary, c.Engine.Name == ""))

	add("volumes.shares_root", checkAbs(c.Volumes.SharesRoot, false))
	for i, r := range c.Volumes.AllowedRoots {
		if err := checkAbs(r, false); err != nil {
			add("volumes.allowed_roots", fmt.Errorf("entry %d: %w", i+1, err))
		}
	}

	add("metrics.listen", checkListen(c.Metrics.Listen))
	// Reported at the key that is set, the line the administrator wrote.
	switch {
	case c.Metrics.TLSCert != "" && c.Metrics.TLSKey == "":
		add("metrics.tls_cert", errors.New("tls_key is missing: tls_cert and tls_key must be set together"))
	case c.Metrics.TLSCert == "" && c.Metrics.TLSKey != "":
		add("metrics.tls_key", errors.New("tls_cert is missing: tls_cert and tls_key must be set together"))
	}
	add("metrics.tls_cert", checkAbs(c.Metrics.TLSCert, true))
	add("metrics.tls_key", checkAbs(c.Metrics.TLSKey, true))
	users := make([]string, 0, len(c.Metrics.BasicAuthUsers))
	for u := range c.Metrics.BasicAuthUsers {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		key := "metrics.basic_auth_users." + quoteKeyPart(u)
		if u == "" || strings.ContainsAny(u, ":\x00\n\r") {
			add(key, fmt.Errorf("invalid user name %q", u))
		}
		add(key, checkBcrypt(c.Metrics.BasicAuthUsers[u]))
	}

	add("dbus.bus", checkBus(c.DBus.Bus))

	for i, s := range c.Install.Consent {
		if s == "" || strings.ContainsAny(s, " \t\n\r\x00") {
			add("install.consent", fmt.Errorf("entry %d: invalid privilege %q", i+1, s))
		}
	}

	for _, t := range []struct {
		key string
		d   Duration
	}{{"timeouts.pull", c.Timeouts.Pull}, {"timeouts.start", c.Timeouts.Start},
		{"timeouts.stop", c.Timeouts.Stop}, {"timeouts.fetch", c.Timeouts.Fetch}} {
		if t.d <= 0 {
			add(t.key, fmt.Errorf("must be positive, got %s", time.Duration(t.d)))
		}
	}
	for _, t := range []struct {
		key string
		d   Duration
	}{{"metastore.refresh_every", c.Metastore.RefreshEvery}, {"update.auto_every", c.Update.AutoEvery}} {
		if t.d < 0 || (t.d > 0 && time.Duration(t.d) < time.Minute) {
			add(t.key, fmt.Errorf("must be 0 (off) or at least 1m, got %s", time.Duration(t.d)))
		}
	}
	return errs
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func quoteKeyPart(s string) string {
	if bareKey.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}

func checkAbs(p string, emptyOK bool) error {
	switch {
	case p == "" && emptyOK:
		return nil
	case p == "":
		return errors.New("must not be empty")
	case !filepath.IsAbs(p):
		return fmt.Errorf("path %q is not absolute", p)
	case filepath.Clean(p) != p:
		return fmt.Errorf("path %q is not clean (want %q)", p, filepath.Clean(p))
	case strings.ContainsAny(p, "\x00\n\r"):
		return fmt.Errorf("path %q contains a control character", p)
	}
	return nil
}

func checkURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", s)
	}
	return nil
}

func checkRootFile(s string) error {
	if s == "" || strings.HasPrefix(s, "/") || strings.Contains(s, "..") || strings.ContainsAny(s, "?#\x00") {
		return fmt.Errorf("invalid root file %q (want a relative name such as \"root.json\")", s)
	}
	return nil
}

func checkListen(s string) error {
	if s == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("invalid listen address %q (want host:port, e.g. \"127.0.0.1:9387\"): %w", s, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid port %q in listen address %q", port, s)
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		return fmt.Errorf("invalid host %q in listen address %q", host, s)
	}
	return nil
}

var hostnameRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

func validHostname(h string) bool { return len(h) <= 253 && hostnameRe.MatchString(h) }

// bcryptRe is the modular crypt form of a bcrypt hash: $2a$, $2b$ or $2y$,
// a two-digit cost, then 53 characters of salt and hash.
var bcryptRe = regexp.MustCompile(`^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$`)

func checkBcrypt(h string) error {
	m := bcryptRe.FindStringSubmatch(h)
	if m == nil {
		return errors.New("not a bcrypt hash (generate one with e.g. `htpasswd -nbBC 10 user password`)")
	}
	if cost, _ := strconv.Atoi(m[1]); cost < 4 || cost > 31 {
		return fmt.Errorf("bcrypt cost %d out of range 4-31", cost)
	}
	return nil
}

func checkBus(s string) error {
	switch {
	case s == "system" || s == "session":
		return nil
	case strings.Contains(s, ":") && strings.Contains(s, "="):
		// A D-Bus address, "transport:key=value,...". The D-Bus library
		// checks the details when connecting.
		return nil
	}
	return fmt.Errorf("invalid bus %q (want \"system\", \"session\" or an address such as \"unix:path=/run/bus\")", s)
}
