package main

import (
	"strings"
	"unicode/utf8"
)

// closest is the candidate nearest to s (case-insensitive edit distance,
// transpositions counting as one), or "" when none is near enough to be
// what was meant: at most one edit for short words, a third of the
// length for longer ones. A candidate that starts with s also counts.
func closest(s string, candidates []string) string {
	ls := strings.ToLower(s)
	best, bestD := "", -1
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if lc == ls {
			return c
		}
		d := editDistance(ls, lc)
		if len(ls) >= 3 && strings.HasPrefix(lc, ls) {
			d = 1
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(1, utf8.RuneCountInString(s)/3) {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range y {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
