package engine

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Storage asks the engine where it keeps images and containers, which
// also proves that it answers: podman's graph root (podman reads its
// storage configuration to answer, in the caller's context), docker's
// root directory (dockerd must be running to answer).
func (e *Engine) Storage(ctx context.Context) (string, error) {
	format := "{{.Store.GraphRoot}}"
	if e.Kind == "docker" {
		format = "{{.DockerRootDir}}"
	}
	out, err := e.run(ctx, min(e.Timeout, 30*time.Second), "info", "--format", format)
	if err != nil {
		return "", err
	}
	root := strings.TrimSpace(out)
	if root == "" {
		return "", errors.New(e.Kind + " info gave no storage directory")
	}
	return root, nil
}
