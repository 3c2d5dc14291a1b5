package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/crowdrisk/crowdrisk/internal/app"
	"github.com/crowdrisk/crowdrisk/internal/datadir"
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
	dataDir := dataDirFlag(fs)
	out := fs.String("out", "", "the backup file to write (must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("backup: --out FILE is required, and nothing else")
	}
	db := filepath.Join(*dataDir, "crowdrisk.db")
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

// runRestore puts a backup in place of the data directory's database:
//
//	crowdrisk restore --data-dir data --from /backups/crowdrisk-2026-11-30.db
//
// It refuses while an engine holds the directory (stop it first); the
// database it replaces is moved aside, never deleted.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("crowdrisk restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := dataDirFlag(fs)
	from := fs.String("from", "", "the backup file (written by crowdrisk backup)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("restore: --from FILE is required, and nothing else")
	}
	lock, err := datadir.Acquire(*dataDir, "crowdrisk restore")
	if errors.Is(err, datadir.ErrInUse) {
		return fmt.Errorf("restore: stop the engine first: %w", err)
	}
	if err != nil {
		return err
	}
	defer lock.Release()
	db := filepath.Join(*dataDir, "crowdrisk.db")
	sum, aside, err := sqlite.Restore(ctx, *from, db)
	if err != nil {
		return fmt.Errorf("restore into %s: %w", db, err)
	}
	fmt.Fprintf(stdout, "restored %s into %s: schema migration %d, %d alerts, %d events, %d incident-log lines (integrity check ok)\n",
		*from, db, sum.Migration, sum.Alerts, sum.Events, sum.Incidents)
	if aside != "" {
		fmt.Fprintf(stdout, "the database it replaced is kept as %s (with its -wal and -shm, if any)\n", aside)
	}
	return nil
}

// dataDirFlag is --data-dir as the engine reads it (flag, then
// CROWDRISK_DATA_DIR, then the engine's default).
func dataDirFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("CROWDRISK_DATA_DIR")
	if def == "" {
		def = app.DefaultConfig().DataDir
	}
	return fs.String("data-dir", def, "the engine's --data-dir (env CROWDRISK_DATA_DIR)")
}
