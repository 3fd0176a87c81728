package unitgen

import (
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
)

// Variables the definition does not list (TZ) and optional ones left empty
// go through the same validation as the others: a valid extra one reaches
// the env file, an empty optional one is not passed, a bad name or value
// is refused naming it.
func TestExtraAndOptionalEnv(t *testing.T) {
	defs, err := catalog.Decode("env.json", []byte(`{"Env": {"description": "d", "version": "1", "website": "https://example.org/",
	  "containers": {"web": {"image": "example/web", "launch_order": 1,
	    "environment": {
	      "PASSWORD": {"description": "The admin password.", "label": "Password"},
	      "PROXY": {"description": "Optional: an HTTP proxy.", "label": "Proxy"}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	def := defs[0]
	opt := Options{Host: model.Host{Engine: Podman}}
	ch := model.Choices{Containers: map[string]model.ContainerChoices{"web": {Env: map[string]string{"PASSWORD": "s3cret", "TZ": "Europe/Berlin"}}}}
	if err := ValidateChoices(ch, def, opt); err != nil {
		t.Fatalf("an optional variable left empty and an extra TZ refused: %v", err)
	}
	res, err := Compile(def, ch, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.EnvFiles) != 1 {
		t.Fatalf("env files: %+v", res.EnvFiles)
	}
	env := string(res.EnvFiles[0].Content)
	for _, want := range []string{"\nPASSWORD=s3cret\n", "\nTZ=Europe/Berlin\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("env file lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(env, "PROXY") {
		t.Errorf("an empty optional variable is passed:\n%s", env)
	}

	// A required one is still required.
	ch.Containers["web"].Env["PASSWORD"] = ""
	if err := ValidateChoices(ch, def, opt); err == nil || !strings.Contains(err.Error(), "PASSWORD") {
		t.Errorf("a missing required value: %v", err)
	}
	ch.Containers["web"].Env["PASSWORD"] = "x"
	for key, val := range map[string]string{"1TZ": "x", "T Z": "x", "A=B": "x", "TZ": "a\nExecStartPre=/bin/sh"} {
		bad := model.Choices{Containers: map[string]model.ContainerChoices{"web": {Env: map[string]string{"PASSWORD": "x", key: val}}}}
		if err := ValidateChoices(bad, def, opt); err == nil || !strings.Contains(err.Error(), "environment variable") {
			t.Errorf("extra %q=%q: %v", key, val, err)
		}
	}
}
