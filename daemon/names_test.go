package daemon

import (
	"errors"
	"testing"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

func TestCheckContainerNames(t *testing.T) {
	m := &Manager{
		installed: map[string]*state.Installed{"plex": {Name: "Plex"}},
		results: map[string]*unitgen.Result{"plex": {Containers: []unitgen.ContainerUnit{
			{Name: "plex", Unit: "rockon-plex-plex.service"}, {Name: "db", Unit: "rockon-plex-db.service"}}}},
	}
	clash := &unitgen.Result{Containers: []unitgen.ContainerUnit{{Name: "web"}, {Name: "db"}}}
	if err := m.checkContainerNames("nextcloud", clash); !errors.Is(err, model.ErrInvalidArgs) {
		t.Errorf("clashing container name: %v", err)
	}
	// the rock-on's own containers (reconfigure, update) are no clash
	if err := m.checkContainerNames("plex", clash); err != nil {
		t.Errorf("own names: %v", err)
	}
	if err := m.checkContainerNames("other", &unitgen.Result{Containers: []unitgen.ContainerUnit{{Name: "web"}}}); err != nil {
		t.Errorf("distinct names: %v", err)
	}
}
