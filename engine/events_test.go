package engine

import (
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
			true, Event{Name: "evt", Action: "died", ExitCode: 1, Time: time.Date(2026, 11, 30, 0, 49, 25, 525331930, time.UTC)}},
		{`{"ID":"910d","Image":"localhost/rockon-test:broken","Name":"evt","Status":"start","Time":"2026-11-30T00:49:25.514150499Z","Type":"container","Attributes":{}}`,
			true, Event{Name: "evt", Action: "start", Time: time.Date(2026, 11, 30, 0, 49, 25, 514150499, time.UTC)}},
		{`{"status":"die","id":"a351","from":"localhost/rockon-test:broken","Type":"container","Action":"die","Actor":{"ID":"a351","Attributes":{"exitCode":"1","image":"localhost/rockon-test:broken","name":"evt2"}},"scope":"local","time":1795999766,"timeNano":1795999766925029224}`,
			true, Event{Name: "evt2", Action: "died", ExitCode: 1, Time: time.Unix(0, 1795999766925029224)}},
		{`{"status":"start","id":"a351","Type":"container","Action":"start","Actor":{"ID":"a351","Attributes":{"name":"evt2"}},"scope":"local","time":1795999766,"timeNano":1795999766818511849}`,
			true, Event{Name: "evt2", Action: "start", Time: time.Unix(0, 1795999766818511849)}},
		// journalctl's JSON of podman's journald event
		{`{"PODMAN_TYPE":"container","PODMAN_IMAGE":"localhost/rockon-test:broken","__REALTIME_TIMESTAMP":"1795999765525593","PODMAN_TIME":"2026-11-30T00:49:25.52533193Z","PODMAN_EXIT_CODE":"1","PODMAN_ID":"910d","MESSAGE":"container died","PODMAN_EVENT":"died","SYSLOG_IDENTIFIER":"podman","PODMAN_NAME":"evt"}`,
			true, Event{Name: "evt", Action: "died", ExitCode: 1, Time: time.Date(2026, 11, 30, 0, 49, 25, 525331930, time.UTC)}},
		// podman's marker when the stream begins: no container
		{`{"ID":"910d","Status":"history","Time":"2026-11-30T00:49:25.130761302Z","Type":"container","Attributes":null}`, false, Event{}},
		{`{"Type":"network","Action":"connect","Actor":{"Attributes":{"name":"bridge"}}}`, false, Event{}},
		{`not json`, false, Event{}},
	} {
		got, ok := ParseEvent([]byte(tc.line))
		if ok != tc.ok || ok && (got.Name != tc.want.Name || got.Action != tc.want.Action || got.ExitCode != tc.want.ExitCode || !got.Time.Equal(tc.want.Time)) {
			t.Errorf("ParseEvent(%s) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}
