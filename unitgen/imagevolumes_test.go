package unitgen

import (
	"slices"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// TestImageVolumes: every VOLUME an image declares that nothing mounts
// exactly gets a named volume (nested under a mapped path, or not mapped
// at all); exactly mapped ones, ones an opt mounts and ones a data
// container provides do not.
func TestImageVolumes(t *testing.T) {
	def := &catalog.RockOn{
		Name: "Uni Fi",
		Containers: []catalog.Container{
			{Name: "ovpn-data", Image: "example/vpn", LaunchOrder: 1},
			{Name: "mongo", Image: "example/mongo", LaunchOrder: 1,
				Volumes: []catalog.Volume{{Path: "/data"}, {Path: "/cfg/"}},
				Opts:    []catalog.Pair{{"--tmpfs", "/run/x:size=1m"}, {"-v", "/srv/x:/opt/x:ro"}}},
			{Name: "vpn", Image: "example/vpn", LaunchOrder: 2, Ports: []catalog.Port{{ContainerPort: 1194, HostDefault: 1194, Protocol: "udp"}},
				Opts: []catalog.Pair{{"--volumes-from", "ovpn-data"}}},
		},
	}
	ch := model.Choices{Containers: map[string]model.ContainerChoices{"mongo": {Volumes: map[string]string{"/data": "/srv/d", "/cfg/": "/srv/c"}}}, Consent: []string{ConsentHostPaths}}
	for _, engine := range []string{Docker, Podman} {
		t.Run(engine, func(t *testing.T) {
			opt := goldenOptions(engine)
			opt.ImageVolumes = map[string][]string{
				"mongo":     {"/data/configdb", "/data/db/", "/data", "/cfg", "/run/x", "/opt/x", "/a-b", "/a/b", "bad:path"},
				"vpn":       {"/etc/openvpn"},
				"ovpn-data": {"/etc/openvpn"},
			}
			res, models, err := compile(def, ch, opt)
			if err != nil {
				t.Fatal(err)
			}
			want := []NamedVolume{
				{"rockon-uni-fi-mongo-a-b", "mongo", "/a-b"},
				{"rockon-uni-fi-mongo-1e8c477638fa", "mongo", "/a/b"},
				{"rockon-uni-fi-mongo-data-configdb", "mongo", "/data/configdb"},
				{"rockon-uni-fi-mongo-data-db", "mongo", "/data/db"},
			}
			if !slices.Equal(res.Volumes, want) {
				t.Fatalf("Volumes = %q\nwant %q", res.Volumes, want)
			}
			var run []string
			for _, k := range []string{"ExecStartPre", "ExecStart"} {
				for _, c := range models["rockon-uni-fi-mongo.service"].commands(k) {
					if slices.ContainsFunc(c, func(w string) bool { return strings.HasSuffix(w, "example/mongo:latest") }) {
						run = c
					}
				}
			}
			for _, v := range want {
				if !hasPair(run, "-v", v.Name+":"+v.Path) {
					t.Errorf("mongo's command lacks -v %s:%s: %q", v.Name, v.Path, run)
				}
				create := []string{"/usr/bin/" + engine, "volume", "create", "--label", VolumeLabel + "=uni-fi", v.Name}
				if !slices.ContainsFunc(models["rockon-uni-fi-mongo.service"].commands("ExecStartPre"), func(c []string) bool { return slices.Equal(c, create) }) {
					t.Errorf("mongo's unit does not create %s", v.Name)
				}
			}
			// vpn's /etc/openvpn comes from ovpn-data (--volumes-from)
			for _, v := range res.Volumes {
				if v.Container != "mongo" {
					t.Errorf("named volume for %s: %+v", v.Container, v)
				}
			}
			found := false
			for _, w := range res.Warnings {
				if w == `container "mongo": the image's VOLUME "bad:path" cannot be mapped (not a plain absolute path); its content is lost when the container stops` {
					found = true
				}
			}
			if !found {
				t.Errorf("no warning for the unmappable VOLUME: %q", res.Warnings)
			}
			// without the images' volumes (before the first pull) nothing is added
			opt.ImageVolumes = nil
			if res, err = Compile(def, ch, opt); err != nil || len(res.Volumes) != 0 {
				t.Errorf("without image volumes: %q, %v", res.Volumes, err)
			}
		})
	}
}

// TestUIDFromFirstVolumeInDefinitionOrder: uid -1 is the owner of the
// first volume as the definition lists them, not the alphabetically first.
func TestUIDFromFirstVolumeInDefinitionOrder(t *testing.T) {
	defs, err := catalog.Decode("u.json", []byte(`{"U": {"description": "d", "version": "1", "website": "https://example.org/",
	  "containers": {"app": {"image": "example/app", "launch_order": 1, "uid": -1,
	    "volumes": {"/zconfig": {"label": "Config", "description": "c"}, "/amedia": {"label": "Media", "description": "m"}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	opt := goldenOptions(Podman)
	var asked []string
	opt.PathOwner = func(p string) (int, int, error) { asked = append(asked, p); return 1234, 100, nil }
	ch := model.Choices{Containers: map[string]model.ContainerChoices{"app": {Volumes: map[string]string{"/zconfig": "/srv/config", "/amedia": "/srv/media"}}}}
	_, models, err := compile(defs[0], ch, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != "/srv/config" {
		t.Errorf("owner asked of %q, want /srv/config", asked)
	}
	run := models["rockon-u-app.service"].commands("ExecStart")[0]
	if !hasPair(run, "-u", "1234") || !hasPair(run, "-v", "/srv/config:/zconfig") {
		t.Errorf("run = %q", run)
	}
}
