package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// runBackup copies the embedded database while the engine runs:
//
//	crowdrisk backup --data-dir data --out /backups/crowdrisk-2026-11-30.db
//
// A cluster keeps its data in PostgreSQL, which has its own tools
// (pg_dump); docs/deployment.md has both procedures and the restore.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("crowdrisk backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := os.Getenv("CROWDRISK_DATA_DIR")
	if dataDir == "" {
		dataDir = "data"
	}
	fs.StringVar(&dataDir, "data-dir", dataDir, "the engine's --data-dir (env CROWDRISK_DATA_DIR)")
	out := fs.String("out", "", "the backup file to write (must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("backup: --out FILE is required, and nothing else")
	}
	db := filepath.Join(dataDir, "crowdrisk.db")
	sum, err := sqlite.Backup(ctx, db, *out)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup of %s: %w (a cluster on --postgres keeps its data in PostgreSQL: back it up with pg_dump)", db, err)
	}
	if err != nil {
		return fmt.Errorf("backup of %s: %w", db, err)
	}
	fmt.Fprintf(stdout, "backup of %s written to %s: %d bytes, schema migration %d, %d alerts, %d events, %d incident-log lines (integrity check ok)\n",
		db, *out, sum.Bytes, sum.Migration, sum.Alerts, sum.Events, sum.Incidents)
	return nil
}
