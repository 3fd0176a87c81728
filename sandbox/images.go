package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestImageVersions are the tags of localhost/rockon-test: two working versions that
// differ in content (and so in image ID), one that exits 1 at once, and two working
// versions (again different images) that declare TestImageVolumes.
var TestImageVersions = []string{"1", "2", "broken", "vol1", "vol2"}

// TestImageVolumes are the VOLUMEs the vol* test images declare: one nested under the
// /data a test definition maps, one elsewhere.
var TestImageVolumes = []string{"/data/db", "/state"}

// TestImage is the repository part of the test images' names.
const TestImage = "localhost/rockon-test"

// moduleRoot finds the repository from the working directory (tests run in their package).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the rockon module")
	}
	return filepath.Dir(mod), nil
}

var (
	imagesOnce sync.Once
	imagesDir  string
	imagesErr  error
)

// BuildTestImages builds the test program (static, CGO_ENABLED=0) and writes one root
// filesystem archive per version into a directory under SharedDir, keyed by the program's
// source: later calls, in this process or another, reuse it.
func BuildTestImages(ctx context.Context) (string, error) {
	imagesOnce.Do(func() { imagesDir, imagesErr = buildTestImages(ctx) })
	return imagesDir, imagesErr
}

func buildTestImages(ctx context.Context) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	srcs, err := filepath.Glob(filepath.Join(root, "testimage", "*.go"))
	if err != nil || len(srcs) == 0 {
		return "", fmt.Errorf("no test image source in %s/testimage", root)
	}
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), runtime.GOARCH, TestImageVersions)
	for _, f := range srcs {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintln(h, filepath.Base(f), len(b))
		h.Write(b)
	}
	dir := filepath.Join(SharedDir(), "images", hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "rockon-test")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testimage")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the test image program: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	for _, v := range TestImageVersions {
		b, err := rootfsArchive(prog, v)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(tmp, "rockon-test-"+v+".tar"), b, 0o644); err != nil {
			return "", err
		}
	}
	os.Remove(bin)
	if err := os.WriteFile(filepath.Join(tmp, "done"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process built it first: use theirs.
		if _, serr := os.Stat(filepath.Join(dir, "done")); serr == nil {
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}

// rootfsArchive is the image's whole file system: the program, its version marker and
// the directories container runtimes mount over.
func rootfsArchive(prog []byte, version string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []string{"dev/", "proc/", "sys/", "etc/", "tmp/", "data/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"rockon-test", 0o755, prog},
		{"rockon-test-version", 0o644, []byte(version + "\n")},
	} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: mtime}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// LoadTestImages makes localhost/rockon-test:1, :2 and :broken available to engine
// ("podman" or "docker") inside the sandbox. Images already there (e.g. after a Reboot)
// are kept.
func (s *Sandbox) LoadTestImages(t testing.TB, engine string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.LoadImages(ctx, engine); err != nil {
		t.Fatal(err)
	}
}

// LoadImages is LoadTestImages for callers without a testing.TB.
func (s *Sandbox) LoadImages(ctx context.Context, engine string) error {
	return loadImages(ctx, engine, s.Command)
}

// LoadImagesOnHost loads the test images into the host's engine, for machines whose PID 1
// is systemd (the demo runs there without a sandbox).
func LoadImagesOnHost(ctx context.Context, engine string) error {
	return loadImages(ctx, engine, exec.CommandContext)
}

func loadImages(ctx context.Context, engine string, command func(context.Context, string, ...string) *exec.Cmd) error {
	if engine != "podman" && engine != "docker" {
		return fmt.Errorf("unknown engine %q (podman or docker)", engine)
	}
	dir, err := BuildTestImages(ctx)
	if err != nil {
		return err
	}
	for _, v := range TestImageVersions {
		ref := TestImage + ":" + v
		if command(ctx, engine, "image", "inspect", ref).Run() == nil {
			continue
		}
		args := []string{"import",
			"--change", `ENTRYPOINT ["/rockon-test"]`,
			"--change", "EXPOSE 8080/tcp",
			"--change", "LABEL org.rockon.test.version=" + v}
		if strings.HasPrefix(v, "vol") {
			args = append(args, "--change", `VOLUME ["`+strings.Join(TestImageVolumes, `", "`)+`"]`)
		}
		args = append(args, filepath.Join(dir, "rockon-test-"+v+".tar"), ref)
		out, err := command(ctx, engine, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s import %s: %v: %s", engine, ref, err, out)
		}
	}
	return nil
}
