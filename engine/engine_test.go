package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rockon/rockon/sandbox"
)

func TestCheckRef(t *testing.T) {
	for _, bad := range []string{"", "-x", "--privileged", "a b", "a;b", "a\nb", "$(x)", "a`b`"} {
		if checkRef(bad) == nil {
			t.Errorf("checkRef(%q) accepted", bad)
		}
	}
	for _, good := range []string{"localhost/rockon-test:1", "ghcr.io/immich-app/immich-server:release", "rt-web", "img@sha256:0123"} {
		if err := checkRef(good); err != nil {
			t.Errorf("checkRef(%q) = %v", good, err)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New("lxc", ""); err == nil {
		t.Error("New(lxc) accepted")
	}
	e, err := New("podman", "")
	if err != nil || e.Binary != "/usr/bin/podman" {
		t.Errorf("New(podman) = %+v, %v", e, err)
	}
}

// wrapper writes a host script that runs the engine inside the sandbox.
func wrapper(t *testing.T, s *sandbox.Sandbox, engine string) string {
	path := filepath.Join(t.TempDir(), engine)
	script := fmt.Sprintf("#!/bin/sh\nexec nsenter -t %d -m -u -i -n -p --root -- /usr/bin/%s \"$@\"\n", s.PID, engine)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEngines(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test (boots systemd, runs engines): not in -short mode")
	}
	s := sandbox.New(t, sandbox.Options{Docker: true})
	for _, kind := range []string{"podman", "docker"} {
		t.Run(kind, func(t *testing.T) {
			s.LoadTestImages(t, kind)
			e, err := New(kind, wrapper(t, s, kind))
			if err != nil {
				t.Fatal(err)
			}
			testEngine(t, s, e)
		})
	}
}

func testEngine(t *testing.T, s *sandbox.Sandbox, e *Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// one process for several images; a missing one is left out
	imgs, err := e.Images(ctx, []string{"localhost/rockon-test:1", "localhost/rockon-test:vol1"})
	if err != nil || len(imgs) != 2 {
		t.Fatalf("Images(:1, :vol1) = %v, %v", imgs, err)
	}
	id1, vol := imgs["localhost/rockon-test:1"], imgs["localhost/rockon-test:vol1"]
	if id1.ID == "" || id1.ID == vol.ID || len(id1.Volumes) != 0 || id1.Size < 100_000 {
		t.Errorf("Images(:1) = %+v (the test program alone is larger than 100 kB; :vol1 %+v)", id1, vol)
	}
	if !slices.Equal(vol.Volumes, sandbox.TestImageVolumes) {
		t.Errorf("VOLUMEs of :vol1 = %q, want %q", vol.Volumes, sandbox.TestImageVolumes)
	}
	mixed, err := e.Images(ctx, []string{"localhost/rockon-missing:1", "localhost/rockon-test:2", "localhost/rockon-test:1"})
	if err != nil || len(mixed) != 2 || mixed["localhost/rockon-test:1"].ID != id1.ID || mixed["localhost/rockon-test:2"].ID == id1.ID {
		t.Errorf("Images(missing, :2, :1) = %+v, %v", mixed, err)
	}
	if none, err := e.Images(ctx, []string{"localhost/rockon-missing:1"}); err != nil || len(none) != 0 {
		t.Errorf("Images(missing) = %+v, %v, want none", none, err)
	}
	if _, err := e.Images(ctx, []string{"--all"}); err == nil {
		t.Error("Images accepted an option for a reference")
	}
	// the sandbox has no network: a registry pull fails, with the reference in the error
	if err := e.Pull(ctx, "registry.invalid/nothing:1", nil); err == nil || !strings.Contains(err.Error(), "registry.invalid/nothing:1") {
		t.Errorf("Pull without network = %v", err)
	}

	if err := e.Tag(ctx, "localhost/rockon-test:1", "localhost/rockon-test:tagged"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Images(ctx, []string{"localhost/rockon-test:tagged"}); got["localhost/rockon-test:tagged"].ID != id1.ID {
		t.Errorf("tagged image %+v, want ID %q", got, id1.ID)
	}
	removeTwice(t, "image", func() error { return e.RemoveImage(ctx, "localhost/rockon-test:tagged") },
		func() (bool, error) {
			got, err := e.Images(ctx, []string{"localhost/rockon-test:tagged"})
			return len(got) > 0, err
		})

	if ok, err := e.ContainerExists(ctx, "etest"); ok || err != nil {
		t.Fatalf("ContainerExists before = %v, %v", ok, err)
	}
	s.Run(t, filepath.Base(e.Binary), "create", "--name", "etest", "localhost/rockon-test:1")
	if ok, err := e.ContainerExists(ctx, "etest"); !ok || err != nil {
		t.Fatalf("ContainerExists after create = %v, %v", ok, err)
	}
	if ok, err := e.ContainerRunning(ctx, "etest"); ok || err != nil {
		t.Errorf("ContainerRunning(created) = %v, %v, want false", ok, err)
	}
	if ok, err := e.ContainerRunning(ctx, "etest-missing"); ok || err != nil {
		t.Errorf("ContainerRunning(missing) = %v, %v, want false, nil", ok, err)
	}
	if l, err := e.ExistingContainers(ctx, []string{"etest-missing", "etest", "etest-other"}); err != nil || len(l) != 1 || l[0] != "etest" {
		t.Errorf("ExistingContainers(missing, etest, missing) = %q, %v", l, err)
	}
	if l, err := e.ExistingContainers(ctx, []string{"etest-missing"}); err != nil || len(l) != 0 {
		t.Errorf("ExistingContainers(missing) = %q, %v", l, err)
	}
	if l, err := e.Containers(ctx, "etes"); err != nil || len(l) != 1 || l[0] != "etest" {
		t.Errorf("Containers = %q, %v", l, err)
	}
	removeTwice(t, "container", func() error { return e.RemoveContainer(ctx, "etest") },
		func() (bool, error) { return e.ContainerExists(ctx, "etest") })

	s.Run(t, filepath.Base(e.Binary), "network", "create", "rockon-etest")
	if ok, err := e.NetworkExists(ctx, "rockon-etest"); !ok || err != nil {
		t.Fatalf("NetworkExists = %v, %v", ok, err)
	}
	if l, err := e.Networks(ctx, "rockon-"); err != nil || len(l) != 1 {
		t.Errorf("Networks = %q, %v", l, err)
	}
	removeTwice(t, "network", func() error { return e.RemoveNetwork(ctx, "rockon-etest") },
		func() (bool, error) { return e.NetworkExists(ctx, "rockon-etest") })

	// labels, and a network a container is attached to
	if _, err := e.NetworkLabels(ctx, "rockon-etest"); !errors.Is(err, ErrNotFound) {
		t.Errorf("NetworkLabels(missing) = %v, want ErrNotFound", err)
	}
	bin := filepath.Base(e.Binary)
	s.Run(t, bin, "network", "create", "etest-plain")
	s.Run(t, bin, "network", "create", "--label", "org.rockon.created-by=etest", "etest-labelled")
	if l, err := e.NetworkLabels(ctx, "etest-plain"); err != nil || len(l) != 0 {
		t.Errorf("NetworkLabels(plain) = %v, %v", l, err)
	}
	if l, err := e.NetworkLabels(ctx, "etest-labelled"); err != nil || len(l) != 1 || l["org.rockon.created-by"] != "etest" {
		t.Errorf("NetworkLabels(labelled) = %v, %v", l, err)
	}
	// running: docker lets a network of stopped containers go
	s.Run(t, bin, "run", "--detach", "--name", "etest-attached", "--network", "etest-labelled", "localhost/rockon-test:1")
	if ok, err := e.ContainerRunning(ctx, "etest-attached"); !ok || err != nil {
		t.Errorf("ContainerRunning(running) = %v, %v, want true", ok, err)
	}
	if err := e.RemoveNetwork(ctx, "etest-labelled"); !errors.Is(err, ErrNetworkInUse) {
		t.Errorf("RemoveNetwork(in use) = %v, want ErrNetworkInUse", err)
	}
	if err := e.RemoveContainer(ctx, "etest-attached"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"etest-labelled", "etest-plain"} {
		if err := e.RemoveNetwork(ctx, n); err != nil {
			t.Errorf("RemoveNetwork(%s): %v", n, err)
		}
	}
}

// TestTimeout: a hung engine client does not hang the caller.
// removeTwice removes a thing twice, the second time one that is gone
// already, which must not fail either, and checks that it is gone.
func removeTwice(t *testing.T, what string, remove func() error, exists func() (bool, error)) {
	t.Helper()
	for i := range 2 {
		if err := remove(); err != nil {
			t.Errorf("removing the %s (time %d): %v", what, i+1, err)
		}
	}
	if ok, err := exists(); ok || err != nil {
		t.Errorf("%s exists after removal = %v, %v, want false, nil", what, ok, err)
	}
}

func TestTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hung")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := &Engine{Kind: "podman", Binary: path, Timeout: 300 * time.Millisecond, PullTimeout: 300 * time.Millisecond}
	if _, err := e.Images(context.Background(), []string{"x:1"}); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("Images on a hung engine = %v", err)
	}
	if err := e.Pull(context.Background(), "x:1", nil); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("Pull on a hung engine = %v", err)
	}
}

func TestSkopeoMessage(t *testing.T) {
	for in, want := range map[string]string{
		`time="2026-11-30T01:13:04Z" level=fatal msg="Error parsing image name \"docker://flaky.example/a/b:1\": reading manifest 1 in flaky.example/a/b: unauthorized"`: "reading manifest 1 in flaky.example/a/b: unauthorized",
		`time="2026-11-30T01:14:18Z" level=fatal msg="unexpected EOF"`: "unexpected EOF",
		`not a log record`:                       "not a log record",
		`time="x" level=fatal msg="unterminated`: `time="x" level=fatal msg="unterminated`,
	} {
		if got := skopeoMessage(in); got != want {
			t.Errorf("skopeoMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
