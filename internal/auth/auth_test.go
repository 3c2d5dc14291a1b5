package auth

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestRoleAllows(t *testing.T) {
	// want[role] lists the needs it satisfies.
	want := map[Role][]Role{
		Viewer:   {Viewer, Anyone},
		Operator: {Viewer, Operator, Anyone},
		Admin:    {Viewer, Operator, Admin, Sensor, Anyone},
		Sensor:   {Sensor, Anyone},
		"root":   {},
		"":       {},
	}
	needs := []Role{Viewer, Operator, Admin, Sensor, Anyone}
	for role, allowed := range want {
		for _, need := range needs {
			exp := false
			for _, a := range allowed {
				exp = exp || a == need
			}
			if got := role.Allows(need); got != exp {
				t.Errorf("%q.Allows(%q) = %v, want %v", role, need, got, exp)
			}
		}
	}
}

func TestMintVerify(t *testing.T) {
	t0 := time.Unix(1764270000, 0)
	tok, err := Mint(secret, "gate-3", "sensor", time.Hour, fixedClock(t0))
	if err != nil {
		t.Fatal(err)
	}
	p, exp, err := NewVerifier(secret, fixedClock(t0.Add(30*time.Minute))).Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p != (Principal{Subject: "gate-3", Role: Sensor}) || !exp.Equal(t0.Add(time.Hour)) {
		t.Fatalf("got %+v exp %v", p, exp)
	}
}

func signed(t *testing.T, m jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRefuses(t *testing.T) {
	t0 := time.Unix(1764270000, 0)
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "op", "role": "operator", "iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Hour).Unix()}
	}
	with := func(k string, v any) jwt.MapClaims { c := good(); c[k] = v; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }
	b64 := base64.RawURLEncoding.EncodeToString
	payload := b64([]byte(`{"sub":"op","role":"admin","exp":` + "9999999999" + `}`))

	cases := map[string]string{
		"expired":          signed(t, jwt.SigningMethodHS256, secret, with("exp", t0.Add(-time.Hour).Unix())),
		"no exp":           signed(t, jwt.SigningMethodHS256, secret, without("exp")),
		"not yet valid":    signed(t, jwt.SigningMethodHS256, secret, with("nbf", t0.Add(time.Hour).Unix())),
		"issued in future": signed(t, jwt.SigningMethodHS256, secret, with("iat", t0.Add(time.Hour).Unix())),
		"other key":        signed(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), good()),
		"HS512 same key":   signed(t, jwt.SigningMethodHS512, secret, good()),
		"alg none":         b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload + ".",
		"alg none signed":  signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good()),
		"unknown role":     signed(t, jwt.SigningMethodHS256, secret, with("role", "root")),
		"no role":          signed(t, jwt.SigningMethodHS256, secret, without("role")),
		"no subject":       signed(t, jwt.SigningMethodHS256, secret, without("sub")),
		"garbage":          "not.a.token",
		"empty":            "",
	}
	v := NewVerifier(secret, fixedClock(t0))
	if _, _, err := v.Verify(signed(t, jwt.SigningMethodHS256, secret, good())); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
	for name, tok := range cases {
		if p, _, err := v.Verify(tok); err == nil {
			t.Errorf("%s: accepted as %+v", name, p)
		}
	}
	if _, _, err := NewVerifier(nil, fixedClock(t0)).Verify(signed(t, jwt.SigningMethodHS256, []byte{}, good())); err == nil {
		t.Error("a verifier without a secret accepted a token")
	}
}

func TestLeewayAbsorbsSkew(t *testing.T) {
	t0 := time.Unix(1764270000, 0)
	tok, _ := Mint(secret, "s", "viewer", time.Minute, fixedClock(t0.Add(10*time.Second)))
	if _, _, err := NewVerifier(secret, fixedClock(t0)).Verify(tok); err != nil {
		t.Fatalf("token minted 10s ahead refused: %v", err)
	}
}

func TestMintRefusesBadInput(t *testing.T) {
	now := fixedClock(time.Unix(1764270000, 0))
	if _, err := Mint([]byte("short"), "s", "viewer", time.Hour, now); err == nil {
		t.Error("short secret accepted")
	}
	if _, err := Mint(secret, "s", "root", time.Hour, now); err == nil {
		t.Error("unknown role accepted")
	}
	if _, err := Mint(secret, "", "viewer", time.Hour, now); err == nil {
		t.Error("empty subject accepted")
	}
	if _, err := Mint(secret, "s", "viewer", 0, now); err == nil {
		t.Error("zero ttl accepted")
	}
}

func TestTokenFrom(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if _, _, ok := TokenFrom(r); ok {
		t.Fatal("token found in a bare request")
	}
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "c"})
	if tok, cookie, ok := TokenFrom(r); !ok || !cookie || tok != "c" {
		t.Fatalf("cookie: %q %v %v", tok, cookie, ok)
	}
	r.Header.Set("Authorization", "Bearer b")
	if tok, cookie, ok := TokenFrom(r); !ok || cookie || tok != "b" {
		t.Fatalf("bearer wins: %q %v %v", tok, cookie, ok)
	}
	r.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
	if _, _, ok := TokenFrom(r); ok {
		t.Fatal("basic auth taken as a token")
	}
}

func TestSessionCookiesAndCSRF(t *testing.T) {
	rec := httptest.NewRecorder()
	exp := time.Unix(1764273600, 0)
	csrf, err := SetSession(rec, httptest.NewRequest("POST", "/api/auth/session", nil), "jwt-here", exp)
	if err != nil {
		t.Fatal(err)
	}
	cookies := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		cookies[c.Name] = c
	}
	s, c := cookies[SessionCookie], cookies[CSRFCookie]
	if s == nil || !s.HttpOnly || s.SameSite != http.SameSiteStrictMode || s.Value != "jwt-here" || s.Secure {
		t.Fatalf("session cookie %+v", s)
	}
	if c == nil || c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Value != csrf || len(csrf) < 40 {
		t.Fatalf("csrf cookie %+v (token %q)", c, csrf)
	}

	tlsReq := httptest.NewRequest("POST", "https://x/api/auth/session", nil)
	rec = httptest.NewRecorder()
	if _, err := SetSession(rec, tlsReq, "t", exp); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s not Secure over TLS", c.Name)
		}
	}

	write := func(cookie, header string) error {
		r := httptest.NewRequest("POST", "/", nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: cookie})
		}
		if header != "" {
			r.Header.Set(CSRFHeader, header)
		}
		return CheckCSRF(r)
	}
	if err := write(csrf, csrf); err != nil {
		t.Errorf("matching token refused: %v", err)
	}
	for name, pair := range map[string][2]string{
		"no header": {csrf, ""}, "no cookie": {"", csrf}, "mismatch": {csrf, csrf + "x"}, "neither": {"", ""},
	} {
		if write(pair[0], pair[1]) == nil {
			t.Errorf("%s: accepted", name)
		}
	}

	rec = httptest.NewRecorder()
	ClearSession(rec, httptest.NewRequest("DELETE", "/", nil))
	if n := len(rec.Result().Cookies()); n != 2 {
		t.Fatalf("sign-out cleared %d cookies", n)
	}
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 {
			t.Errorf("cookie %s not expired: %+v", c.Name, c)
		}
	}
}

func TestCheckListen(t *testing.T) {
	allowed := []string{"127.0.0.1:8080", "127.1.2.3:80", "[::1]:8080", "localhost:8080", "LOCALHOST:1"}
	refused := []string{":8080", "0.0.0.0:8080", "[::]:8080", "192.168.1.5:8080", "example.com:80", "[::ffff:10.0.0.1]:80", "8080"}
	for _, a := range allowed {
		if err := CheckListen(a, false, false); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	for _, a := range refused {
		err := CheckListen(a, false, false)
		if err == nil {
			t.Errorf("%s allowed without a secret", a)
			continue
		}
		if a != "8080" && (!strings.Contains(err.Error(), "CROWDRISK_JWT_SECRET") || !strings.Contains(err.Error(), "--insecure")) {
			t.Errorf("%s: message does not say how to fix it: %v", a, err)
		}
		if CheckListen(a, true, false) != nil || CheckListen(a, false, true) != nil {
			t.Errorf("%s refused with a secret or --insecure", a)
		}
	}
}

func TestRunTokenCommand(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	var out, errOut bytes.Buffer
	err := RunTokenCommand([]string{"--role", "sensor", "--ttl", "24h", "--subject", "gate-3"}, &out, &errOut,
		env(map[string]string{"CROWDRISK_JWT_SECRET": string(secret)}))
	if err != nil {
		t.Fatal(err, errOut.String())
	}
	p, exp, err := NewVerifier(secret, time.Now).Verify(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	if p != (Principal{Subject: "gate-3", Role: Sensor}) {
		t.Fatalf("principal %+v", p)
	}
	if d := time.Until(exp); d < 23*time.Hour || d > 25*time.Hour {
		t.Fatalf("expiry in %s, want about 24h", d)
	}

	err = RunTokenCommand([]string{"--role", "sensor"}, &out, &errOut, env(nil))
	if err == nil || !strings.Contains(err.Error(), "CROWDRISK_JWT_SECRET") {
		t.Fatalf("unset secret: %v", err)
	}
	withSecret := env(map[string]string{"CROWDRISK_JWT_SECRET": string(secret)})
	for _, args := range [][]string{{}, {"--role", "root"}, {"--role", "viewer", "--ttl", "9000h"}, {"--role", "viewer", "extra"}, {"--bogus"}} {
		if err := RunTokenCommand(args, &out, &errOut, withSecret); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestSessionCookieIsSecureBehindATLSTerminatingProxy(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/auth/session", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	if _, err := SetSession(rec, req, "t", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if !c.Secure {
			t.Fatalf("cookie %s not Secure behind an HTTPS proxy", c.Name)
		}
	}
}
