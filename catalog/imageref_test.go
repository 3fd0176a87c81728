package catalog

import "testing"

func TestQualifyImage(t *testing.T) {
	for in, want := range map[string]string{
		"mariadb":                               "docker.io/library/mariadb",
		"linuxserver/mariadb":                   "docker.io/linuxserver/mariadb",
		"docker.io/mariadb":                     "docker.io/library/mariadb",
		"docker.io/linuxserver/sonarr":          "docker.io/linuxserver/sonarr",
		"index.docker.io/foo/bar":               "docker.io/foo/bar",
		"lscr.io/linuxserver/sonarr":            "lscr.io/linuxserver/sonarr",
		"ghcr.io/home-assistant/home-assistant": "ghcr.io/home-assistant/home-assistant",
		"localhost/rockon-test":                 "localhost/rockon-test",
		"registry:5000/team/app":                "registry:5000/team/app",
		"a/b/c":                                 "docker.io/a/b/c",
	} {
		if got := QualifyImage(in); got != want {
			t.Errorf("QualifyImage(%q) = %q, want %q", in, got, want)
		}
	}
	c := Container{Image: "linuxserver/mariadb"}
	if got := c.ImageRef(); got != "docker.io/linuxserver/mariadb:latest" {
		t.Errorf("ImageRef without tag = %q", got)
	}
	c.Tag = "10.11"
	if got := c.ImageRef(); got != "docker.io/linuxserver/mariadb:10.11" {
		t.Errorf("ImageRef = %q", got)
	}
	if got := RegistryHost("ghcr.io/a/b:1"); got != "ghcr.io" {
		t.Errorf("RegistryHost = %q", got)
	}
	if got := RegistryHost("mariadb:1"); got != "docker.io" {
		t.Errorf("RegistryHost = %q", got)
	}
}
