package chaos

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Print writes the campaign's tables: faults, operations, events checked,
// violations by kind with their first examples.
func (r *Result) Print(w io.Writer) {
	for _, m := range r.Modes {
		m.Print(w)
	}
	fmt.Fprintf(w, "\nTOTAL: %d violations\n", r.Violations())
}

// Print writes one mode's tables.
func (m *ModeResult) Print(w io.Writer) {
	o, v := m.obs, m.verdict
	fmt.Fprintf(w, "\n=== %s mode: seed %d, %s, logs in %s\n", m.Mode, m.Seed, m.Duration, m.Out)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)

	fmt.Fprintln(tw, "\nFAULTS\tinjected\tnot injected\t")
	type fc struct{ yes, no int }
	faults := map[string]*fc{}
	notes := map[string]string{}
	for _, f := range o.Faults {
		c := faults[f.Kind]
		if c == nil {
			c = &fc{}
			faults[f.Kind] = c
		}
		if f.Injected {
			c.yes++
		} else {
			c.no++
		}
		if f.Note != "" {
			notes[f.Kind] = f.Note
		}
	}
	for _, k := range sortedKeys(faults) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", k, faults[k].yes, faults[k].no, notes[k])
	}

	fmt.Fprintln(tw, "\nOPERATIONS\tstatus\tcount\t")
	var opKeys []string
	for k := range v.Stats {
		if strings.HasPrefix(k, "ops ") {
			opKeys = append(opKeys, k)
		}
	}
	sort.Strings(opKeys)
	for _, k := range opKeys {
		f := strings.Fields(k)
		fmt.Fprintf(tw, "%s\t%s\t%d\t\n", f[1], f[2], v.Stats[k])
	}
	for _, k := range sortedKeys(m.readings) {
		fmt.Fprintf(tw, "reading\t%s\t%d\t\n", k, m.readings[k])
	}

	fmt.Fprintln(tw, "\nCHECKED\tcount\t\t")
	for _, k := range sortedKeys(v.Stats) {
		if !strings.HasPrefix(k, "ops ") {
			fmt.Fprintf(tw, "%s\t%d\t\t\n", k, v.Stats[k])
		}
	}
	fmt.Fprintf(tw, "subscribers\t%d\t\t\n", len(o.Subs))
	tw.Flush()

	fmt.Fprintf(w, "\nVIOLATIONS: %d\n", v.count())
	for _, k := range sortedKeys(v.Violations) {
		l := v.Violations[k]
		fmt.Fprintf(w, "  %-22s %5d\n    %s\n", k, len(l), examples(l, 3))
	}
}
