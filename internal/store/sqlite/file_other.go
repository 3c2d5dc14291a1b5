//go:build !unix

package sqlite

import "os"

// fileID is not available here: the identity check compares nothing.
type fileID struct{}

func identify(path string) (fileID, error) {
	_, err := os.Stat(path)
	return fileID{}, err
}

func explain(path string, err error) error { return err }
