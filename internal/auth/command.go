package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// MaxTTL bounds minted tokens: a JWT cannot be revoked, only outlived.
const MaxTTL = 366 * 24 * time.Hour

// RunTokenCommand is `crowdrisk token`: it mints a token with the secret from
// CROWDRISK_JWT_SECRET and prints it on stdout. args are the arguments after
// the subcommand name.
func RunTokenCommand(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("crowdrisk token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "role of the token: viewer, operator, sensor or admin (required)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid (at most 366 days)")
	subject := fs.String("subject", "", "who the token is for, e.g. gate-3 (default: the role)")
	// The engine's own variables, so that a token minted next to it carries
	// the aud and iss it checks.
	audience := fs.String("audience", getenv("CROWDRISK_JWT_AUDIENCE"), `the token's "aud" (the engine's --jwt-audience) [$CROWDRISK_JWT_AUDIENCE]`)
	issuer := fs.String("issuer", getenv("CROWDRISK_JWT_ISSUER"), `the token's "iss" (the engine's --jwt-issuer) [$CROWDRISK_JWT_ISSUER]`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: crowdrisk token --role ROLE [--ttl 24h] [--subject NAME] [--audience AUD] [--issuer ISS]")
		fmt.Fprintln(stderr, "Mints an HS256 token signed with CROWDRISK_JWT_SECRET and prints it.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q", fs.Arg(0))
	}
	secret := getenv("CROWDRISK_JWT_SECRET")
	if secret == "" {
		return errors.New("token: CROWDRISK_JWT_SECRET is not set; set it to the same secret the engine runs with (e.g. export CROWDRISK_JWT_SECRET=$(openssl rand -hex 32))")
	}
	if *role == "" {
		return errors.New("token: --role is required (viewer, operator, sensor or admin)")
	}
	if *ttl > MaxTTL {
		return fmt.Errorf("token: --ttl %s is longer than the maximum %s", *ttl, MaxTTL)
	}
	sub := *subject
	if sub == "" {
		// Limits and the audit trail are per subject: a default shared by
		// every token of a role would let one screen starve the others and
		// hide who did what. Make each token its own.
		var b [4]byte
		_, _ = rand.Read(b[:])
		sub = *role + "-" + hex.EncodeToString(b[:])
	}
	// The command is the program's edge, where reading the wall clock belongs.
	now := time.Now
	tok, err := Mint([]byte(secret), sub, *role, *ttl, now, Audience(*audience), Issuer(*issuer))
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	fmt.Fprintln(stdout, tok)
	fmt.Fprintf(stderr, "token for %q with role %s, valid until %s\n", sub, *role, now().Add(*ttl).UTC().Format(time.RFC3339))
	return nil
}
