package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// TestWizardHidesSecrets: a value whose name or label says password,
// secret, token or key is read with the terminal's echo off, and the recap
// before the install shows it hidden, the other values as given.
func TestWizardHidesSecrets(t *testing.T) {
	ptmx, tty := openPTY(t)
	var echoed bytes.Buffer
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 1024)
		for {
			n, err := ptmx.Read(b)
			mu.Lock()
			echoed.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	prompts := &syncBuffer{}
	o := &output{out: io.Discard, err: prompts}
	w := newWizard(tty, o)
	if w.fd < 0 {
		t.Fatal("the pseudo-terminal is not taken for a terminal")
	}
	def := &catalog.RockOn{Name: "S", Containers: []catalog.Container{{Name: "app",
		Env: []catalog.Env{{Name: "DB_PASS", Label: "Database password"}, {Name: "TZ", Label: "Time zone"}}}}}
	ch := &model.Choices{}
	missing := []missingChoice{
		{kind: "env", container: "app", key: "DB_PASS", label: "Database password"},
		{kind: "env", container: "app", key: "TZ", label: "Time zone"},
	}
	filled := make(chan error, 1)
	go func() { filled <- w.fill(def, ch, missing) }()
	// each answer typed once its question is asked, as a person would
	for _, qa := range [][2]string{{"Value of DB_PASS: ", "hunter2-typed"}, {"Value of TZ: ", "Europe/Paris"}} {
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(prompts.String(), qa[0]); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no question %q:\n%s", qa[0], prompts.String())
			}
		}
		if _, err := io.WriteString(ptmx, qa[1]+"\r"); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-filled; err != nil {
		t.Fatal(err)
	}
	if got := ch.Containers["app"].Env; got["DB_PASS"] != "hunter2-typed" || got["TZ"] != "Europe/Paris" {
		t.Fatalf("answers = %q", got)
	}
	w.recap(def, ch)
	tty.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(echoed.String(), "hunter2") {
		t.Errorf("the terminal echoed the password: %q", echoed.String())
	}
	if !strings.Contains(echoed.String(), "Europe/Paris") {
		t.Errorf("the terminal did not echo the plain value (the check would prove nothing): %q", echoed.String())
	}
	if strings.Contains(prompts.String(), "hunter2") || !strings.Contains(prompts.String(), "DB_PASS = (hidden)") || !strings.Contains(prompts.String(), "TZ = Europe/Paris") {
		t.Errorf("recap:\n%s", prompts.String())
	}
}
