package main

import "testing"

func TestClosest(t *testing.T) {
	cands := []string{"status", "start", "stop", "install", "uninstall", "doctor", "Home Assistant", "Plex", "Gotify"}
	for in, want := range map[string]string{
		"stauts":         "status", // transposition
		"instal":         "install",
		"docter":         "doctor",
		"plex":           "Plex", // case
		"home assistent": "Home Assistant",
		"gotfy":          "Gotify",
		"frobnicate":     "",
		"xy":             "",
		"Home":           "Home Assistant", // prefix
	} {
		if got := closest(in, cands); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}

// status gives the web UI's address with the host's name, as info does.
func TestHostUIURL(t *testing.T) {
	h := hostName()
	for in, want := range map[string]string{
		"http://localhost:8080/ui":   "http://" + h + ":8080/ui",
		"https://localhost:8443/":    "https://" + h + ":8443/",
		"http://nas.example:8080/ui": "http://nas.example:8080/ui",
		"":                           "",
	} {
		if got := hostUIURL(in); got != want {
			t.Errorf("hostUIURL(%q) = %q, want %q", in, got, want)
		}
	}
}
