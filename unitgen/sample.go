package unitgen

import (
	"path"
	"strconv"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// DefaultSampleRoot is where SampleChoices puts volumes when no root is
// given.
const DefaultSampleRoot = "/srv/rockon-sample"

// SampleChoices returns choices that satisfy every requirement of the
// definition, for `rockon compile --all --sample` and tests. They are
// documented and stable:
//
//   - ports: every port published on its host_default;
//   - volumes: sampleRoot/<rock-on slug>/<container slug>/<path slug>
//     (sampleRoot "" means DefaultSampleRoot);
//   - environment and custom_config: the non-empty value
//     "sample-<name>" (name as written in the definition);
//   - devices: none passed (a device path may not exist on the host);
//   - consent: everything the definition needs (RequiredConsent).
func SampleChoices(def *catalog.RockOn, sampleRoot string) model.Choices {
	if sampleRoot == "" {
		sampleRoot = DefaultSampleRoot
	}
	ch := model.Choices{Containers: map[string]model.ContainerChoices{}, Consent: RequiredConsent(def)}
	for i := range def.Containers {
		c := &def.Containers[i]
		cc := model.ContainerChoices{}
		for _, p := range c.Ports {
			if cc.Ports == nil {
				cc.Ports = map[string]int{}
			}
			cc.Ports[strconv.Itoa(p.ContainerPort)] = p.HostDefault
		}
		for _, v := range c.Volumes {
			if cc.Volumes == nil {
				cc.Volumes = map[string]string{}
			}
			leaf := model.Slug(v.Path)
			if leaf == "" {
				leaf = "root"
			}
			cc.Volumes[v.Path] = path.Join(sampleRoot, model.Slug(def.Name), model.Slug(c.Name), leaf)
		}
		for _, e := range c.Env {
			if cc.Env == nil {
				cc.Env = map[string]string{}
			}
			cc.Env[e.Name] = "sample-" + e.Name
		}
		ch.Containers[c.Name] = cc
	}
	for _, f := range def.CustomConfig {
		if ch.CustomConfig == nil {
			ch.CustomConfig = map[string]string{}
		}
		ch.CustomConfig[f.Key] = "sample-" + f.Key
	}
	return ch
}

// SampleOptions are the options `rockon compile --sample` uses: the
// engine's defaults, and fixed answers for the host lookups that sample
// volumes (which need not exist) cannot give: owner 1000:1000 for every
// volume, docker group 999.
func SampleOptions(engine string) Options {
	return Options{
		Host:      model.Host{Engine: engine},
		PathOwner: func(string) (int, int, error) { return 1000, 1000, nil },
		DockerGID: func() (int, error) { return 999, nil },
	}.withDefaults()
}
