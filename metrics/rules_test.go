package metrics

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

const exampleRules = "../packaging/prometheus/rockon.rules.yml"

// The shipped example alerting rules are valid for Prometheus (promtool
// check rules), fire as meant on series shaped as rockond exports them
// (promtool test rules, testdata/rules_test.yml), and name only metrics and
// labels that rockond exports (checked against the golden exposition).
func TestExampleAlertRules(t *testing.T) {
	promtool := needTool(t, "promtool")
	for _, args := range [][]string{{"check", "rules", exampleRules}, {"test", "rules", "testdata/rules_test.yml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rules, err := os.ReadFile(exampleRules)
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/sample.prom")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`\brockon_[a-z_]+\b`).FindAllString(string(rules), -1) {
		if name == "rockon_rules" {
			continue
		}
		if !regexp.MustCompile(`(?m)^` + name + `[{ ]`).Match(golden) {
			t.Errorf("the rules use %s, which rockond does not export", name)
		}
	}
	// Every series about a rock-on has the label "rockon", none "name".
	if regexp.MustCompile(`(?m)^rockon_\w+\{[^}]*\bname=`).Match(golden) {
		t.Error("a series labels its rock-on \"name\": every series uses \"rockon\"")
	}
	for _, fam := range []string{"rockon_rockon_info", "rockon_rockon_desired_running", "rockon_rockon_state", "rockon_container_info", "rockon_container_state"} {
		if !regexp.MustCompile(`(?m)^` + fam + `\{[^}]*\brockon="`).Match(golden) {
			t.Errorf("%s has no rockon label", fam)
		}
	}
}
