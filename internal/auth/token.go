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

// Option names the deployment a token is for: Mint writes it into the
// token, a Verifier requires it.
type Option func(*scope)

type scope struct{ audience, issuer string }

// Audience is the "aud" claim; empty leaves it out (Mint) or unchecked
// (NewVerifier).
func Audience(aud string) Option { return func(s *scope) { s.audience = aud } }

// Issuer is the "iss" claim; empty leaves it out (Mint) or unchecked
// (NewVerifier).
func Issuer(iss string) Option { return func(s *scope) { s.issuer = iss } }

func scopeOf(opts []Option) scope {
	var s scope
	for _, o := range opts {
		o(&s)
	}
	return s
}

// Mint signs a token for subject with role, valid for ttl from now.
func Mint(secret []byte, subject, role string, ttl time.Duration, now func() time.Time, opts ...Option) (string, error) {
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
	sc := scopeOf(opts)
	c := claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   subject,
		Issuer:    sc.issuer,
		IssuedAt:  jwt.NewNumericDate(t),
		NotBefore: jwt.NewNumericDate(t),
		ExpiresAt: jwt.NewNumericDate(t.Add(ttl)),
	}}
	if sc.audience != "" {
		c.Audience = jwt.ClaimStrings{sc.audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

// Verifier checks tokens signed with one secret.
type Verifier struct {
	secret []byte
	parser *jwt.Parser
}

// NewVerifier builds a verifier. now is the clock exp, nbf and iat are
// checked against (time.Now when nil). With Audience or Issuer, tokens must
// carry that aud or iss: a token minted for another deployment that happens
// to share the secret (staging, a second venue) is refused.
func NewVerifier(secret []byte, now func() time.Time, opts ...Option) *Verifier {
	if now == nil {
		now = time.Now
	}
	// Pinning the method list is what refuses "alg":"none" and every
	// algorithm confusion (RS256 with the secret read as a public key).
	popts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(now),
	}
	sc := scopeOf(opts)
	if sc.audience != "" {
		popts = append(popts, jwt.WithAudience(sc.audience))
	}
	if sc.issuer != "" {
		popts = append(popts, jwt.WithIssuer(sc.issuer))
	}
	return &Verifier{secret: append([]byte(nil), secret...), parser: jwt.NewParser(popts...)}
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
		// RFC 7515 4.1.11: a token whose "crit" names extensions the
		// recipient does not understand must be refused, and we
		// understand none (the library ignores the header).
		if _, ok := t.Header["crit"]; ok {
			return nil, errors.New(`token has a "crit" header; no critical extension is supported`)
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
