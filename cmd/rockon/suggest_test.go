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
