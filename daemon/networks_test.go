package daemon

import (
	"slices"
	"testing"

	"github.com/rockon/rockon/unitgen"
)

// result builds a compiled result with its own networks (not shared) and
// shared ones, as unitgen.Compile fills both fields.
func result(slug string, own []string, shared ...string) *unitgen.Result {
	res := &unitgen.Result{Slug: slug, Networks: own}
	for _, n := range own {
		res.EngineNetworks = append(res.EngineNetworks, unitgen.Network{Name: n, Unit: "rockon-" + slug + "-net.service"})
	}
	for _, n := range shared {
		res.EngineNetworks = append(res.EngineNetworks, unitgen.Network{Name: n, Unit: "rockon-" + slug + "-" + n + "-net.service", Shared: true})
	}
	return res
}

func TestNetworksToRemove(t *testing.T) {
	ours := map[string]string{unitgen.SharedNetworkLabel: "adguard-home"}
	byOther := map[string]string{unitgen.SharedNetworkLabel: "pihole"} // created by another rock-on's unit: still rockon's
	for _, tc := range []struct {
		name   string
		res    *unitgen.Result
		others []*unitgen.Result
		labels map[string]map[string]string
		want   []string
		kept   []string
	}{
		{name: "nothing to remove", res: nil},
		{name: "own networks always go",
			res:    result("a", []string{"rockon-a-back"}),
			others: []*unitgen.Result{result("b", []string{"rockon-b-back"})},
			want:   []string{"rockon-a-back"}},
		{name: "shared, labelled, used by no other",
			res:    result("adguard-home", nil, "adguard-home"),
			others: []*unitgen.Result{result("b", []string{"rockon-b-x"}, "other-net")},
			labels: map[string]map[string]string{"adguard-home": ours},
			want:   []string{"adguard-home"}},
		{name: "the label's value does not matter",
			res:    result("adguard-home", nil, "adguard-home"),
			labels: map[string]map[string]string{"adguard-home": byOther},
			want:   []string{"adguard-home"}},
		{name: "shared, another installed rock-on lists it",
			res:    result("adguard-home", []string{"rockon-adguard-home-x"}, "adguard-home"),
			others: []*unitgen.Result{result("b", nil, "adguard-home")},
			labels: map[string]map[string]string{"adguard-home": ours},
			want:   []string{"rockon-adguard-home-x"},
			kept:   []string{"adguard-home"}},
		{name: "shared, made by hand (no label)",
			res:    result("adguard-home", nil, "adguard-home"),
			labels: map[string]map[string]string{"adguard-home": {"owner": "admin"}},
			kept:   []string{"adguard-home"}},
		{name: "shared, missing or not inspectable",
			res:  result("adguard-home", nil, "adguard-home"),
			kept: []string{"adguard-home"}},
		{name: "an installed rock-on that does not compile keeps every shared network",
			res:    result("a", []string{"rockon-a-x"}, "n1", "n2"),
			others: []*unitgen.Result{result("b", nil), nil},
			labels: map[string]map[string]string{"n1": ours, "n2": ours},
			want:   []string{"rockon-a-x"},
			kept:   []string{"n1", "n2"}},
		{name: "several shared, decided each",
			res:    result("a", nil, "n1", "n2", "n3"),
			others: []*unitgen.Result{result("b", nil, "n2")},
			labels: map[string]map[string]string{"n1": ours, "n2": ours, "n3": {}},
			want:   []string{"n1"},
			kept:   []string{"n2", "n3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, kept := networksToRemove(tc.res, tc.others, tc.labels)
			if !slices.Equal(got, tc.want) {
				t.Errorf("removed %q, want %q", got, tc.want)
			}
			var keptNames []string
			for n, why := range kept {
				if why == "" {
					t.Errorf("%s kept without a reason", n)
				}
				keptNames = append(keptNames, n)
			}
			slices.Sort(keptNames)
			if !slices.Equal(keptNames, tc.kept) {
				t.Errorf("kept %q, want %q", keptNames, tc.kept)
			}
		})
	}
}
