package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// pullRef is the image measurement 9 pulls from the sandbox's stand-in
// Docker Hub, named as the catalog names images (no registry host).
const pullRef = "rockonbench/pull:1"

func init() {
	addDefinition("pull-bench.json", "Pull Bench",
		`      "pull-bench": {"image": "rockonbench/pull", "tag": "1", "launch_order": 1}`)
}

// measurePull compares rockon's pull (an install that does not start:
// the pull, the unit files) with the engine's own pull of
// the same image, both over HTTPS from the sandbox's registry with the
// image absent beforehand.
func measurePull(ctx context.Context, e *env, reps int) ([]Row, error) {
	full := "docker.io/" + pullRef
	if err := e.s.LoadImages(ctx, "podman"); err != nil {
		return nil, err
	}
	if _, err := e.run(ctx, "podman", "push", "--quiet", "localhost/rockon-test:2", "docker://"+full); err != nil {
		return nil, err
	}
	if e.engine == "podman" {
		// the pushed-from image shares the layers: without it every byte is pulled
		if _, err := e.run(ctx, "podman", "rmi", "--force", "localhost/rockon-test:2"); err != nil {
			return nil, err
		}
	}
	size := ""
	var mine, base []float64
	for i := 0; i < reps; i++ {
		_, _ = e.run(ctx, e.engine, "rmi", "--force", full)
		time.Sleep(time.Second)
		t0 := time.Now()
		if _, err := e.run(ctx, e.engine, "pull", full); err != nil {
			return nil, err
		}
		base = append(base, ms(time.Since(t0)))
		if size == "" {
			out, _ := e.run(ctx, e.engine, "image", "inspect", "--format", "{{.Size}}", full)
			size = strings.TrimSpace(out)
		}
		if _, err := e.run(ctx, e.engine, "rmi", "--force", full); err != nil {
			return nil, err
		}
		time.Sleep(time.Second)
		t0 = time.Now()
		if _, err := e.rockon(ctx, "install", "--no-input", "--no-start", "Pull Bench"); err != nil {
			return nil, err
		}
		mine = append(mine, ms(time.Since(t0)))
		if _, err := e.rockon(ctx, "uninstall", "Pull Bench"); err != nil {
			return nil, err
		}
	}
	return []Row{{
		Name: fmt.Sprintf("9 pull of a %s-byte image (%s): rockon install --no-start", size, e.engine), Unit: "ms", Samples: mine,
		Baseline: e.engine + " pull", Base: base,
		Note: "both over HTTPS from the sandbox's registry, image absent before; rockon adds the image and name checks and the unit files",
	}}, nil
}
