package catalog

import "strings"

// DefaultRegistry is the registry an image name without a registry host
// refers to: Docker Hub, as under Rockstor (which runs docker) and as the
// distribution reference rules say.
const DefaultRegistry = "docker.io"

// QualifyImage returns the fully qualified form of an image name, as the
// distribution reference rules (and docker) read it: a first component
// with a '.' or ':' or equal to "localhost" is a registry host; anything
// else is a Docker Hub repository, and a one-component Docker Hub name is
// an official image under "library/". "index.docker.io" is Docker Hub's
// old name. Qualifying here, once, keeps podman (whose Debian
// configuration has no registries to search short names in) and docker
// pulling and running the same image, without the administrator editing
// registries.conf.
func QualifyImage(name string) string {
	host, rest, found := strings.Cut(name, "/")
	if !found || (!strings.ContainsAny(host, ".:") && host != "localhost") {
		host, rest = DefaultRegistry, name
	}
	if host == "index.docker.io" {
		host = DefaultRegistry
	}
	if host == DefaultRegistry && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return host + "/" + rest
}

// ImageRef is the fully qualified reference (QualifyImage, then the tag,
// "latest" when the definition has none) a container's image is pulled
// and run by.
func (c Container) ImageRef() string {
	tag := c.Tag
	if tag == "" {
		tag = "latest"
	}
	return QualifyImage(c.Image) + ":" + tag
}

// RegistryHost is the registry host of a qualified reference.
func RegistryHost(ref string) string {
	host, _, _ := strings.Cut(QualifyImage(ref), "/")
	return host
}
