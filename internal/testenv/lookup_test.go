package testenv

import (
	"strings"
	"testing"
)

// A missing server must fail the test with the package to install, never
// skip: CI installs the packages, so a skip would hide a broken setup.
func TestMissingBinaryNamesThePackage(t *testing.T) {
	_, err := lookBinary("crowdrisk-no-such-server", "crowdrisk-server-pkg")
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y crowdrisk-server-pkg") {
		t.Fatalf("error = %v; want one naming the Debian package to install", err)
	}
}
