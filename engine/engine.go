// Package engine drives a container engine (docker or podman) through its
// command-line client. Every call runs the client with an argument vector,
// never a shell string, and with a timeout, so a hung engine cannot hang the
// daemon.
package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Engine is one container engine client.
type Engine struct {
	Kind   string // "docker" or "podman"
	Binary string // path of the client binary
	// Timeout bounds every call except Pull and RegistryDigest;
	// PullTimeout bounds Pull, CheckTimeout RegistryDigest (0: Timeout).
	Timeout      time.Duration
	PullTimeout  time.Duration
	CheckTimeout time.Duration
	// Skopeo is the skopeo binary update checks ask registries with;
	// "" means DefaultSkopeo.
	Skopeo string
	// ExitDir is where podman's conmon writes a container's exit status
	// (the engine's tmp_dir + "/exits"); Follow watches it. "": not watched.
	ExitDir string
	// Containerd lists the sockets of the containerd docker may use, in
	// dockerd's own order of preference (the system's, else its own);
	// Follow reads the first that exists's task events with ctr.
	Containerd []string
}

// ErrNotFound is returned when an image, container or network does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnavailable is returned when the engine's binary cannot be run at all
// (missing, not executable): never to be mistaken for a missing image.
var ErrUnavailable = errors.New("container engine cannot be run")

// New returns an engine of the given kind; binary "" means the default path.
func New(kind, binary string) (*Engine, error) {
	switch kind {
	case "docker", "podman":
	default:
		return nil, fmt.Errorf("unknown container engine %q (want docker or podman)", kind)
	}
	if binary == "" {
		binary = "/usr/bin/" + kind
	}
	e := &Engine{Kind: kind, Binary: binary, Timeout: 2 * time.Minute, PullTimeout: 30 * time.Minute}
	if kind == "podman" {
		e.ExitDir = "/run/libpod/exits" // root's tmp_dir by default
	} else {
		e.Containerd = []string{"/run/containerd/containerd.sock", "/var/run/docker/containerd/containerd.sock"}
	}
	return e, nil
}

// LocalOnly reports whether ref names an image that no registry serves
// (localhost/...): such images are never pulled.
func LocalOnly(ref string) bool {
	return strings.HasPrefix(ref, "localhost/")
}

// checkRef refuses references that could be taken for options or that
// hold characters no image reference has.
func checkRef(ref string) error {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return fmt.Errorf("invalid image or object name %q", ref)
	}
	for _, r := range ref {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(";|&$`\"'\\", r) {
			return fmt.Errorf("invalid image or object name %q", ref)
		}
	}
	return nil
}

func (e *Engine) run(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Binary, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return "", fmt.Errorf("%s %s: timed out after %s", e.Kind, args[0], timeout)
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return "", fmt.Errorf("%w: %s: %v", ErrUnavailable, e.Binary, err)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return out.String(), fmt.Errorf("%s %s: %w: %s", e.Kind, strings.Join(args, " "), err, msg)
	}
	return out.String(), nil
}

// inspect runs `KIND inspect` on one object, with a --format when format is
// not empty. An object the engine does not have is an error wrapping
// ErrNotFound.
func (e *Engine) inspect(ctx context.Context, kind, name, format string) (string, error) {
	if err := checkRef(name); err != nil {
		return "", err
	}
	args := []string{kind, "inspect"}
	if format != "" {
		args = append(args, "--format", format)
	}
	out, err := e.run(ctx, e.Timeout, append(args, "--", name)...)
	if err != nil && isMissing(err) {
		return "", fmt.Errorf("%s %s: %w", kind, name, ErrNotFound)
	}
	return out, err
}

// exists turns inspect's answer into whether the object exists.
func exists(err error) (bool, error) {
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Image is what rockon keeps of a local image.
type Image struct {
	ID      string
	Volumes []string // the VOLUMEs its config declares, sorted
	Size    int64    // bytes
}

// Images inspects the local images refs name with one engine process
// (each is a process start, 0.1-0.3 s on a small machine, more under
// load) and returns those present; a missing one is not in the map and
// not an error.
func (e *Engine) Images(ctx context.Context, refs []string) (map[string]Image, error) {
	out := map[string]Image{}
	if len(refs) == 0 {
		return out, nil
	}
	for _, r := range refs {
		if err := checkRef(r); err != nil {
			return nil, err
		}
	}
	args := append([]string{"image", "inspect", "--"}, refs...)
	text, err := e.run(ctx, e.Timeout, args...)
	if err != nil {
		if !isMissing(err) {
			return nil, err
		}
		if len(refs) == 1 {
			return out, nil
		}
		// one of them is missing: both clients then fail the whole call,
		// so ask one by one (a pull follows, which costs far more)
		for _, r := range refs {
			one, err := e.Images(ctx, []string{r})
			if err != nil {
				return nil, err
			}
			maps.Copy(out, one)
		}
		return out, nil
	}
	var imgs []struct {
		ID     string `json:"Id"`
		Size   int64
		Config struct{ Volumes map[string]any }
	}
	if err := json.Unmarshal([]byte(text), &imgs); err != nil {
		return nil, fmt.Errorf("%s image inspect %s: %w", e.Kind, strings.Join(refs, " "), err)
	}
	// one object per reference, in their order (a reference given twice
	// is inspected twice)
	if len(imgs) != len(refs) {
		return nil, fmt.Errorf("%s image inspect %s: %d images for %d references", e.Kind, strings.Join(refs, " "), len(imgs), len(refs))
	}
	for i, im := range imgs {
		vols := slices.Sorted(maps.Keys(im.Config.Volumes))
		out[refs[i]] = Image{ID: im.ID, Volumes: vols, Size: im.Size}
	}
	return out, nil
}

// VolumeExists reports whether a volume exists.
func (e *Engine) VolumeExists(ctx context.Context, name string) (bool, error) {
	_, err := e.run(ctx, e.Timeout, "volume", "inspect", "--", name)
	if err == nil {
		return true, nil
	}
	if isMissing(err) {
		return false, nil
	}
	return false, err
}

// RemoveVolume removes a volume; one that does not exist is not an error.
func (e *Engine) RemoveVolume(ctx context.Context, name string) error {
	_, err := e.run(ctx, e.Timeout, "volume", "rm", "--", name)
	if err != nil && !isMissing(err) {
		return err
	}
	return nil
}

// isMissing tells "no such object" failures from others by the exit status
// and the clients' messages (both exit 1 or 125 and say so on stderr).
func isMissing(err error) bool {
	if errors.Is(err, ErrUnavailable) {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"no such", "not found", "does not exist", "unknown image", "not known", "no container with name", "unable to find"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Progress is called with each line an image pull prints.
type Progress func(line string)

// Pull fetches ref from its registry; progress, when not nil, gets the
// client's output line by line.
func (e *Engine) Pull(ctx context.Context, ref string, progress Progress) error {
	if err := checkRef(ref); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.PullTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Binary, "pull", "--", ref)
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	var stderr bytes.Buffer
	cmd.Stderr = io.MultiWriter(&stderr, pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			if progress != nil {
				progress(sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("pulling %s: timed out after %s", ref, e.PullTimeout)
		}
		msg := lastLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("pulling %s: %s", ref, msg)
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Tag gives the image src the additional name dst.
func (e *Engine) Tag(ctx context.Context, src, dst string) error {
	if err := checkRef(src); err != nil {
		return err
	}
	if err := checkRef(dst); err != nil {
		return err
	}
	_, err := e.run(ctx, e.Timeout, "tag", src, dst)
	return err
}

// RemoveImage removes an image name; a missing image is not an error.
func (e *Engine) RemoveImage(ctx context.Context, ref string) error {
	return e.remove(ctx, ref, "image", "rm")
}

// remove runs the removal command of one object; one the engine does not
// have is not an error.
func (e *Engine) remove(ctx context.Context, name string, command ...string) error {
	if err := checkRef(name); err != nil {
		return err
	}
	_, err := e.run(ctx, e.Timeout, append(command, "--", name)...)
	if err != nil && isMissing(err) {
		return nil
	}
	return err
}

// ContainerExists reports whether a container of that name exists.
func (e *Engine) ContainerExists(ctx context.Context, name string) (bool, error) {
	_, err := e.inspect(ctx, "container", name, "{{.Id}}")
	return exists(err)
}

// ExistingContainers returns which of names are container names the engine
// has, with one engine process. (`ps --all` would list them too, but it
// reads every container's state and fails while another container's
// network namespace is being set up or torn down.)
func (e *Engine) ExistingContainers(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	for _, n := range names {
		if err := checkRef(n); err != nil {
			return nil, err
		}
	}
	// Both clients print the objects found and fail for the missing ones.
	out, err := e.run(ctx, e.Timeout, append([]string{"container", "inspect", "--format", "{{.Name}}", "--"}, names...)...)
	if err != nil && !isMissing(err) {
		return nil, err
	}
	var found []string
	for _, l := range strings.Split(out, "\n") {
		// docker's names start with a slash; a name given may also
		// have matched another container's ID, whose name is not one
		// given
		if n := strings.TrimPrefix(strings.TrimSpace(l), "/"); slices.Contains(names, n) && !slices.Contains(found, n) {
			found = append(found, n)
		}
	}
	return found, nil
}

// ContainerRunning tells whether a container exists and is running.
func (e *Engine) ContainerRunning(ctx context.Context, name string) (bool, error) {
	out, err := e.inspect(ctx, "container", name, "{{.State.Running}}")
	if ok, err := exists(err); !ok {
		return false, err
	}
	return strings.TrimSpace(out) == "true", nil
}

// ContainerAddrs tells whether a container runs and gives its IP
// addresses on its networks (none on the host's network).
func (e *Engine) ContainerAddrs(ctx context.Context, name string) (bool, []string, error) {
	out, err := e.inspect(ctx, "container", name, "{{.State.Running}}{{range .NetworkSettings.Networks}} {{.IPAddress}}{{end}}")
	if ok, err := exists(err); !ok {
		return false, nil, err
	}
	f := strings.Fields(out)
	if len(f) == 0 || f[0] != "true" {
		return false, nil, nil
	}
	return true, f[1:], nil
}

// RemoveContainer force-removes a container; a missing one is not an error.
func (e *Engine) RemoveContainer(ctx context.Context, name string) error {
	err := e.remove(ctx, name, "rm", "--force")
	if err != nil && strings.Contains(err.Error(), "already in progress") {
		// someone else (the unit's own clean-up, or --rm) is removing it:
		// wait for that to finish
		deadline := time.Now().Add(e.Timeout)
		for time.Now().Before(deadline) {
			ok, cerr := e.ContainerExists(ctx, name)
			if cerr == nil && !ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return err
}

// NetworkExists reports whether a network of that name exists.
func (e *Engine) NetworkExists(ctx context.Context, name string) (bool, error) {
	_, err := e.inspect(ctx, "network", name, "")
	return exists(err)
}

// ErrNetworkInUse is returned (wrapped) when the engine refuses to remove
// a network because containers are still attached to it.
var ErrNetworkInUse = errors.New("network in use")

// RemoveNetwork removes a network; a missing one is not an error. A
// network containers are still attached to stays, with an error wrapping
// ErrNetworkInUse.
func (e *Engine) RemoveNetwork(ctx context.Context, name string) error {
	err := e.remove(ctx, name, "network", "rm")
	if err != nil && isInUse(err) {
		return fmt.Errorf("%w: %v", ErrNetworkInUse, err)
	}
	return err
}

// isInUse recognises the clients' refusals to remove a network that has
// containers (docker: "has active endpoints"; podman: "network is being
// used", "has associated containers").
func isInUse(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"active endpoints", "being used", "associated containers", "in use"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// NetworkLabels returns the labels of a network (an empty map when it has
// none), or an error wrapping ErrNotFound when it does not exist.
func (e *Engine) NetworkLabels(ctx context.Context, name string) (map[string]string, error) {
	out, err := e.inspect(ctx, "network", name, "{{json .Labels}}")
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	// "null" when the network has no labels: the map stays empty
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &labels); err != nil {
		return nil, fmt.Errorf("labels of network %s: %q: %w", name, out, err)
	}
	if labels == nil {
		labels = map[string]string{}
	}
	return labels, nil
}

// Containers lists the names of all containers (running or not) whose name
// starts with prefix.
func (e *Engine) Containers(ctx context.Context, prefix string) ([]string, error) {
	out, err := e.run(ctx, e.Timeout, "ps", "--all", "--format", "{{.Names}}")
	if err != nil {
		return nil, err
	}
	return withPrefix(out, prefix), nil
}

// Networks lists the names of networks whose name starts with prefix.
func (e *Engine) Networks(ctx context.Context, prefix string) ([]string, error) {
	out, err := e.run(ctx, e.Timeout, "network", "ls", "--format", "{{.Name}}")
	if err != nil {
		return nil, err
	}
	return withPrefix(out, prefix), nil
}

func withPrefix(out, prefix string) []string {
	var names []string
	for _, l := range strings.Split(out, "\n") {
		// docker lists a container another links to as "name,other/alias"
		for _, n := range strings.Split(strings.TrimSpace(l), ",") {
			if n != "" && !strings.Contains(n, "/") && strings.HasPrefix(n, prefix) {
				names = append(names, n)
			}
		}
	}
	return names
}
