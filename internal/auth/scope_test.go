package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// forge signs header and claims with key by hand, so a test can put in a
// header what no library would write.
func forge(t *testing.T, header, claims map[string]any, key []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	sig, err := jwt.SigningMethodHS256.Sign(signing, key)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestAudienceIssuerAndCrit(t *testing.T) {
	t0 := time.Unix(1764270000, 0)
	claims := func(extra map[string]any) map[string]any {
		c := map[string]any{"sub": "op", "role": "operator", "iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
			"aud": "venue-north", "iss": "crowdrisk-ops"}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	v := NewVerifier(secret, fixedClock(t0), Audience("venue-north"), Issuer("crowdrisk-ops"))
	if _, _, err := v.Verify(forge(t, hs, claims(nil), secret)); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	if _, _, err := v.Verify(forge(t, hs, claims(map[string]any{"aud": []string{"other", "venue-north"}}), secret)); err != nil {
		t.Fatalf("token for several audiences, ours among them, refused: %v", err)
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	body, _ := json.Marshal(claims(nil))
	refused := map[string]string{
		"foreign aud":    forge(t, hs, claims(map[string]any{"aud": "venue-south"}), secret),
		"no aud":         forge(t, hs, claims(map[string]any{"aud": nil}), secret),
		"foreign iss":    forge(t, hs, claims(map[string]any{"iss": "someone-else"}), secret),
		"no iss":         forge(t, hs, claims(map[string]any{"iss": nil}), secret),
		"crit header":    forge(t, map[string]any{"alg": "HS256", "typ": "JWT", "crit": []string{"exp"}}, claims(nil), secret),
		"empty crit":     forge(t, map[string]any{"alg": "HS256", "typ": "JWT", "crit": []string{}}, claims(nil), secret),
		"alg none":       none + "." + base64.RawURLEncoding.EncodeToString(body) + ".",
		"wrong key":      forge(t, hs, claims(nil), []byte("another-secret-another-secret-xx")),
		"alg none upper": base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"NONE"}`)) + "." + base64.RawURLEncoding.EncodeToString(body) + ".",
	}
	for name, tok := range refused {
		if p, _, err := v.Verify(tok); err == nil {
			t.Errorf("%s: accepted as %+v", name, p)
		}
	}
	// Without a configured audience or issuer they are not checked, but
	// crit still is.
	open := NewVerifier(secret, fixedClock(t0))
	if _, _, err := open.Verify(refused["foreign aud"]); err != nil {
		t.Errorf("unconfigured audience checked: %v", err)
	}
	if _, _, err := open.Verify(refused["crit header"]); err == nil {
		t.Error("crit header accepted without aud/iss configured")
	}
}

func TestMintAndTokenCommandCarryTheScope(t *testing.T) {
	t0 := time.Unix(1764270000, 0)
	tok, err := Mint(secret, "gate-3", "sensor", time.Hour, fixedClock(t0), Audience("venue-north"), Issuer("crowdrisk-ops"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewVerifier(secret, fixedClock(t0), Audience("venue-north"), Issuer("crowdrisk-ops")).Verify(tok); err != nil {
		t.Fatalf("minted token refused by its own deployment: %v", err)
	}
	if _, _, err := NewVerifier(secret, fixedClock(t0), Audience("venue-south")).Verify(tok); err == nil {
		t.Fatal("minted token accepted by another audience")
	}

	env := map[string]string{"CROWDRISK_JWT_SECRET": string(secret), "CROWDRISK_JWT_AUDIENCE": "venue-north", "CROWDRISK_JWT_ISSUER": "crowdrisk-ops"}
	var out, errOut bytes.Buffer
	if err := RunTokenCommand([]string{"--role", "viewer"}, &out, &errOut, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err, errOut.String())
	}
	if _, _, err := NewVerifier(secret, time.Now, Audience("venue-north"), Issuer("crowdrisk-ops")).Verify(strings.TrimSpace(out.String())); err != nil {
		t.Fatalf("the token command ignored CROWDRISK_JWT_AUDIENCE/ISSUER: %v", err)
	}
}
