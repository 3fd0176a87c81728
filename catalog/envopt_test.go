package catalog

import "testing"

func TestEnvOptional(t *testing.T) {
	for _, tc := range []struct {
		label, desc string
		want        bool
	}{
		{"Timezone", "Optional: your time zone, e.g. Europe/Berlin.", true},
		{"API key (optional)", "A key.", true},
		{"Proxy", "Leave empty if you use no proxy.", true},
		{"Password", "The admin password.", false},
		{"Mode", "Optionality is not a word here.", false},
	} {
		if got := (Env{Label: tc.label, Description: tc.desc}).Optional(); got != tc.want {
			t.Errorf("Optional(%q, %q) = %v, want %v", tc.label, tc.desc, got, tc.want)
		}
	}
}
