package auth

import "context"

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
