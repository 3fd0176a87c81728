package dbus

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	godbus "github.com/godbus/dbus/v5"
	"github.com/rockon/rockon/model"
)

// JobProperties are the properties of a Job object.
type JobProperties struct {
	Id       uint32
	RockOn   string
	Kind     string
	State    string // running, done, failed
	Progress float64
	Message  string
}

// ErrDaemonNotRunning is returned by the client when nothing owns the bus
// name and activation did not start the daemon.
var ErrDaemonNotRunning = errors.New("rockond is not running (start it with: systemctl start rockon)")

// errorNames are the D-Bus error names (after ErrorPrefix) of the API's
// sentinel errors: a Backend wraps a sentinel, the server sends its name
// and the client turns the name back into an *Error matching it.
var errorNames = []struct {
	name string
	err  error
}{
	{"NoSuchRockOn", model.ErrNoSuchRockOn},
	{"NotInstalled", model.ErrNotInstalled},
	{"AlreadyInstalled", model.ErrAlreadyInstalled},
	{"PortInUse", model.ErrPortInUse},
	{"InvalidArgs", model.ErrInvalidArgs},
	{"AccessDenied", model.ErrAccessDenied},
	{"Busy", model.ErrBusy},
	{"Failed", model.ErrFailed},
}

// Error is an API error received from the daemon.
type Error struct {
	Name    string // full D-Bus error name
	Message string
	kind    error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the sentinel the error name stands for (nil if unknown).
func (e *Error) Unwrap() error { return e.kind }

// toDBusError maps a backend error to a named D-Bus error.
func toDBusError(err error) *godbus.Error {
	if err == nil {
		return nil
	}
	for _, n := range errorNames {
		if errors.Is(err, n.err) {
			return godbus.NewError(ErrorPrefix+n.name, []any{capMessage(err.Error())})
		}
	}
	return godbus.NewError(ErrorPrefix+"Failed", []any{capMessage(err.Error())})
}

// maxErrorMessage bounds an error's text: a message may quote a caller's
// argument, which can be megabytes long.
const maxErrorMessage = 4096

func capMessage(s string) string {
	if len(s) <= maxErrorMessage {
		return s
	}
	cut := maxErrorMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... (%d more bytes)", len(s)-cut)
}

// fromDBusError maps an error returned by a call to the API's errors.
func fromDBusError(err error) error {
	if err == nil {
		return nil
	}
	var de godbus.Error
	var dep *godbus.Error
	switch {
	case errors.As(err, &dep):
		de = *dep
	case errors.As(err, &de):
	default:
		if isUnreachable(err.Error()) {
			return fmt.Errorf("%w: %v", ErrDaemonNotRunning, err)
		}
		return err
	}
	msg := ""
	if len(de.Body) > 0 {
		msg, _ = de.Body[0].(string)
	}
	if name, ok := strings.CutPrefix(de.Name, ErrorPrefix); ok {
		for _, n := range errorNames {
			if n.name == name {
				return &Error{Name: de.Name, Message: msg, kind: n.err}
			}
		}
		return &Error{Name: de.Name, Message: msg}
	}
	switch de.Name {
	case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NoReply",
		"org.freedesktop.DBus.Error.NameHasNoOwner", "org.freedesktop.systemd1.NoSuchUnit",
		"org.freedesktop.DBus.Error.Spawn.ChildExited", "org.freedesktop.DBus.Error.Spawn.Failed",
		"org.freedesktop.DBus.Error.TimedOut":
		return fmt.Errorf("%w: %s", ErrDaemonNotRunning, msg)
	case "org.freedesktop.DBus.Error.AccessDenied":
		return &Error{Name: de.Name, Message: msg, kind: model.ErrAccessDenied}
	case "org.freedesktop.DBus.Error.InvalidArgs":
		return &Error{Name: de.Name, Message: msg, kind: model.ErrInvalidArgs}
	}
	return &Error{Name: de.Name, Message: de.Name + ": " + msg}
}

func isUnreachable(msg string) bool {
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such file or directory") ||
		strings.Contains(msg, "connection closed") || strings.Contains(msg, "broken pipe")
}

// RockOnPath is the object path of the rock-on with the given slug.
func RockOnPath(slug string) godbus.ObjectPath {
	return godbus.ObjectPath(RockOnPathPrefix + "/" + PathEncode(slug))
}

// PathEncode escapes s into one object path element the way
// sd_bus_path_encode does: every byte other than [A-Za-z0-9] becomes _xx
// (lower-case hex), and the empty string becomes "_".
func PathEncode(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String()
}

// PathDecode reverses PathEncode.
func PathDecode(e string) (string, error) {
	if e == "_" {
		return "", nil
	}
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		if e[i] != '_' {
			b.WriteByte(e[i])
			continue
		}
		if i+2 >= len(e) {
			return "", fmt.Errorf("bad escape in %q", e)
		}
		var c byte
		if _, err := fmt.Sscanf(e[i+1:i+3], "%02x", &c); err != nil {
			return "", fmt.Errorf("bad escape in %q", e)
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}
