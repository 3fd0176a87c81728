package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Row is one line of the result table: a measurement, optionally against a
// baseline, and the target it is judged by.
type Row struct {
	Name     string
	Unit     string    // "ms", "MB", "/min", ...
	Samples  []float64 // one per repetition
	Baseline string    // what the baseline is; empty: no baseline
	Base     []float64 // the baseline's samples
	// Target is how the row is judged; nil: for information only.
	Target *Target
	Note   string
}

// Target is a bound on the median (Absolute) or on the ratio of the
// median to the baseline's median.
type Target struct {
	Ratio bool    // bound the ratio median/base median; else the median itself
	Max   float64 // the bound (inclusive)
}

func (t *Target) String() string {
	if t == nil {
		return ""
	}
	if t.Ratio {
		return fmt.Sprintf("ratio <= %s", trim(t.Max))
	}
	return fmt.Sprintf("<= %s", trim(t.Max))
}

// Median is the middle sample (the mean of the two middle ones for an even
// count); NaN when there are none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Spread is the range of the samples as "min–max" (a single value when
// there is one sample).
func Spread(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	if len(xs) == 1 || lo == hi {
		return num(lo)
	}
	return num(lo) + "–" + num(hi)
}

// Ratio is the median over the baseline's median; NaN without a baseline.
func (r Row) Ratio() float64 {
	if len(r.Base) == 0 {
		return math.NaN()
	}
	b := Median(r.Base)
	if b == 0 {
		return math.NaN()
	}
	return Median(r.Samples) / b
}

// Holds says whether the target holds: "yes", "NO", or "" for a row that
// has no target (or no samples).
func (r Row) Holds() string {
	if r.Target == nil || len(r.Samples) == 0 {
		return ""
	}
	v := Median(r.Samples)
	if r.Target.Ratio {
		v = r.Ratio()
	}
	if math.IsNaN(v) {
		return "NO"
	}
	if v <= r.Target.Max {
		return "yes"
	}
	return "NO"
}

// WriteTable prints the rows as an aligned text table (Markdown when md).
func WriteTable(w io.Writer, rows []Row, md bool) error {
	head := []string{"Measurement", "Median", "Spread (min–max)", "n", "Baseline", "Baseline median", "Ratio", "Target", "Holds"}
	lines := [][]string{head}
	for _, r := range rows {
		unit := ""
		if r.Unit != "" {
			unit = " " + r.Unit
		}
		base, bmed, ratio := "", "", ""
		if r.Baseline != "" {
			base = r.Baseline
			if len(r.Base) > 0 {
				bmed = num(Median(r.Base)) + unit + " (" + Spread(r.Base) + ")"
				ratio = fmt.Sprintf("%.2f", r.Ratio())
			}
		}
		med := "-"
		if len(r.Samples) > 0 {
			med = num(Median(r.Samples)) + unit
		}
		name := r.Name
		if r.Note != "" {
			name += " (" + r.Note + ")"
		}
		lines = append(lines, []string{name, med, Spread(r.Samples), fmt.Sprint(len(r.Samples)), base, bmed, ratio, r.Target.String(), r.Holds()})
	}
	if md {
		for i, l := range lines {
			esc := make([]string, len(l))
			for j, c := range l {
				esc[j] = strings.ReplaceAll(c, "|", `\|`)
			}
			if _, err := fmt.Fprintf(w, "| %s |\n", strings.Join(esc, " | ")); err != nil {
				return err
			}
			if i == 0 {
				if _, err := fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(l))); err != nil {
					return err
				}
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintln(tw, strings.Join(l, "\t"))
	}
	return tw.Flush()
}

// num prints a figure with about three significant digits.
func num(x float64) string {
	switch ax := math.Abs(x); {
	case math.IsNaN(x):
		return "NaN"
	case ax >= 100 || ax == 0:
		return fmt.Sprintf("%.0f", x)
	case ax >= 10:
		return fmt.Sprintf("%.1f", x)
	case ax >= 1:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}

func trim(x float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", x), "0"), ".")
}
