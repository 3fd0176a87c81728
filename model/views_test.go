package model

import (
	"slices"
	"testing"
)

func TestSortByName(t *testing.T) {
	l := []Status{{Name: "beta"}, {Name: "Alpha", State: "1"}, {Name: "gamma"}, {Name: "alpha", State: "2"}, {Name: "Beta2"}}
	SortByName(l, func(s *Status) string { return s.Name })
	var got []string
	for _, s := range l {
		got = append(got, s.Name+s.State)
	}
	// case ignored, equal names kept in their given order
	if want := []string{"Alpha1", "alpha2", "beta", "Beta2", "gamma"}; !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
}
