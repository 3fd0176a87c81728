package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultSkopeo is where the skopeo binary is looked for.
const DefaultSkopeo = "/usr/bin/skopeo"

// RepoDigests returns the manifest digests ("repository@sha256:...") the
// engine recorded for a local image (by ID or name) when it was pulled.
func (e *Engine) RepoDigests(ctx context.Context, image string) ([]string, error) {
	out, err := e.inspect(ctx, "image", image, "{{json .RepoDigests}}")
	if err != nil {
		return nil, err
	}
	var digests []string
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &digests); err != nil {
		return nil, fmt.Errorf("digests of %s: %q: %w", image, out, err)
	}
	return digests, nil
}

// RegistryDigest asks ref's registry for the digest of the manifest its
// tag points at, without pulling anything: skopeo fetches the manifest
// (and the small config blob) with the same containers/image library and
// configuration podman uses (registries.conf mirrors and insecure
// registries, certs.d, auth.json), and also reads docker's certs.d and
// ~/.docker/config.json logins. The digest is that of the tag's top-level
// manifest (an index for a multi-platform image), which is what both
// engines record in RepoDigests on a pull by tag. An error is the cause
// alone: the caller names the image and the registry.
func (e *Engine) RegistryDigest(ctx context.Context, ref string) (string, error) {
	if err := checkRef(ref); err != nil {
		return "", err
	}
	bin := e.Skopeo
	if bin == "" {
		bin = DefaultSkopeo
	}
	timeout := e.CheckTimeout
	if timeout <= 0 {
		timeout = e.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "inspect", "--no-tags", "--format", "{{.Digest}}", "docker://"+ref)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return "", fmt.Errorf("no answer from the registry: timed out after %s", timeout)
		}
		if _, ok := err.(*exec.ExitError); !ok {
			return "", fmt.Errorf("%s cannot be run (install skopeo): %v", bin, err)
		}
		return "", errors.New(skopeoMessage(lastLine(stderr.String())))
	}
	d := strings.TrimSpace(string(out))
	if !strings.HasPrefix(d, "sha256:") {
		return "", fmt.Errorf("unexpected digest %q", d)
	}
	return d, nil
}

// skopeoMessage is the message of skopeo's last error line, which is a
// log record (time="..." level=fatal msg="Error parsing image name
// \"docker://REF\": CAUSE"): the cause alone, since the caller names the
// image and registry.
func skopeoMessage(line string) string {
	if i := strings.Index(line, " msg="); i >= 0 {
		if m, err := strconv.Unquote(line[i+len(" msg="):]); err == nil {
			line = m
		}
	}
	line = parsingName.ReplaceAllString(line, "")
	return strings.ReplaceAll(line, "\n", " ")
}

var parsingName = regexp.MustCompile(`^Error parsing image name "[^"]*": `)
