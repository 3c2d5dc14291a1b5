package engine

import "context"

type commandKey struct{}

// WithCommand marks ctx as carrying out the operator command with this
// idempotency key: the step it commits records the key in the same
// transaction (store.Batch.Command), so whoever replays the command later
// can ask the store whether it already took effect.
func WithCommand(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, commandKey{}, key)
}

func commandOf(ctx context.Context) string {
	k, _ := ctx.Value(commandKey{}).(string)
	return k
}
