package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// infoJSON is `rockon --json info NAME`.
type infoJSON struct {
	Name             string          `json:"name"`
	Version          string          `json:"version"`
	Website          string          `json:"website"`
	Description      string          `json:"description"` // plain text
	MoreInfo         string          `json:"more_info"`   // plain text
	UI               *uiJSON         `json:"ui"`          // null without a web UI
	UIURL            string          `json:"ui_url"`      // with the suggested or installed UI port
	VolumeAddSupport bool            `json:"volume_add_support"`
	Installed        bool            `json:"installed"`
	State            string          `json:"state"`
	Containers       []infoContainer `json:"containers"`
	CustomConfig     []infoCustom    `json:"custom_config"`
	Links            []infoLink      `json:"container_links"`
}

type uiJSON struct {
	Slug  string `json:"slug"`
	HTTPS bool   `json:"https"`
}

type infoContainer struct {
	Name        string       `json:"name"`
	Image       string       `json:"image"`
	Tag         string       `json:"tag"`
	LaunchOrder int          `json:"launch_order"`
	UID         *int         `json:"uid"`
	GID         *int         `json:"gid"`
	Ports       []infoPort   `json:"ports"`
	Volumes     []infoVolume `json:"volumes"`
	Env         []infoField  `json:"env"`
	Devices     []infoField  `json:"devices"`
}

type infoPort struct {
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol"` // tcp, udp, or "" for both
	HostDefault   int    `json:"host_default"`
	HostPort      int    `json:"host_port"` // the installed one, or the suggested free default
	UI            bool   `json:"ui"`
	Label         string `json:"label"`
	Description   string `json:"description"`
}

type infoVolume struct {
	Path        string `json:"path"`
	Label       string `json:"label"`
	Description string `json:"description"`
	MinSize     int64  `json:"min_size"`
}

type infoField struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description"`
}

type infoCustom struct {
	Key         string `json:"key"`
	Label       string `json:"label"`
	Description string `json:"description"`
}

type infoLink struct {
	Source  string `json:"source"`
	Target  string `json:"target"`
	Network string `json:"network"`
}

// hostPorts maps "container/port" to the host port the daemon reports for
// it: the published one of an installed rock-on, or the suggested free
// default of a catalog one.
func hostPorts(p model.Properties) map[string]int {
	m := map[string]int{}
	for _, pt := range p.Ports {
		if pt.HostPort > 0 {
			m[pt.Container+"/"+strconv.Itoa(int(pt.ContainerPort))] = int(pt.HostPort)
		}
	}
	return m
}

func (a *app) info(ctx context.Context, c *cli.Context, d daemonClient, name string) error {
	def, props, err := a.lookup(ctx, d, name)
	if err != nil {
		return err
	}
	hp := hostPorts(props)
	if !props.Installed {
		hp = suggestedPorts(ctx, d, def)
	}
	info := infoJSON{
		Name: def.Name, Version: def.Version, Website: def.Website,
		Description: htmlToText(def.Description, 0), MoreInfo: htmlToText(def.MoreInfo, 0),
		VolumeAddSupport: def.VolumeAddSupport, Installed: props.Installed, State: props.State,
		Containers: []infoContainer{}, CustomConfig: []infoCustom{}, Links: []infoLink{},
	}
	if def.UI != nil {
		info.UI = &uiJSON{Slug: def.UI.Slug, HTTPS: def.UI.HTTPS}
	}
	for _, ct := range def.Containers {
		ic := infoContainer{Name: ct.Name, Image: ct.Image, Tag: ct.Tag, LaunchOrder: ct.LaunchOrder, UID: ct.UID, GID: ct.GID,
			Ports: []infoPort{}, Volumes: []infoVolume{}, Env: []infoField{}, Devices: []infoField{}}
		for _, p := range ct.Ports {
			host := p.HostDefault
			if h, ok := hp[ct.Name+"/"+strconv.Itoa(p.ContainerPort)]; ok {
				host = h
			}
			ic.Ports = append(ic.Ports, infoPort{ContainerPort: p.ContainerPort, Protocol: p.Protocol, HostDefault: p.HostDefault,
				HostPort: host, UI: p.UI, Label: p.Label, Description: p.Description})
			if p.UI && info.UIURL == "" {
				info.UIURL = uiURL(def.UI, host, hostName())
			}
		}
		for _, v := range ct.Volumes {
			ic.Volumes = append(ic.Volumes, infoVolume{Path: v.Path, Label: v.Label, Description: v.Description, MinSize: v.MinSize})
		}
		for _, e := range ct.Env {
			ic.Env = append(ic.Env, infoField{Name: e.Name, Label: e.Label, Description: e.Description})
		}
		for _, dv := range ct.Devices {
			ic.Devices = append(ic.Devices, infoField{Name: dv.Name, Label: dv.Label, Description: dv.Description})
		}
		info.Containers = append(info.Containers, ic)
	}
	if props.Installed && props.UIURL != "" {
		info.UIURL = props.UIURL
	}
	for _, f := range def.CustomConfig {
		info.CustomConfig = append(info.CustomConfig, infoCustom{Key: f.Key, Label: f.Label, Description: f.Description})
	}
	for _, l := range def.Links {
		info.Links = append(info.Links, infoLink{Source: l.Source, Target: l.Target, Network: l.Network})
	}
	if a.o.json {
		return a.o.writeJSON(info)
	}
	return a.printInfo(def, info)
}

// lookup fetches a rock-on's definition and properties.
func (a *app) lookup(ctx context.Context, d daemonClient, name string) (*catalog.RockOn, model.Properties, error) {
	props, err := d.Status(ctx, name)
	if err != nil {
		return nil, props, daemonError(err, name)
	}
	def, err := a.definition(ctx, d, name)
	if err != nil {
		return nil, props, err
	}
	return def, props, nil
}

func humanSize(b int64) string {
	const gib = 1 << 30
	const mib = 1 << 20
	switch {
	case b >= gib:
		return strconv.FormatFloat(float64(b)/gib, 'f', -1, 64) + " GiB"
	case b >= mib:
		return strconv.FormatFloat(float64(b)/mib, 'f', -1, 64) + " MiB"
	}
	return strconv.FormatInt(b, 10) + " bytes"
}

func (a *app) printInfo(def *catalog.RockOn, info infoJSON) error {
	w := a.o.out
	bold := func(s string) string { return a.o.paint(ansiBold, s) }
	fmt.Fprintf(w, "%s %s\n", bold(sanitizeCell(info.Name)), sanitizeCell(info.Version))
	if info.Website != "" {
		fmt.Fprintln(w, sanitizeCell(info.Website))
	}
	state := "not installed"
	if info.Installed {
		state = "installed, " + info.State
	}
	fmt.Fprintf(w, "State: %s\n", state)
	if info.UIURL != "" {
		fmt.Fprintf(w, "Web UI: %s\n", sanitizeCell(info.UIURL))
	}
	fmt.Fprintf(w, "\n%s\n", sanitizeText(htmlToText(def.Description, 78)))
	field := func(indent, head, label, desc string) {
		fmt.Fprintf(w, "%s%s", indent, head)
		if label != "" {
			fmt.Fprintf(w, "  %s", sanitizeCell(label))
		}
		fmt.Fprintln(w)
		if desc != "" {
			for _, l := range strings.Split(sanitizeText(htmlToText(desc, 72)), "\n") {
				fmt.Fprintf(w, "%s    %s\n", indent, a.o.paint(ansiDim, l))
			}
		}
	}
	for _, ct := range info.Containers {
		fmt.Fprintf(w, "\n%s %s:%s (launch order %d)\n", bold("Container "+sanitizeCell(ct.Name)), sanitizeCell(ct.Image), sanitizeCell(ct.Tag), ct.LaunchOrder)
		if len(ct.Ports) > 0 {
			fmt.Fprintln(w, "  Ports:")
			for _, p := range ct.Ports {
				proto := p.Protocol
				if proto == "" {
					proto = "tcp+udp"
				}
				head := fmt.Sprintf("%d/%s -> host %d", p.ContainerPort, proto, p.HostPort)
				if p.HostPort != p.HostDefault {
					head += fmt.Sprintf(" (default %d is taken)", p.HostDefault)
				}
				if p.UI {
					head += " [web UI]"
				}
				field("    ", head, p.Label, p.Description)
			}
		}
		if len(ct.Volumes) > 0 {
			fmt.Fprintln(w, "  Volumes:")
			for _, v := range ct.Volumes {
				head := sanitizeCell(v.Path)
				if v.MinSize > 0 {
					head += " (at least " + humanSize(v.MinSize) + ")"
				}
				field("    ", head, v.Label, v.Description)
			}
		}
		if len(ct.Env) > 0 {
			fmt.Fprintln(w, "  Environment:")
			for _, e := range ct.Env {
				field("    ", sanitizeCell(e.Name), e.Label, e.Description)
			}
		}
		if len(ct.Devices) > 0 {
			fmt.Fprintln(w, "  Devices (optional):")
			for _, dv := range ct.Devices {
				field("    ", sanitizeCell(dv.Name), dv.Label, dv.Description)
			}
		}
	}
	if len(info.CustomConfig) > 0 {
		fmt.Fprintf(w, "\n%s\n", bold("Custom configuration:"))
		for _, f := range info.CustomConfig {
			field("  ", sanitizeCell(f.Key), f.Label, f.Description)
		}
	}
	if len(info.Links) > 0 {
		fmt.Fprintf(w, "\n%s\n", bold("Container links:"))
		for _, l := range info.Links {
			fmt.Fprintf(w, "  %s -> %s (network %s)\n", sanitizeCell(l.Source), sanitizeCell(l.Target), sanitizeCell(l.Network))
		}
	}
	if def.VolumeAddSupport {
		fmt.Fprintln(w, "\nExtra volumes may be added (--volume CONTAINER:PATH=HOSTPATH).")
	}
	if def.MoreInfo != "" {
		fmt.Fprintf(w, "\n%s\n%s\n", bold("More info:"), sanitizeText(htmlToText(def.MoreInfo, 78)))
	}
	return nil
}
