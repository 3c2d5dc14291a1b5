package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crowdrisk/crowdrisk/internal/store/sqlite"
)

// A backup that cannot be written or checked leaves no file behind (not
// even its partial copy), and one that succeeds is a database the store
// opens.
func TestBackupIsWholeOrAbsent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "crowdrisk.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// Into a directory that does not exist: refused, nothing left.
	missing := filepath.Join(dir, "no", "such", "b.db")
	if _, err := sqlite.Backup(ctx, path, missing); err == nil {
		t.Fatal("a backup into a missing directory succeeded")
	}
	// Of a file that is not a database: refused, nothing left.
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "b.db")
	if _, err := sqlite.Backup(ctx, junk, out); err == nil {
		t.Fatal("a backup of a file that is no database succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*b.db*")); len(left) != 0 {
		t.Fatalf("failed backups left %v", left)
	}

	sum, err := sqlite.Backup(ctx, path, out)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Migration == 0 || sum.Bytes == 0 {
		t.Fatalf("summary %+v", sum)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*partial")); len(left) != 0 {
		t.Fatalf("a backup left %v", left)
	}
	r, err := sqlite.Open(ctx, out)
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	r.Close()
}

// A restore that fails after the backup checked out (here the copy beside
// the database cannot be written) leaves the database where it was, with
// nothing moved aside: an engine started after it finds its own data, not
// an empty file.
func TestFailedRestoreLeavesTheDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "crowdrisk.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	backup := filepath.Join(t.TempDir(), "b.db")
	if _, err := sqlite.Backup(ctx, path, backup); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Where the copy would go, a directory: the copy fails.
	if err := os.Mkdir(filepath.Join(dir, ".crowdrisk.db.partial"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sqlite.Restore(ctx, backup, path); err == nil {
		t.Fatal("the restore succeeded without its copy")
	}
	after, err := os.ReadFile(path)
	if err != nil || string(after) != string(before) {
		t.Fatalf("the database changed or went away (%v)", err)
	}
	if aside, _ := filepath.Glob(path + ".before-restore-*"); len(aside) != 0 {
		t.Fatalf("moved aside anyway: %v", aside)
	}
	// Once the copy can be written (the failed restore cleared its
	// leftover), the restore goes through and keeps the replaced database.
	_, aside, err := sqlite.Restore(ctx, backup, path)
	if err != nil || aside == "" {
		t.Fatalf("restore: %v, aside %q", err, aside)
	}
	if kept, err := os.ReadFile(aside); err != nil || string(kept) != string(before) {
		t.Fatalf("the replaced database was not kept as it was (%v)", err)
	}
}
