package chaos

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// dump writes the history the verdict was drawn from next to the logs
// (operations, faults, every subscriber's records), so a violation can be
// traced without running the campaign again.
func dump(dir string, o *observation) {
	write := func(name string, v any) {
		b, err := json.MarshalIndent(v, "", " ")
		if err == nil {
			os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
	}
	write("ops.json", o.Ops)
	write("faults.json", o.Faults)
	for _, s := range o.Subs {
		f, err := os.Create(filepath.Join(dir, s.name+".jsonl"))
		if err != nil {
			continue
		}
		enc := json.NewEncoder(f)
		for _, r := range s.recs {
			enc.Encode(r)
		}
		f.Close()
	}
}
