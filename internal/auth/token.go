package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinSecretLen is the shortest secret accepted: HS256 with a short secret can
// be brute-forced offline from a single captured token.
const MinSecretLen = 32

// Leeway absorbs clock skew between the machine that minted a token and the
// engine, for exp, nbf and iat alike.
const Leeway = 30 * time.Second

// claims is the token body: the registered claims and the role.
type claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// CheckSecret reports whether secret is fit to sign tokens.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("CROWDRISK_JWT_SECRET must be at least %d bytes (it is %d); generate one with: openssl rand -hex 32", MinSecretLen, len(secret))
	}
	return nil
}

// Mint signs a token for subject with role, valid for ttl from now.
func Mint(secret []byte, subject, role string, ttl time.Duration, now func() time.Time) (string, error) {
	if err := CheckSecret(secret); err != nil {
		return "", err
	}
	if _, err := ParseRole(role); err != nil {
		return "", err
	}
	if subject == "" {
		return "", errors.New("a token needs a subject")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("ttl must be positive, got %s", ttl)
	}
	t := now()
	c := claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   subject,
		IssuedAt:  jwt.NewNumericDate(t),
		NotBefore: jwt.NewNumericDate(t),
		ExpiresAt: jwt.NewNumericDate(t.Add(ttl)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

// Verifier checks tokens signed with one secret.
type Verifier struct {
	secret []byte
	parser *jwt.Parser
}

// NewVerifier builds a verifier. now is the clock exp, nbf and iat are
// checked against (time.Now when nil).
func NewVerifier(secret []byte, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	return &Verifier{
		secret: append([]byte(nil), secret...),
		// Pinning the method list is what refuses "alg":"none" and every
		// algorithm confusion (RS256 with the secret read as a public key).
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
			jwt.WithTimeFunc(now),
		),
	}
}

// Verify checks a token and returns its caller, with its expiry.
func (v *Verifier) Verify(token string) (Principal, time.Time, error) {
	if len(v.secret) == 0 {
		return Principal{}, time.Time{}, errors.New("no secret configured")
	}
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		return v.secret, nil
	})
	if err != nil {
		return Principal{}, time.Time{}, err
	}
	if c.Subject == "" {
		return Principal{}, time.Time{}, errors.New("token has no subject")
	}
	role, err := ParseRole(c.Role)
	if err != nil {
		return Principal{}, time.Time{}, err
	}
	return Principal{Subject: c.Subject, Role: role}, c.ExpiresAt.Time, nil
}
