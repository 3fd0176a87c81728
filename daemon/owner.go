package daemon

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// pathOwner resolves uid/gid -1 of a definition: the owner of a host
// directory.
func pathOwner(path string) (int, int, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("%s: no owner information", path)
	}
	return int(st.Uid), int(st.Gid), nil
}

// dockerGID resolves gid -2: the docker group.
func dockerGID() (int, error) {
	g, err := user.LookupGroup("docker")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}
