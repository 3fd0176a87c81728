package unitgen

import (
	"slices"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// TestParsePair: pairs read as pflag (podman's and docker's parser) reads
// the words rockon passes.
func TestParsePair(t *testing.T) {
	for _, tc := range []struct {
		pair catalog.Pair
		want []Opt
	}{
		{catalog.Pair{"-v", "/a:/b"}, []Opt{{"--volume", "/a:/b", true}}},
		{catalog.Pair{"-v=/a:/b", ""}, []Opt{{"--volume", "/a:/b", true}}},
		{catalog.Pair{"-v/a:/b", ""}, []Opt{{"--volume", "/a:/b", true}}},
		{catalog.Pair{"-qv", "/:/h"}, []Opt{{"--quiet", "", false}, {"--volume", "/:/h", true}}},
		{catalog.Pair{"-qv/:/h", ""}, []Opt{{"--quiet", "", false}, {"--volume", "/:/h", true}}},
		{catalog.Pair{"-it", ""}, []Opt{{"--interactive", "", false}, {"--tty", "", false}}},
		{catalog.Pair{"-t=false", ""}, []Opt{{"--tty", "false", true}}},
		{catalog.Pair{"--net=host", ""}, []Opt{{"--network", "host", true}}},
		{catalog.Pair{"--net", "adguard-home"}, []Opt{{"--network", "adguard-home", true}}},
		{catalog.Pair{"--privileged=false", ""}, []Opt{{"--privileged", "false", true}}},
		{catalog.Pair{"--privileged", ""}, []Opt{{"--privileged", "", false}}},
		{catalog.Pair{"--mount", `type=bind,"src=/",dst=/h`}, []Opt{{"--mount", `type=bind,"src=/",dst=/h`, true}}},
	} {
		got, err := ParsePair(tc.pair)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePair(%q) = %v, %v; want %v", tc.pair, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		pair catalog.Pair
		why  string
	}{
		{catalog.Pair{"--privileged", "false"}, `would take "false" as the image`},
		{catalog.Pair{"-t", "x"}, "takes no separate value"},
		{catalog.Pair{"--net=host", "x"}, "takes no separate value"},
		{catalog.Pair{"--volume", ""}, "needs a value"},
		{catalog.Pair{"-qv", ""}, "needs a value"},
		{catalog.Pair{"-zv", "/:/h"}, "-z (in -zv) is not an engine option"},
		{catalog.Pair{"--frobnicate", "1"}, "--frobnicate is not an engine option"},
		{catalog.Pair{"--rootfs", ""}, "--rootfs is not an engine option"},
		{catalog.Pair{"--pod", "x"}, "--pod is not an engine option"},
		{catalog.Pair{"--runtime", "/bin/x"}, "--runtime is not an engine option"},
		{catalog.Pair{"image", ""}, "is not an option"},
		{catalog.Pair{"--", ""}, "is not an option"},
		{catalog.Pair{"--privileged=maybe", ""}, "not a boolean"},
	} {
		if got, err := ParsePair(tc.pair); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParsePair(%q) = %v, %v; want an error with %q", tc.pair, got, err, tc.why)
		}
	}
}

// TestOptsReachingBeyond: each option that reaches beyond the container
// needs its named consent or is refused outright, in every spelling.
func TestOptsReachingBeyond(t *testing.T) {
	for _, tc := range []struct {
		opts    []catalog.Pair
		consent []string
		refused string // substring of the problem, "" when consent is enough
	}{
		{[]catalog.Pair{{"-v", "/usr:/h"}}, []string{"host-paths"}, ""},
		{[]catalog.Pair{{"-v", "/root:/h"}}, []string{"host-paths"}, ""},
		{[]catalog.Pair{{"-v", "/var/spool/cron:/h"}}, []string{"host-paths"}, ""},
		{[]catalog.Pair{{"-v", "/mnt2/other-rockon:/h"}}, []string{"host-paths"}, ""},
		{[]catalog.Pair{{"-qv", "/:/h"}}, []string{"host-paths"}, ""},
		{[]catalog.Pair{{"-Pv/etc:/h", ""}}, []string{"host-paths"}, ""},
		{[]catalog.Pair{{"-v", ".:/h"}}, nil, "not absolute"},
		{[]catalog.Pair{{"-v", "../x:/h"}}, nil, "not absolute"},
		{[]catalog.Pair{{"-v", "etc/x:/h"}}, nil, "not absolute"},
		{[]catalog.Pair{{"-v", "somevol:/h"}}, nil, "engine volume \"somevol\" by name"},
		{[]catalog.Pair{{"-v", "/anon"}}, nil, ""},
		{[]catalog.Pair{{"--mount", `type=bind,"src=/",dst=/h`}}, []string{"host-paths"}, ""},
		{[]catalog.Pair{{"--mount", `type=bind,"SOURCE=/etc",dst=/h`}}, []string{"host-paths"}, ""},
		{[]catalog.Pair{{"--mount", `"type=bind","src=.",dst=/h`}}, nil, "not absolute"},
		{[]catalog.Pair{{"--mount", "type=volume,src=v,dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc"}}, nil, "volume-opt=type=none"},
		{[]catalog.Pair{{"--mount", "type=volume,dst=/x,volume-driver=local"}}, nil, "volume-driver"},
		{[]catalog.Pair{{"--mount", "type=volume,dst=/x"}}, nil, ""},
		{[]catalog.Pair{{"--mount", "type=tmpfs,dst=/x,tmpfs-size=1m"}}, nil, ""},
		{[]catalog.Pair{{"--mount", "type=image,src=x,dst=/x"}}, nil, "type=image"},
		{[]catalog.Pair{{"--mount", "type=bind,src=/mnt2/x,dst=/x,bind-propagation=rshared"}}, nil, "propagate"},
		{[]catalog.Pair{{"--mount", `type=bind,"src=/a`}}, nil, "--mount"},
		{[]catalog.Pair{{"--security-opt", "unmask=ALL"}}, []string{"unconfined"}, ""},
		{[]catalog.Pair{{"--security-opt=seccomp=/tmp/p.json", ""}}, []string{"security-opt"}, ""},
		{[]catalog.Pair{{"--security-opt", "label=type:spc_t"}}, []string{"security-opt"}, ""},
		{[]catalog.Pair{{"--security-opt", "no-new-privileges=false"}}, []string{"security-opt"}, ""},
		{[]catalog.Pair{{"--security-opt", "no-new-privileges"}}, nil, ""},
		{[]catalog.Pair{{"--pid", "container:other"}}, nil, "not another container of this rock-on"},
		{[]catalog.Pair{{"--pid", "container:sib"}}, nil, ""},
		{[]catalog.Pair{{"--network", "container:other"}}, nil, "not another container"},
		{[]catalog.Pair{{"--net=container:x", ""}}, nil, "not another container"}, // itself
		{[]catalog.Pair{{"--ipc", "container:other"}}, nil, "not another container"},
		{[]catalog.Pair{{"--uts", "container:other"}}, nil, "not another container"},
		{[]catalog.Pair{{"--userns", "container:other"}}, nil, "not another container"},
		{[]catalog.Pair{{"--pid", "ns:/proc/1/ns/pid"}}, nil, "by path"},
		{[]catalog.Pair{{"--net", "ns:/proc/1/ns/net"}}, nil, "by path"},
		{[]catalog.Pair{{"--volumes-from", "other"}}, nil, "not another container"},
		{[]catalog.Pair{{"--volumes-from", "sib:ro,other"}}, nil, "not another container"},
		{[]catalog.Pair{{"--volumes-from", "sib:ro"}}, nil, ""},
		{[]catalog.Pair{{"--link", "other:db"}}, nil, "not another container"},
		{[]catalog.Pair{{"--pod", "other"}}, nil, "--pod is not an engine option"},
		{[]catalog.Pair{{"--privileged", "false"}}, nil, "as the image"},
		{[]catalog.Pair{{"--cap-add", "SYS_RESOURCE,LINUX_IMMUTABLE"}}, []string{"cap-add:LINUX_IMMUTABLE", "cap-add:SYS_RESOURCE"}, ""},
		{[]catalog.Pair{{"--cgroup-parent", "/"}}, []string{"cgroup-parent"}, ""},
		{[]catalog.Pair{{"--sysctl", "kernel.shm_rmid_forced=1"}}, []string{"sysctl"}, ""},
		{[]catalog.Pair{{"--sysctl", "net.ipv4.ip_forward=1"}}, nil, ""},
		{[]catalog.Pair{{"--sysctl", "net.ipv4.ip_forward=1"}, {"--net=host", ""}}, []string{"sysctl"}, ""},
		{[]catalog.Pair{{"--uidmap", "0:0:1"}}, []string{"idmap"}, ""},
		{[]catalog.Pair{{"--gpus", "all"}}, []string{"host-devices"}, ""},
		{[]catalog.Pair{{"--device", "/dev/sda"}}, []string{"host-devices"}, ""},
		{[]catalog.Pair{{"--log-driver", "syslog"}}, nil, "--log-driver"},
		{[]catalog.Pair{{"-dv", "/mnt2/x:/x"}}, []string{"host-paths"}, "mixes options rockon drops"},
	} {
		def := &catalog.RockOn{Name: "X", Containers: []catalog.Container{
			{Name: "x", Image: "x", Tag: "1", Opts: tc.opts},
			{Name: "sib", Image: "x", Tag: "1"},
		}}
		need, probs := checkDefinitionOpts(def)
		if !slices.Equal(need, tc.consent) && tc.refused == "" {
			t.Errorf("%q: consent %q, want %q", tc.opts, need, tc.consent)
		}
		joined := strings.Join(probs, "; ")
		if tc.refused == "" && len(probs) > 0 || tc.refused != "" && !strings.Contains(joined, tc.refused) {
			t.Errorf("%q: problems %q, want %q", tc.opts, probs, tc.refused)
		}
		ch := model.Choices{Consent: tc.consent}
		err := ValidateChoices(ch, def, Options{})
		if (err != nil) != (tc.refused != "") {
			t.Errorf("%q with consent %q: %v", tc.opts, tc.consent, err)
		}
	}
}

// TestOptNetworks: the user-defined networks the opts name, parsed.
func TestOptNetworks(t *testing.T) {
	c := &catalog.Container{Opts: []catalog.Pair{{"--net=adguard-home", ""}, {"--network", "b"}, {"--net", "adguard-home"}}}
	if got := OptNetworks(c); !slices.Equal(got, []string{"adguard-home", "b"}) {
		t.Errorf("OptNetworks = %q", got)
	}
	c = &catalog.Container{Opts: []catalog.Pair{{"--net", "host"}, {"--net", "container:x"}, {"--net", "bridge"}}}
	if got := OptNetworks(c); len(got) != 0 {
		t.Errorf("OptNetworks = %q, want none", got)
	}
}
