package dbus

import (
	"context"
	"fmt"
	"time"

	godbus "github.com/godbus/dbus/v5"
	"github.com/rockon/rockon/model"
)

// Authorizer decides whether the sender of a call may perform action.
type Authorizer interface {
	Authorize(ctx context.Context, sender, action string) error
}

// BusAuthorizer allows root (by the sender's Unix user, asked of the bus
// daemon) and otherwise asks polkit; polkit absent or failing means deny.
type BusAuthorizer struct {
	Conn *godbus.Conn
	// Interactive lets polkit ask the user for a password through an agent.
	Interactive bool
}

// Authorize implements Authorizer.
func (a BusAuthorizer) Authorize(ctx context.Context, sender, action string) error {
	// Without an agent polkit answers at once, or it is broken (a polkitd
	// that cannot start keeps bus activation waiting for 25 s): deny well
	// before the caller's own 25 s call timeout, so that it sees
	// AccessDenied rather than a timeout. An agent asking for a password
	// needs longer.
	timeout := 10 * time.Second
	if a.Interactive {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var uid uint32
	err := a.Conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionUnixUser", 0, sender).Store(&uid)
	if err != nil {
		return fmt.Errorf("%w: cannot identify the caller: %v", model.ErrAccessDenied, err)
	}
	if uid == 0 {
		return nil
	}
	subject := struct {
		Kind    string
		Details map[string]godbus.Variant
	}{"system-bus-name", map[string]godbus.Variant{"name": godbus.MakeVariant(sender)}}
	var flags uint32
	if a.Interactive {
		flags = 1
	}
	var result struct {
		Authorized bool
		Challenge  bool
		Details    map[string]string
	}
	obj := a.Conn.Object("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority")
	err = obj.CallWithContext(ctx, "org.freedesktop.PolicyKit1.Authority.CheckAuthorization", 0,
		subject, action, map[string]string{}, flags, "").Store(&result)
	if err != nil {
		return fmt.Errorf("%w: uid %d is not root and polkit could not authorize %s: %v", model.ErrAccessDenied, uid, action, err)
	}
	if !result.Authorized {
		return fmt.Errorf("%w: uid %d is not allowed to %s (polkit action %s)", model.ErrAccessDenied, uid, actionVerb(action), action)
	}
	return nil
}

func actionVerb(action string) string {
	if d, ok := Actions[action]; ok {
		return d
	}
	return action
}
