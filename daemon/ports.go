package daemon

import "github.com/rockon/rockon/catalog"

// listeningPorts lists the host ports a socket is bound to, read by the
// catalog's /proc/net reader (the CLI's too: one reader of those tables).
// Unreadable tables count as nothing bound: the engine still refuses a
// port it cannot bind.
func listeningPorts() catalog.PortSet {
	set, err := catalog.ListeningPorts("")
	if err != nil {
		return catalog.PortSet{}
	}
	return set
}
