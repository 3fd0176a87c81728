// Command rockon-test is the program inside the test images localhost/rockon-test:1, :2 and
// :broken. It is a static binary with no dependencies so that an image can be built offline
// from a root filesystem holding only this file and a version marker.
//
// Without arguments it serves HTTP on $PORT (default 8080) until SIGTERM, then exits 0:
//
//	/                 "ok <hostname>"
//	/env              the environment, one KEY=VALUE per line, bytes as they are
//	/args             argv as a JSON array
//	/file?path=P      contents of P
//	/write?path=P&data=D   writes D to P
//	/connect?addr=H:P dials TCP H:P, answers "ok" or the error (container-to-container by name)
//	/crash            exits 3
//	/version          the image version (1, 2, ...)
//
// "rockon-test sleep" waits for SIGTERM and "rockon-test true" exits 0 at once: data
// containers use them. An image whose version is "broken" exits 1 at once.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// versionFile is written into the image's root filesystem by the image builder, so images
// with different versions also differ in their layer, not only in their configuration.
const versionFile = "/rockon-test-version"

func main() {
	os.Exit(run(os.Args, os.Stdout))
}

func run(args []string, out io.Writer) int {
	version := readVersion()
	if version == "broken" {
		fmt.Fprintln(out, "rockon-test: broken image, exiting 1")
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if len(args) > 1 {
		switch args[1] {
		case "true":
			return 0
		case "sleep":
			fmt.Fprintln(out, "rockon-test: sleeping until SIGTERM")
			<-sigs
			return 0
		default:
			// Any other argument is reported by /args, so definitions may pass their own.
		}
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", port))
	if err != nil {
		fmt.Fprintf(out, "rockon-test: %v\n", err)
		return 2
	}
	exit := make(chan int, 1)
	srv := &http.Server{Handler: newHandler(version, args, func(code int) { exit <- code }), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(out, "rockon-test: %v\n", err)
			exit <- 2
		}
	}()
	fmt.Fprintf(out, "rockon-test: version %s listening on %s\n", version, ln.Addr())
	select {
	case sig := <-sigs:
		fmt.Fprintf(out, "rockon-test: %v, exiting 0\n", sig)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return 0
	case code := <-exit:
		fmt.Fprintf(out, "rockon-test: exiting %d\n", code)
		return code
	}
}

func readVersion() string {
	if b, err := os.ReadFile(versionFile); err == nil {
		return strings.TrimSpace(string(b))
	}
	if v := os.Getenv("ROCKON_TEST_VERSION"); v != "" {
		return v
	}
	return "dev"
}

// held keeps what /alloc allocated.
var held [][]byte

// newHandler serves the endpoints; exit is called (after the answer is sent) by /crash.
func newHandler(version string, args []string, exit func(int)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		fmt.Fprintf(w, "ok %s\n", host)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		for _, kv := range os.Environ() {
			io.WriteString(w, kv+"\n")
		}
	})
	mux.HandleFunc("/args", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(args)
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := os.WriteFile(q.Get("path"), []byte(q.Get("data")), 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/connect", func(w http.ResponseWriter, r *http.Request) {
		c, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), 5*time.Second)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		c.Close()
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, version+"\n")
	})
	// /alloc?mb=N allocates N MiB, touches every page and keeps it: a
	// memory limit on the container's processes must stop it
	mux.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, err := strconv.Atoi(r.URL.Query().Get("mb"))
		if err != nil || mb < 1 || mb > 1<<16 {
			http.Error(w, "mb must be 1-65536", http.StatusBadRequest)
			return
		}
		b := make([]byte, mb<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		held = append(held, b)
		fmt.Fprintf(w, "allocated %d MiB\n", mb)
	})
	// /crash exits with status 3, or ?code=N (0-125: a clean exit too)
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		code := 3
		if c, err := strconv.Atoi(r.URL.Query().Get("code")); err == nil && c >= 0 && c <= 125 {
			code = c
		}
		fmt.Fprintf(w, "crashing with exit status %d\n", code)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		exit(code)
	})
	return mux
}
