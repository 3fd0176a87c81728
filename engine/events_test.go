package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Lines as podman 4.3 and docker 20.10 print them for a container that
// exits 1 at once.
func TestParseEvent(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
		want Event
	}{
		{`{"ContainerExitCode":1,"ID":"910d","Image":"localhost/rockon-test:broken","Name":"evt","Status":"died","Time":"2026-11-30T00:49:25.52533193Z","Type":"container","Attributes":{"org.rockon.test.version":"broken"}}`,
			true, Event{Name: "evt", ID: "910d", Action: "died", ExitCode: 1, Time: time.Date(2026, 11, 30, 0, 49, 25, 525331930, time.UTC)}},
		{`{"ID":"910d","Image":"localhost/rockon-test:broken","Name":"evt","Status":"start","Time":"2026-11-30T00:49:25.514150499Z","Type":"container","Attributes":{}}`,
			true, Event{Name: "evt", ID: "910d", Action: "start", Time: time.Date(2026, 11, 30, 0, 49, 25, 514150499, time.UTC)}},
		{`{"status":"die","id":"a351","from":"localhost/rockon-test:broken","Type":"container","Action":"die","Actor":{"ID":"a351","Attributes":{"exitCode":"1","image":"localhost/rockon-test:broken","name":"evt2"}},"scope":"local","time":1795999766,"timeNano":1795999766925029224}`,
			true, Event{Name: "evt2", ID: "a351", Action: "died", ExitCode: 1, Time: time.Unix(0, 1795999766925029224)}},
		{`{"status":"start","id":"a351","Type":"container","Action":"start","Actor":{"ID":"a351","Attributes":{"name":"evt2"}},"scope":"local","time":1795999766,"timeNano":1795999766818511849}`,
			true, Event{Name: "evt2", ID: "a351", Action: "start", Time: time.Unix(0, 1795999766818511849)}},
		// journalctl's JSON of podman's journald event
		{`{"PODMAN_TYPE":"container","PODMAN_IMAGE":"localhost/rockon-test:broken","__REALTIME_TIMESTAMP":"1795999765525593","PODMAN_TIME":"2026-11-30T00:49:25.52533193Z","PODMAN_EXIT_CODE":"1","PODMAN_ID":"910d","MESSAGE":"container died","PODMAN_EVENT":"died","SYSLOG_IDENTIFIER":"podman","PODMAN_NAME":"evt"}`,
			true, Event{Name: "evt", ID: "910d", Action: "died", ExitCode: 1, Time: time.Date(2026, 11, 30, 0, 49, 25, 525331930, time.UTC)}},
		// podman's marker when the stream begins: no container
		{`{"ID":"910d","Status":"history","Time":"2026-11-30T00:49:25.130761302Z","Type":"container","Attributes":null}`, false, Event{}},
		{`{"Type":"network","Action":"connect","Actor":{"Attributes":{"name":"bridge"}}}`, false, Event{}},
		{`not json`, false, Event{}},
	} {
		got, ok := ParseEvent([]byte(tc.line))
		if ok != tc.ok || ok && (got.Name != tc.want.Name || got.ID != tc.want.ID || got.Action != tc.want.Action || got.ExitCode != tc.want.ExitCode || !got.Time.Equal(tc.want.Time)) {
			t.Errorf("ParseEvent(%s) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// Each death is told once, by whichever source tells it first; a start
// of the same container makes its next death news again.
func TestFollowerTellsEachDeathOnce(t *testing.T) {
	var got []Event
	fl := &follower{f: func(ev Event) { got = append(got, ev) }, names: map[string]string{}, told: map[string]bool{}}
	fl.tell(Event{ID: "c1", Name: "web", Action: "start"})
	fl.tell(Event{ID: "c1", Name: "web", Action: "died", ExitCode: 3}) // the exit file
	fl.tell(Event{ID: "c1", Name: "web", Action: "died", ExitCode: 3}) // the journal, later
	fl.tell(Event{ID: "c1", Name: "web", Action: "start"})
	fl.tell(Event{ID: "c1", Name: "web", Action: "died", ExitCode: 1})
	fl.tell(Event{ID: "c1", Name: "web", Action: "remove"})
	var actions []string
	for _, ev := range got {
		actions = append(actions, ev.Action)
	}
	if want := "start died start died remove"; strings.Join(actions, " ") != want {
		t.Errorf("told %q, want %q", strings.Join(actions, " "), want)
	}
	if fl.names["c1"] != "" || fl.told["c1"] {
		t.Errorf("a removed container is still remembered: %v %v", fl.names, fl.told)
	}
}

// An exit file conmon writes for a container the stream saw start is told
// as its death, with the status the file holds.
func TestWatchExitsTellsADeathFromItsExitFile(t *testing.T) {
	dir := t.TempDir()
	got := make(chan Event, 16)
	fl := &follower{f: func(ev Event) { got <- ev }, names: map[string]string{"0a16": "web"}, told: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e := &Engine{Kind: "podman", Binary: "/bin/false", Timeout: time.Minute}
	go func() { defer close(done); e.watchExits(ctx, fl, dir) }()
	defer func() { cancel(); <-done }()
	// a stranger's exit is not told; written again until the watch,
	// set up concurrently, sees one of ours
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := os.WriteFile(filepath.Join(dir, "ffff"), []byte("9"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "0a16"), []byte("3"), 0o600); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-got:
			if ev.Name != "web" || ev.ID != "0a16" || ev.Action != "died" || ev.ExitCode != 3 || ev.Time.IsZero() {
				t.Fatalf("told %+v, want web (0a16) died with status 3", ev)
			}
			return
		case <-tick.C:
		}
	}
}

// Lines of `ctr events` (containerd 1.6): a container's own process ends,
// with status 0 (omitted) and 3; a `docker exec` ends; another namespace.
func TestParseTaskExit(t *testing.T) {
	for _, tc := range []struct {
		line string
		id   string
		code int
		ok   bool
	}{
		{`2026-11-30 04:24:38.06648101 +0000 UTC moby /tasks/exit {"container_id":"0132","id":"0132","pid":1659,"exited_at":"2026-11-30T04:24:38.066358708Z"}`, "0132", 0, true},
		{`2026-11-30 04:06:56.667555339 +0000 UTC moby /tasks/exit {"container_id":"aa07","id":"aa07","pid":979,"exit_status":3,"exited_at":"2026-11-30T04:06:56.650358708Z"}`, "aa07", 3, true},
		{`2026-11-30 04:06:56.667555339 +0000 UTC moby /tasks/exit {"container_id":"aa07","id":"9f1e","pid":990,"exit_status":1,"exited_at":"2026-11-30T04:06:56.650358708Z"}`, "", 0, false},
		{`2026-11-30 04:06:56.667555339 +0000 UTC k8s.io /tasks/exit {"container_id":"aa07","id":"aa07","pid":979,"exit_status":3}`, "", 0, false},
		{`2026-11-30 04:06:56.842049767 +0000 UTC moby /tasks/delete {"container_id":"aa07","pid":979,"exit_status":3}`, "", 0, false},
	} {
		id, code, at, ok := parseTaskExit(tc.line)
		if ok != tc.ok || id != tc.id || code != tc.code || ok && at.IsZero() {
			t.Errorf("parseTaskExit(%s) = %q, %d, %v, %v; want %q, %d, %v", tc.line, id, code, at, ok, tc.id, tc.code, tc.ok)
		}
	}
}
