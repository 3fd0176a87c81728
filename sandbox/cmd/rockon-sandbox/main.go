// Command rockon-sandbox boots the test sandbox (systemd, D-Bus, journald, podman and
// optionally dockerd in private namespaces) for humans and the demo:
//
//	rockon-sandbox start [-docker] [-vendor-units] DIR  boot it; DIR keeps its state across stop/start
//	rockon-sandbox exec DIR CMD [ARG...]  run CMD inside (stdin/stdout/stderr passed through)
//	rockon-sandbox stop DIR               orderly shutdown, then check nothing is left
//	rockon-sandbox images DIR ENGINE...   load localhost/rockon-test:{1,2,broken} (podman, docker)
//	rockon-sandbox images -host ENGINE... the same into the host's engines (PID 1 is systemd)
//	rockon-sandbox build-images           build the test image archives; prints their directory
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"

	"github.com/rockon/rockon/sandbox"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "rockon-sandbox:", err)
		os.Exit(1)
	}
}

const usage = "usage: rockon-sandbox start [-docker] DIR | exec DIR CMD... | stop DIR | images DIR|-host ENGINE... | build-images"

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "start":
		fs := flag.NewFlagSet("start", flag.ContinueOnError)
		docker := fs.Bool("docker", false, "start dockerd in the sandbox")
		vendor := fs.Bool("vendor-units", false, "a private /usr/lib/systemd/system in the unit path (for installing packages)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			return errors.New(usage)
		}
		if s, err := sandbox.Attach(fs.Arg(0)); err == nil && s.PID != 0 {
			return fmt.Errorf("a sandbox already runs from %s (pid %d)", s.Dir(), s.PID)
		}
		s, err := sandbox.Start(sandbox.Options{Docker: *docker, VendorUnits: *vendor, Dir: fs.Arg(0)})
		if err != nil {
			return err
		}
		fmt.Printf("sandbox running from %s (systemd pid %d)\n", s.Dir(), s.PID)
		return nil
	case "exec":
		if len(args) < 3 {
			return errors.New(usage)
		}
		s, err := running(args[1])
		if err != nil {
			return err
		}
		cmd := s.Command(context.Background(), args[2], args[3:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if t := os.Getenv("TERM"); t != "" {
			cmd.Env = append(cmd.Env, "TERM="+t)
		}
		return cmd.Run()
	case "stop":
		if len(args) != 2 {
			return errors.New(usage)
		}
		s, err := sandbox.Attach(args[1])
		if err != nil {
			return err
		}
		return s.Halt()
	case "images":
		if len(args) < 3 {
			return errors.New(usage)
		}
		if args[1] == "-host" {
			for _, engine := range args[2:] {
				if err := sandbox.LoadImagesOnHost(context.Background(), engine); err != nil {
					return err
				}
			}
			return nil
		}
		s, err := running(args[1])
		if err != nil {
			return err
		}
		for _, engine := range args[2:] {
			if err := s.LoadImages(context.Background(), engine); err != nil {
				return err
			}
		}
		return nil
	case "build-images":
		dir, err := sandbox.BuildTestImages(context.Background())
		if err != nil {
			return err
		}
		fmt.Println(dir)
		return nil
	}
	return errors.New(usage)
}

func running(dir string) (*sandbox.Sandbox, error) {
	s, err := sandbox.Attach(dir)
	if err != nil {
		return nil, err
	}
	if s.PID == 0 {
		return nil, fmt.Errorf("the sandbox in %s is not running", s.Dir())
	}
	return s, nil
}
