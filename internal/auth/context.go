package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

type principalKey struct{}

// WithPrincipal returns ctx carrying the authenticated caller, so handlers
// further in (the stream handler's per-client caps, audit actors) can read it.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller stored by WithPrincipal.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

type credentialKey struct{}

// Credential is what a verified token says about the request beyond its
// caller: which session it belongs to and when it ends. The loopback demo's
// implicit caller has none.
type Credential struct {
	// Session names the token without keeping it (SessionID): every
	// stream opened with one token ends when it signs out.
	Session string
	Expires time.Time
}

// WithCredential returns ctx carrying the request's verified credential.
func WithCredential(ctx context.Context, c Credential) context.Context {
	return context.WithValue(ctx, credentialKey{}, c)
}

// CredentialFrom returns the credential stored by WithCredential; ok is
// false when no token was verified.
func CredentialFrom(ctx context.Context) (Credential, bool) {
	c, ok := ctx.Value(credentialKey{}).(Credential)
	return c, ok
}

// SessionID is the session of a token: a hash, so that a table of open
// sessions holds nothing that could be used to sign in.
func SessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}
