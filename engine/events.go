package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Event is one container event of the engine's own stream.
type Event struct {
	Name string // container name
	ID   string // container ID, as the engine prints it
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
// wake-ups while nothing happens. Beside the stream it watches the exit
// files of podman's conmon (watchExits) or docker's containerd task events
// (watchTaskExits), which tell a death long before the engine's stream
// does. f is called from one goroutine at a time.
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
	fl := &follower{f: f, names: map[string]string{}, told: map[string]bool{}}
	exitsCtx, stopExits := context.WithCancel(ctx)
	exitsDone := make(chan struct{})
	go func() {
		defer close(exitsDone)
		if e.ExitDir != "" {
			e.watchExits(exitsCtx, fl, e.ExitDir)
		}
		for _, sock := range e.Containerd {
			if _, err := os.Stat(sock); err == nil {
				e.watchTaskExits(exitsCtx, fl, sock)
				break
			}
		}
	}()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if ev, ok := ParseEvent(sc.Bytes()); ok {
			fl.tell(ev)
		}
	}
	_, _ = io.Copy(io.Discard, out)
	err = cmd.Wait()
	stopExits()
	<-exitsDone
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

// follower merges the event stream and the exit files into one sequence
// of events, each death told once.
type follower struct {
	mu sync.Mutex
	f  func(Event)
	// names: container ID -> name, of the containers the stream saw start
	// (or that ran when the exit files were first watched): an exit file
	// names only the ID.
	names map[string]string
	// told: IDs whose death one source told; the other source's word on
	// it is dropped.
	told map[string]bool
}

func (fl *follower) tell(ev Event) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if ev.ID != "" {
		switch ev.Action {
		case "died":
			if fl.told[ev.ID] {
				delete(fl.told, ev.ID)
				return
			}
			fl.told[ev.ID] = true
		case "start":
			fl.names[ev.ID] = ev.Name
			delete(fl.told, ev.ID)
		case "remove", "destroy":
			delete(fl.names, ev.ID)
			delete(fl.told, ev.ID)
		}
	}
	fl.f(ev)
}

// learnRunning adds the containers that run already, started before the
// stream began, to fl's names.
func (e *Engine) learnRunning(ctx context.Context, fl *follower) {
	ps, err := e.run(ctx, e.Timeout, "ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}")
	if err != nil {
		return
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	for _, line := range strings.Split(ps, "\n") {
		if id, name, ok := strings.Cut(strings.TrimSpace(line), " "); ok && fl.names[id] == "" {
			fl.names[id] = name
		}
	}
}

// died tells the death of the container id, when the stream saw it start.
func (fl *follower) died(id string, code int, at time.Time) {
	fl.mu.Lock()
	name := fl.names[id]
	fl.mu.Unlock()
	if name != "" {
		fl.tell(Event{Name: name, ID: id, Action: "died", ExitCode: code, Time: at})
	}
}

// watchTaskExits tells each docker container death as containerd
// publishes it (its /tasks/exit event, read with containerd's own client
// ctr): docker's "die" comes after dockerd has handled the exit (730 ms
// after it measured at load 25, containerd's event 17 ms). ctr blocks on
// containerd's socket: no wake-ups while nothing happens (measured 0 in
// 30 s). Without ctr the stream alone tells.
func (e *Engine) watchTaskExits(ctx context.Context, fl *follower, sock string) {
	cmd := exec.CommandContext(ctx, "ctr", "--address", sock, "events")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return
	}
	if err := cmd.Start(); err != nil {
		return
	}
	defer func() { _ = cmd.Wait() }()
	e.learnRunning(ctx, fl)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if id, code, at, ok := parseTaskExit(sc.Text()); ok {
			fl.died(id, code, at)
		}
	}
	_, _ = io.Copy(io.Discard, out)
}

// parseTaskExit reads one line of `ctr events`: "TIME moby /tasks/exit
// {JSON}" is the end of a process of docker's (namespace moby); only the
// container's own first process (id = container_id, not a `docker exec`)
// is the container's death.
func parseTaskExit(line string) (id string, code int, at time.Time, ok bool) {
	const topic = " moby /tasks/exit "
	i := strings.Index(line, topic)
	if i < 0 {
		return "", 0, time.Time{}, false
	}
	var j struct {
		ContainerID string    `json:"container_id"`
		ID          string    `json:"id"`
		ExitStatus  int       `json:"exit_status"`
		ExitedAt    time.Time `json:"exited_at"`
	}
	if err := json.Unmarshal([]byte(line[i+len(topic):]), &j); err != nil || j.ContainerID == "" || j.ID != j.ContainerID {
		return "", 0, time.Time{}, false
	}
	if j.ExitedAt.IsZero() {
		j.ExitedAt = time.Now()
	}
	return j.ContainerID, j.ExitStatus, j.ExitedAt, true
}

// watchExits tells each container death that conmon records in dir (one
// file per container ID holding its exit status, written the moment the
// container exits; measured 3-35 ms after the exit). The journal has the
// same death only after journald's and journalctl's own delays (journald
// tells readers of new entries in batches: 250-870 ms measured between
// an entry's arrival and `journalctl --follow` printing it). inotify
// blocks in the kernel: no wake-ups while nothing exits. Without the
// directory (another tmp_dir in containers.conf) the stream alone tells.
func (e *Engine) watchExits(ctx context.Context, fl *follower, dir string) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return
	}
	file := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close ends a Read
	defer file.Close()
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO); err != nil {
		return
	}
	stop := context.AfterFunc(ctx, func() { _ = file.Close() })
	defer stop()
	e.learnRunning(ctx, fl)
	buf := make([]byte, 64*1024)
	for {
		n, err := file.Read(buf)
		if err != nil {
			return
		}
		// struct inotify_event: wd, mask, cookie, len (uint32 each), name
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			l := int(binary.NativeEndian.Uint32(buf[off+12:]))
			start := off + unix.SizeofInotifyEvent
			if start+l > n {
				break
			}
			id := string(bytes.TrimRight(buf[start:start+l], "\x00"))
			off = start + l
			if id == "" {
				continue
			}
			path := filepath.Join(dir, id)
			b, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			code, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				continue
			}
			at := time.Now()
			if fi, err := os.Stat(path); err == nil {
				at = fi.ModTime()
			}
			fl.died(id, code, at)
		}
	}
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
		ID       string `json:"PODMAN_ID"`
		ExitCode string `json:"PODMAN_EXIT_CODE"`
		Time     string `json:"PODMAN_TIME"`
	}
	if err := json.Unmarshal(line, &j); err == nil && j.Event != "" {
		ev := Event{Name: j.Name, ID: j.ID, Action: j.Event}
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
		ID       string
		Status   string
		Type     string
		Action   string
		Time     json.RawMessage `json:"time"`
		TimeNano int64           `json:"timeNano"`
		ExitCode *int            `json:"ContainerExitCode"`
		Actor    struct {
			ID         string
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
		ev.Name, ev.ID, ev.Action = raw.Actor.Attributes["name"], raw.Actor.ID, raw.Action
		if ev.Action == "die" {
			ev.Action = "died"
		}
		ev.ExitCode, _ = strconv.Atoi(raw.Actor.Attributes["exitCode"])
		if raw.TimeNano > 0 {
			ev.Time = time.Unix(0, raw.TimeNano)
		}
	} else { // podman
		ev.Name, ev.ID, ev.Action = raw.Name, raw.ID, raw.Status
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
