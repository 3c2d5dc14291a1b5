package web

import (
	"testing"
	"testing/fstest"
)

func hashOf(t *testing.T, files map[string]string) string {
	t.Helper()
	m := fstest.MapFS{}
	for n, c := range files {
		m[n] = &fstest.MapFile{Data: []byte(c)}
	}
	s, err := loadAssets(m)
	if err != nil {
		t.Fatal(err)
	}
	return s.hash
}
