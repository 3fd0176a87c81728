package unitgen

import (
	"strings"
	"testing"
)

// TestLimitsReachSystemdAndTheEngine: a memory and CPU limit chosen for a
// container is set on the unit (podman) or the container's slice (docker)
// for systemd, and given to the engine for the container's own cgroup.
func TestLimitsReachSystemdAndTheEngine(t *testing.T) {
	for _, eng := range []string{Podman, Docker} {
		t.Run(eng, func(t *testing.T) {
			ch := testChoices()
			web := ch.Containers["web"]
			web.Memory, web.CPUs = "128M", "1.5"
			ch.Containers["web"] = web
			res, err := Compile(testDef(), ch, goldenOptions(eng))
			if err != nil {
				t.Fatal(err)
			}
			units := map[string]string{}
			for _, f := range res.Units {
				units[f.Name] = string(f.Content)
			}
			svc := units["rockon-test-app-web.service"]
			holder := svc
			if eng == Docker {
				holder = units["rockon-test_app__web.slice"]
			}
			for _, want := range []string{"MemoryMax=128M", "CPUQuota=150%"} {
				if !strings.Contains(holder, want) {
					t.Errorf("%s lacks %s:\n%s", eng, want, holder)
				}
			}
			if want := `"--memory" "134217728" "--cpus" "1.5"`; !strings.Contains(svc, want) {
				t.Errorf("the engine is not given the limits (%s):\n%s", want, svc)
			}
			// the other container has no limit
			if db := units["rockon-test-app-db.service"]; strings.Contains(db, "--memory") || strings.Contains(db, "MemoryMax") {
				t.Errorf("db has a limit it was not given:\n%s", db)
			}
		})
	}
}
