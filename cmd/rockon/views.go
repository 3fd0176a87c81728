package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// JSON output. Field names are part of the command's interface and are
// documented in the README; new fields may be added, none renamed.

// summaryJSON is one element of `rockon --json list` and `search`.
type summaryJSON struct {
	Name         string `json:"name"`
	Slug         string `json:"slug"`
	Version      string `json:"version"`
	Description  string `json:"description"` // plain text
	Installed    bool   `json:"installed"`
	DesiredState string `json:"desired_state"` // on, off, "" when not installed
	State        string `json:"state"`
}

// statusJSON is `rockon --json status NAME`, and each element of
// `rockon --json status`.
type statusJSON struct {
	Name         string          `json:"name"`
	Slug         string          `json:"slug"`
	Version      string          `json:"version"`
	Installed    bool            `json:"installed"`
	State        string          `json:"state"`
	DesiredState string          `json:"desired_state"`
	Engine       string          `json:"engine"`
	Target       string          `json:"target"`
	UIURL        string          `json:"ui_url"`
	InstalledAt  string          `json:"installed_at,omitempty"` // RFC 3339
	UpdatedAt    string          `json:"updated_at,omitempty"`
	LastError    string          `json:"last_error,omitempty"`
	AutoUpdate   bool            `json:"auto_update"`
	Containers   []containerJSON `json:"containers"`
	Ports        []portJSON      `json:"ports"`
	Volumes      []volumeJSON    `json:"volumes"`
}

type containerJSON struct {
	Name        string `json:"name"`
	Unit        string `json:"unit"`
	State       string `json:"state"` // running, starting, restarting, stopped, failed
	ActiveState string `json:"active_state"`
	SubState    string `json:"sub_state"`
	Image       string `json:"image"`
	ImageID     string `json:"image_id"`
	ExitCode    int32  `json:"exit_code"`
	Restarts    uint32 `json:"restarts"`
	Since       string `json:"since,omitempty"`
	LastLog     string `json:"last_log,omitempty"`
}

type portJSON struct {
	Container     string `json:"container"`
	ContainerPort uint32 `json:"container_port"`
	Protocol      string `json:"protocol"`
	HostPort      uint32 `json:"host_port"` // 0: not published
	UI            bool   `json:"ui"`
}

type volumeJSON struct {
	Container string `json:"container"`
	Path      string `json:"path"`
	Host      string `json:"host"`
}

func usecTime(us uint64) string {
	if us == 0 {
		return ""
	}
	return time.UnixMicro(int64(us)).UTC().Format(time.RFC3339)
}

func toStatusJSON(p model.Properties) statusJSON {
	s := statusJSON{
		Name: p.Name, Slug: p.Slug, Version: p.Version, Installed: p.Installed, State: p.State,
		DesiredState: p.DesiredState, Engine: p.Engine, Target: p.Target, UIURL: p.UIURL,
		InstalledAt: usecTime(p.InstalledAt), UpdatedAt: usecTime(p.UpdatedAt), LastError: p.LastError,
		AutoUpdate: p.AutoUpdate, Containers: []containerJSON{}, Ports: []portJSON{}, Volumes: []volumeJSON{},
	}
	for _, c := range p.Containers {
		s.Containers = append(s.Containers, containerJSON{
			Name: c.Name, Unit: c.Unit, State: c.State, ActiveState: c.ActiveState, SubState: c.SubState,
			Image: c.Image, ImageID: c.ImageID, ExitCode: c.ExitCode, Restarts: c.Restarts,
			Since: usecTime(c.Since), LastLog: c.LastLog,
		})
	}
	for _, pt := range p.Ports {
		s.Ports = append(s.Ports, portJSON{Container: pt.Container, ContainerPort: pt.ContainerPort, Protocol: pt.Protocol, HostPort: pt.HostPort, UI: pt.UI})
	}
	for _, v := range p.Volumes {
		s.Volumes = append(s.Volumes, volumeJSON{Container: v.Container, Path: v.Path, Host: v.Host})
	}
	return s
}

// firstSentence is the start of a description as plain text, for tables.
func firstSentence(html string, max int) string {
	t := strings.Join(strings.Fields(htmlToText(html, 0)), " ")
	if i := strings.Index(t, ". "); i >= 0 {
		t = t[:i+1]
	}
	if r := []rune(t); len(r) > max {
		t = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return t
}

func toSummaryJSON(s model.Summary) summaryJSON {
	return summaryJSON{
		Name: s.Name, Slug: s.Slug, Version: s.Version,
		Description: strings.Join(strings.Fields(htmlToText(s.Description, 0)), " "),
		Installed:   s.Installed, DesiredState: s.DesiredState, State: s.State,
	}
}

func (a *app) printSummaries(l []model.Summary) error {
	model.SortByName(l, func(s *model.Summary) string { return s.Name })
	if a.o.json {
		out := make([]summaryJSON, 0, len(l))
		for _, s := range l {
			out = append(out, toSummaryJSON(s))
		}
		return a.o.writeJSON(out)
	}
	t := &table{header: []string{"NAME", "VERSION", "STATE", "DESCRIPTION"}}
	for _, s := range l {
		state := "-"
		if s.Installed {
			state = s.State
			if s.DesiredState == "off" && s.State != "stopped" {
				state += " (off)"
			}
		}
		t.add(s.Name, s.Version, state, firstSentence(s.Description, 60))
	}
	t.paint = func(row, col int, cell string) string {
		if col == 2 {
			return a.o.state(cell)
		}
		return cell
	}
	return t.write(a.o)
}

func (a *app) list(ctx context.Context, c *cli.Context, d daemonClient) error {
	l, err := d.List(ctx, c.Bool("installed"))
	if err != nil {
		return daemonError(err, "")
	}
	return a.printSummaries(l)
}

// searchArgs checks that search got the text to look for.
func searchArgs(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("search needs the text to look for: rockon search TEXT")
	}
	return nil
}

func (a *app) search(ctx context.Context, c *cli.Context, d daemonClient) error {
	text := strings.ToLower(strings.Join(c.Args().Slice(), " "))
	l, err := d.List(ctx, false)
	if err != nil {
		return daemonError(err, "")
	}
	var hits []model.Summary
	for _, s := range l {
		if strings.Contains(strings.ToLower(s.Name), text) ||
			strings.Contains(strings.ToLower(htmlToText(s.Description, 0)), text) {
			hits = append(hits, s)
		}
	}
	if len(hits) == 0 && !a.o.json {
		return notFoundErrorf("no rock-on matches %q", text)
	}
	return a.printSummaries(hits)
}

// uiURL builds the web UI address as Rockstor does (catalog.UIURL), hostPort
// being the host port of the ui port.
func uiURL(ui *catalog.UI, hostPort int, host string) string {
	return catalog.UIURL(ui, host, hostPort)
}

// hostUIURL puts the host's name in a web UI address rockond gave for
// "localhost" (its own view), as info does: the address is for a browser,
// which is rarely on the server itself. rockond is on this host's system
// bus, so this host's name is its name.
func hostUIURL(u string) string {
	if !strings.Contains(u, "localhost") {
		return u // no UI, or a host name already: no parse (a status of all asks per row)
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Hostname() != "localhost" {
		return u
	}
	port := pu.Port()
	pu.Host = hostName()
	if port != "" {
		pu.Host = net.JoinHostPort(hostName(), port)
	}
	return pu.String()
}

// hostName is asked once: a status of all puts it in every row with a UI.
var hostName = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
})

// statusArgs checks that status got at most one name.
func statusArgs(c *cli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("status takes at most one rock-on name (quote names with spaces)")
	}
	return nil
}

func (a *app) status(ctx context.Context, c *cli.Context, d daemonClient) error {
	if c.NArg() == 1 {
		name := c.Args().First()
		p, err := d.Status(ctx, name)
		if err != nil {
			return daemonError(err, name)
		}
		if p.Installed && p.UIURL == "" {
			p.UIURL = a.buildUIURL(ctx, d, p)
		}
		p.UIURL = hostUIURL(p.UIURL)
		if a.o.json {
			return a.o.writeJSON(toStatusJSON(p))
		}
		return a.printStatus(p)
	}
	if a.o.json {
		return a.statusAllJSON(ctx, d)
	}
	// one call for all, of flat rows: each rock-on's object asked cost
	// two round trips per rock-on, and every object's properties as
	// variants (GetManagedObjects) most of 200 ms with 1,000 installed
	all, err := d.Statuses(ctx, true)
	if err != nil {
		return daemonError(err, "")
	}
	if len(all) == 0 {
		fmt.Fprintln(a.o.out, "no rock-on is installed; see rockon list and rockon install NAME")
		return nil
	}
	model.SortByName(all, func(s *model.Status) string { return s.Name })
	t := &table{header: []string{"NAME", "STATE", "BOOT", "CONTAINERS", "UI"}}
	for _, p := range all {
		boot := "off"
		if p.DesiredState == "on" {
			boot = "on"
		}
		t.add(p.Name, p.State, boot, fmt.Sprintf("%d/%d running", p.Running, p.Containers), hostUIURL(p.UIURL))
	}
	t.paint = func(row, col int, cell string) string {
		if col == 1 {
			return a.o.state(cell)
		}
		return cell
	}
	return t.write(a.o)
}

// statusAllJSON is `rockon --json status`: every installed rock-on's
// properties, containers, ports and volumes included.
func (a *app) statusAllJSON(ctx context.Context, d daemonClient) error {
	all, err := d.StatusAll(ctx)
	if err != nil {
		return daemonError(err, "")
	}
	model.SortByName(all, func(p *model.Properties) string { return p.Name })
	out := make([]statusJSON, 0, len(all))
	for _, p := range all {
		p.UIURL = hostUIURL(p.UIURL)
		out = append(out, toStatusJSON(p))
	}
	return a.o.writeJSON(out)
}

// buildUIURL computes the UI address from the definition when the daemon
// did not give one.
func (a *app) buildUIURL(ctx context.Context, d daemonClient, p model.Properties) string {
	var port uint32
	for _, pt := range p.Ports {
		if pt.UI && pt.HostPort > 0 {
			port = pt.HostPort
			break
		}
	}
	if port == 0 {
		return ""
	}
	js, err := d.Definition(ctx, p.Name)
	if err != nil {
		return ""
	}
	def, err := decodeDefinition(p.Name, js)
	if err != nil {
		return ""
	}
	return uiURL(def.UI, int(port), hostName())
}

func (a *app) printStatus(p model.Properties) error {
	w := a.o.out
	fmt.Fprintf(w, "%s %s\n", a.o.paint(ansiBold, sanitizeCell(p.Name)), sanitizeCell(p.Version))
	if !p.Installed {
		fmt.Fprintf(w, "  state:   %s\n", a.o.state("not installed"))
		return nil
	}
	boot := "disabled (stays off at boot)"
	if p.DesiredState == "on" {
		boot = "enabled (starts at boot)"
	}
	fmt.Fprintf(w, "  state:   %s\n", a.o.state(p.State))
	fmt.Fprintf(w, "  boot:    %s\n", boot)
	fmt.Fprintf(w, "  unit:    %s (%s)\n", sanitizeCell(p.Target), sanitizeCell(p.Engine))
	if p.UIURL != "" {
		fmt.Fprintf(w, "  web UI:  %s\n", sanitizeCell(p.UIURL))
	}
	if p.LastError != "" {
		fmt.Fprintf(w, "  error:   %s\n", a.o.paint(ansiRed, sanitizeCell(p.LastError)))
	}
	fmt.Fprintln(w)
	t := &table{header: []string{"CONTAINER", "STATE", "SINCE", "RESTARTS", "IMAGE", "PORTS"}}
	for _, c := range p.Containers {
		var ports []string
		for _, pt := range p.Ports {
			if pt.Container == c.Name && pt.HostPort > 0 {
				ports = append(ports, fmt.Sprintf("%d->%d/%s", pt.HostPort, pt.ContainerPort, pt.Protocol))
			}
		}
		state := c.State
		if c.State == "failed" && c.ExitCode != 0 {
			state += " (exit " + strconv.Itoa(int(c.ExitCode)) + ")"
		}
		since := "-"
		if c.Since > 0 {
			since = time.UnixMicro(int64(c.Since)).Local().Format("2006-01-02 15:04:05")
		}
		t.add(c.Name, state, since, strconv.Itoa(int(c.Restarts)), c.Image, strings.Join(ports, ","))
	}
	t.paint = func(row, col int, cell string) string {
		if col == 1 {
			return a.o.state(strings.SplitN(cell, " ", 2)[0]) + strings.TrimPrefix(cell, strings.SplitN(cell, " ", 2)[0])
		}
		return cell
	}
	if err := t.write(a.o); err != nil {
		return err
	}
	for _, c := range p.Containers {
		if c.State == "failed" && c.LastLog != "" {
			fmt.Fprintf(w, "\nlast lines of %s:\n", sanitizeCell(c.Name))
			for _, l := range strings.Split(sanitizeText(c.LastLog), "\n") {
				fmt.Fprintf(w, "  %s\n", l)
			}
		}
	}
	if len(p.Volumes) > 0 {
		fmt.Fprintln(w)
		vt := &table{header: []string{"CONTAINER", "PATH", "HOST"}}
		for _, v := range p.Volumes {
			vt.add(v.Container, v.Path, v.Host)
		}
		return vt.write(a.o)
	}
	return nil
}

func (a *app) logs(ctx context.Context, c *cli.Context, d daemonClient, name string) error {
	p, err := d.Status(ctx, name)
	if err != nil {
		return daemonError(err, name)
	}
	if !p.Installed {
		return notFoundErrorf("%s is not installed, so it has no logs", name)
	}
	var units, names []string
	want := c.String("container")
	for _, ct := range p.Containers {
		names = append(names, ct.Name)
		if want == "" || ct.Name == want {
			units = append(units, ct.Unit)
		}
	}
	if len(units) == 0 {
		if want != "" {
			return notFoundErrorf("%s has no container %q (it has: %s)", name, want, strings.Join(names, ", "))
		}
		return notFoundErrorf("%s has no containers", name)
	}
	args := []string{"--no-pager"}
	if c.Bool("events") {
		// everything about the units: systemd's lines (started, stopped,
		// killed) and the engine's events (podman: container create,
		// init, start, died, ...)
		for _, u := range units {
			args = append(args, "--unit="+u)
		}
	} else {
		// the app's own output: what the unit's main process (the
		// attached engine client) wrote to its stdout and stderr, which
		// is the container's output. Matches on the same field are
		// alternatives, on another field a condition on all of them.
		for _, u := range units {
			args = append(args, "_SYSTEMD_UNIT="+u)
		}
		args = append(args, "_TRANSPORT=stdout")
	}
	if c.Bool("follow") {
		args = append(args, "--follow")
	}
	if n := c.Int("lines"); n >= 0 {
		args = append(args, "--lines="+strconv.Itoa(n))
	} else if c.IsSet("lines") {
		return usageErrorf("logs --lines: N must be 0 or more")
	}
	journalctl, err := exec.LookPath("journalctl")
	if err != nil {
		return fmt.Errorf("journalctl is needed to read logs: %w", err)
	}
	cmd := exec.CommandContext(ctx, journalctl, args...)
	cmd.Stdout, cmd.Stderr = a.o.out, a.o.err
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while following
		}
		return fmt.Errorf("journalctl: %w", err)
	}
	return nil
}
