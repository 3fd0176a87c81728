package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Event is one container event of the engine's own stream.
type Event struct {
	Name string // container name
	// Action is the engine's word, with docker's "die" spelled as
	// podman's "died" so that callers compare one word.
	Action   string
	ExitCode int       // of "died"
	Time     time.Time // when the engine says it happened
}

// Follow runs the engine's event stream (`podman events`, `docker
// events`) for containers, from now on, and calls f with each event until
// ctx ends or the client exits; it then returns why. The client blocks on
// the engine's log (journal, socket) between events: following costs no
// wake-ups while nothing happens.
func (e *Engine) Follow(ctx context.Context, f func(Event)) error {
	bin, args := e.Binary, []string{"events", "--format", "{{json .}}", "--filter", "type=container"}
	if e.Kind == "podman" {
		args = []string{"events", "--format", "json", "--filter", "type=container"}
		// `podman events` on the journal keeps waking (measured: 75
		// times a second, idle: the Go runtime beside a cgo call blocked
		// in the journal); journalctl blocks until the journal changes.
		logger, err := e.run(ctx, e.Timeout, "info", "--format", "{{.Host.EventLogger}}")
		if err != nil {
			return err
		}
		if strings.TrimSpace(logger) == "journald" {
			bin, args = "journalctl", []string{"--follow", "--lines=0", "--output=json", "--no-pager",
				"SYSLOG_IDENTIFIER=podman", "PODMAN_TYPE=container"}
		}
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &limited{w: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, bin, err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if ev, ok := ParseEvent(sc.Bytes()); ok {
			f(ev)
		}
	}
	_, _ = io.Copy(io.Discard, out)
	err = cmd.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	msg := strings.TrimSpace(stderr.String())
	if err == nil {
		err = fmt.Errorf("exited")
	}
	if msg != "" {
		return fmt.Errorf("%s %s: %v: %s", bin, args[0], err, msg)
	}
	return fmt.Errorf("%s %s: %v", bin, args[0], err)
}

// limited keeps the first n bytes written to it.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// ParseEvent reads one line of either engine's JSON event stream, or
// podman's event as journalctl prints it in JSON; lines that are not
// container events are not ok.
func ParseEvent(line []byte) (Event, bool) {
	var j struct {
		Type     string `json:"PODMAN_TYPE"`
		Event    string `json:"PODMAN_EVENT"`
		Name     string `json:"PODMAN_NAME"`
		ExitCode string `json:"PODMAN_EXIT_CODE"`
		Time     string `json:"PODMAN_TIME"`
	}
	if err := json.Unmarshal(line, &j); err == nil && j.Event != "" {
		ev := Event{Name: j.Name, Action: j.Event}
		ev.ExitCode, _ = strconv.Atoi(j.ExitCode)
		ev.Time, _ = time.Parse(time.RFC3339Nano, j.Time)
		if j.Type != "container" || ev.Name == "" {
			return Event{}, false
		}
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		return ev, true
	}
	// podman: {"Name":"x","Status":"died","Time":"2026-...","Type":"container","ContainerExitCode":3,...}
	// docker: {"Type":"container","Action":"die","Actor":{"Attributes":{"name":"x","exitCode":"3"}},"timeNano":...}
	var raw struct {
		Name     string
		Status   string
		Type     string
		Action   string
		Time     json.RawMessage `json:"time"`
		TimeNano int64           `json:"timeNano"`
		ExitCode *int            `json:"ContainerExitCode"`
		Actor    struct {
			Attributes map[string]string
		}
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return Event{}, false
	}
	if raw.Type != "container" {
		return Event{}, false
	}
	var ev Event
	if raw.Action != "" { // docker
		ev.Name, ev.Action = raw.Actor.Attributes["name"], raw.Action
		if ev.Action == "die" {
			ev.Action = "died"
		}
		ev.ExitCode, _ = strconv.Atoi(raw.Actor.Attributes["exitCode"])
		if raw.TimeNano > 0 {
			ev.Time = time.Unix(0, raw.TimeNano)
		}
	} else { // podman
		ev.Name, ev.Action = raw.Name, raw.Status
		if raw.ExitCode != nil {
			ev.ExitCode = *raw.ExitCode
		}
		var s string
		if json.Unmarshal(raw.Time, &s) == nil {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				ev.Time = t
			}
		}
	}
	if ev.Name == "" || ev.Action == "" {
		return Event{}, false
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	return ev, true
}
