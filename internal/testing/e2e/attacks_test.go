package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	adhocevents "github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// otherCode is a well-formed security code that is none of the given ones.
func otherCode(codes ...string) string {
	for n := 0; ; n++ {
		c := fmt.Sprintf("%03d-%03d-%03d", 900+n%100, 100+n%900, 555)
		taken := false
		for _, x := range codes {
			taken = taken || x == c
		}
		if !taken {
			return c
		}
	}
}

// TestCodeGuessingAgainstOneInvitation: 20 wrong guesses at once against one invitation.
// The conditional writes count exactly five of them — attempts left 4, 3, 2, 1, then the
// lock — and every other guess is refused as locked; afterwards even the right code is.
func TestCodeGuessingAgainstOneInvitation(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, code := e.invite(tech, "user@example.org")
	token := e.inviteToken("user@example.org")
	want(t, e.app(token).hello(), http.StatusOK, "")

	const guesses = 20
	answers := make([]reply, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		attacker := e.app(token) // every guess from another machine, with another nonce
		guess := otherCode(code)
		guess = guess[:len(guess)-1] + fmt.Sprint(i%10) // different wrong codes
		if guess == code {
			guess = otherCode(code)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = attacker.pair(guess)
		}()
	}
	wg.Wait()
	var left []int
	locked := 0
	for _, r := range answers {
		switch {
		case r.Status == http.StatusUnauthorized && r.str("code") == "invalid_code":
			left = append(left, r.num("attemptsLeft"))
		case r.Status == http.StatusLocked && r.str("code") == "locked":
			locked++
		default:
			t.Fatalf("a guess got %d: %s", r.Status, r.Raw)
		}
	}
	sort.Ints(left)
	if fmt.Sprint(left) != "[1 2 3 4]" || locked != guesses-4 {
		t.Fatalf("attemptsLeft answered %v and %d locked, want [1 2 3 4] and %d locked", left, locked, guesses-4)
	}
	ss, err := e.st.Service.Store.GetSession(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ss.FailedAttempts != 5 || ss.Status != "locked" {
		t.Fatalf("stored: %d failed attempts, status %s; want 5, locked", ss.FailedAttempts, ss.Status)
	}
	if n := countEvents(e, id, adhocevents.PairingFailed); n != 5 {
		t.Fatalf("%d PairingFailed events, want 5", n)
	}
	want(t, e.app(token).pair(code), http.StatusLocked, "locked")
	if acc := e.do(http.MethodGet, "/v1/account", tech, nil); acc.num("used") != 0 {
		t.Fatalf("the locked invitation still holds its slot: %s", acc.Raw)
	}
}

// TestCodeGuessingAcrossInvitations: an attacker who holds many invite links tries one
// code on each, and guesses links too. Each guess counts against its own invitation only,
// none pairs, guessed links count against nothing, and the real users still pair.
func TestCodeGuessingAcrossInvitations(t *testing.T) {
	e := start(t)
	e.setLimits("acme", 20, 20)
	const n = 8
	type inv struct{ id, code, token, tech string }
	var invs []inv
	var codes []string
	for i := range n {
		tech := e.technician(fmt.Sprintf("t%d@example.com", i), "acme", false)
		user := fmt.Sprintf("u%d@example.org", i)
		id, code := e.invite(tech, user)
		invs = append(invs, inv{id: id, code: code, token: e.inviteToken(user), tech: tech})
		codes = append(codes, code)
	}
	spray := otherCode(codes...)
	var wg sync.WaitGroup
	answers := make([]reply, n)
	for i, v := range invs {
		attacker := e.app(v.token)
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = attacker.pair(spray)
		}()
	}
	// Guessed links: well-formed tokens that were never issued.
	for range 10 {
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		guessed := e.app(base64.RawURLEncoding.EncodeToString(raw))
		want(t, guessed.pair(spray), http.StatusNotFound, "not_found")
	}
	wg.Wait()
	for i, r := range answers {
		want(t, r, http.StatusUnauthorized, "invalid_code")
		if r.num("attemptsLeft") != 4 {
			t.Fatalf("invitation %d: attemptsLeft %d after one guess against it", i, r.num("attemptsLeft"))
		}
	}
	for _, v := range invs {
		s := e.do(http.MethodGet, "/v1/sessions/"+v.id, v.tech, nil)
		if s.str("status") != "invited" || s.num("attemptsLeft") != 4 {
			t.Fatalf("after the spray: %s, want invited with 4 attempts left", s.Raw)
		}
	}
	for _, v := range invs {
		want(t, e.app(v.token).pair(v.code), http.StatusOK, "")
	}
}

// TestTokensReusedAfterRemoval: once the app has reported its removal, its agent token and
// its invite token get "it is over" on every route, never a session.
func TestTokensReusedAfterRemoval(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "user@example.org")
	want(t, a.removed(), http.StatusNoContent, "")
	if s := e.status(tech, id); s != "removed" {
		t.Fatalf("status %s, want removed", s)
	}
	e.clock.Advance(time.Minute)
	want(t, a.poll(), http.StatusGone, "expired")
	want(t, a.end(), http.StatusGone, "expired")
	// A repeated report is accepted (the app may not have heard the first answer), and
	// changes nothing.
	if r := a.removed(); r.Status != http.StatusNoContent && r.Status != http.StatusGone {
		t.Fatalf("a repeated removal report: %d %s", r.Status, r.Raw)
	}
	again := e.app(a.token)
	want(t, again.hello(), http.StatusGone, "expired")
	want(t, again.pair("123-456-789"), http.StatusGone, "expired")
	if n := countEvents(e, id, adhocevents.AppRemoved); n != 1 {
		t.Fatalf("%d AppRemoved events, want 1", n)
	}
	// Long after, when the session item is gone too, the token still gets an answer that
	// makes the app clean up, never 200.
	e.clock.Advance(30 * 24 * time.Hour)
	if r := a.poll(); r.Status != http.StatusGone && r.Status != http.StatusUnauthorized {
		t.Fatalf("a month later: %d %s", r.Status, r.Raw)
	}
}

// TestInviteTokenReusedAfterActivation: another PC with the same link gets 409
// already_paired from hello and pair, and no secret of the session.
func TestInviteTokenReusedAfterActivation(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	_, code := e.invite(tech, "user@example.org")
	a := e.app(e.inviteToken("user@example.org"))
	first := a.pair(code)
	want(t, first, http.StatusOK, "")
	for _, confirmed := range []bool{false, true} {
		if confirmed {
			want(t, a.poll(), http.StatusOK, "")
		}
		other := e.app(a.token)
		for _, r := range []reply{other.hello(), other.pair(code)} {
			want(t, r, http.StatusConflict, "already_paired")
			for _, secret := range []string{a.agent, goodPassword, first.str("sessionId"), "agentToken", "password", "AdHocRemoteUser"} {
				if strings.Contains(r.Raw, secret) {
					t.Fatalf("the refusal carries %q: %s", secret, r.Raw)
				}
			}
		}
	}
	page := e.do(http.MethodGet, "/join/"+a.token, "", nil)
	for _, secret := range []string{a.agent, goodPassword, code} {
		if strings.Contains(page.Raw, secret) {
			t.Fatal("the join page of a used link carries a secret")
		}
	}
}

// TestTechnicianTokensTamperedOnEveryRoute: tokens signed with another key, expired,
// not yet valid, unsigned, for another issuer or audience, edited after signing, or with
// the account or subject claim empty — every technician route answers 401.
func TestTechnicianTokensTamperedOnEveryRoute(t *testing.T) {
	e := start(t)
	key, err := secrets.LoadOrCreateKeyFile(filepath.Join(e.st.DataDir, "keys", "jwt.key"))
	if err != nil {
		t.Fatal(err)
	}
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	now := time.Now()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": "adhoc-support-local", "aud": "adhoc-support-console", "token_use": "id",
			"sub": "local-attacker", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"email": "eve@example.com", "custom:account": "acme",
		}
		if change != nil {
			change(c)
		}
		return c
	}
	sign := func(c jwt.MapClaims, k []byte) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := sign(claims(nil), key)
	// Edited after signing: the payload names another account, the signature is the old one.
	parts := strings.Split(valid, ".")
	edited, _ := json.Marshal(claims(func(c jwt.MapClaims) { c["custom:account"] = "victim"; c["cognito:groups"] = []string{"admins"} }))
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(edited) + "." + parts[2]
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tokens := []struct{ name, token string }{
		{"another key", sign(claims(nil), other)},
		{"expired", sign(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), key)},
		{"no expiry", sign(claims(func(c jwt.MapClaims) { delete(c, "exp") }), key)},
		{"not yet valid", sign(claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), key)},
		{"alg none", unsigned},
		{"other issuer", sign(claims(func(c jwt.MapClaims) { c["iss"] = "https://cognito-idp.example.com/pool" }), key)},
		{"other audience", sign(claims(func(c jwt.MapClaims) { c["aud"] = "another-app" }), key)},
		{"edited payload", tampered},
		{"truncated", valid[:len(valid)-5]},
		{"empty account", sign(claims(func(c jwt.MapClaims) { c["custom:account"] = "" }), key)},
		{"no account", sign(claims(func(c jwt.MapClaims) { delete(c, "custom:account") }), key)},
		{"empty subject", sign(claims(func(c jwt.MapClaims) { c["sub"] = "" }), key)},
	}
	routes := []struct{ method, path string }{
		{http.MethodPost, "/v1/sessions"}, {http.MethodGet, "/v1/sessions"}, {http.MethodGet, "/v1/sessions/aaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{http.MethodDelete, "/v1/sessions/aaaaaaaaaaaaaaaaaaaaaaaaaa"}, {http.MethodGet, "/v1/sessions/aaaaaaaaaaaaaaaaaaaaaaaaaa/audit"},
		{http.MethodGet, "/v1/computers?group=adhoc"}, {http.MethodGet, "/v1/account"},
	}
	body := map[string]any{"email": "victim@example.org", "password": goodPassword, "locale": "en"}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			var b any
			if rt.method == http.MethodPost {
				b = body
			}
			// The crafted token is right when nothing is wrong with it: the refusals below
			// are about what was changed.
			if r := e.do(rt.method, rt.path, valid, b); r.Status == http.StatusUnauthorized {
				t.Fatalf("the untampered token is refused: %s", r.Raw)
			}
			for _, tok := range tokens {
				r := e.do(rt.method, rt.path, tok.token, b)
				if r.Status != http.StatusUnauthorized || r.str("code") != "unauthorized" {
					t.Errorf("%s: %d %s, want 401 unauthorized", tok.name, r.Status, r.Raw)
				}
			}
		})
	}
	// Nothing of the victim's was created.
	if len(testenv.MailsTo(t, e.st.SESURL, "victim@example.org", time.Time{})) > 1 {
		t.Fatal("a tampered token sent mail")
	}
}

// TestOversizedAndMalformedBodies sends every route with a body what an attacker or a
// broken client sends: over 16 KB, far over the gateway's limit, deeply nested JSON,
// bytes that are not UTF-8, NUL bytes raw and escaped. Each gets its documented refusal,
// none reserves a slot or costs the invitation an attempt, and no answer echoes the input.
func TestOversizedAndMalformedBodies(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	_, code := e.invite(tech, "user@example.org")
	token := e.inviteToken("user@example.org")
	secretish := "S3cret-Inside-The-Body"

	nested := func(depth int) string {
		return strings.Repeat("[", depth) + strings.Repeat("]", depth)
	}
	pad := func(body string, size int) string { // a valid JSON body of exactly size bytes
		return body[:len(body)-1] + strings.Repeat(" ", size-len(body)) + "}"
	}
	routes := []struct {
		path, bearer string
		valid        map[string]any // a body the route accepts up to one field
	}{
		{"/v1/sessions", tech, map[string]any{"email": "not-an-address", "password": secretish, "locale": "en"}},
		{"/v1/agent/hello", "", map[string]any{"inviteToken": token, "platform": "windows", "hostname": "PC", "machineId": "m-1", "osVersion": secretish}},
		{"/v1/agent/pair", "", map[string]any{"inviteToken": token, "securityCode": "12-34", "platform": "windows", "hostname": "PC", "machineId": "m-1", "nonce": secretish}},
	}
	for _, rt := range routes {
		validJSON, _ := json.Marshal(rt.valid)
		plain := e.do(http.MethodPost, rt.path, rt.bearer, string(validJSON))
		cases := []struct {
			name   string
			body   string
			status int
			code   string
		}{
			// Up to the limit, padding changes nothing: the route answers what it answers
			// without it.
			{"16 KB exactly", pad(string(validJSON), 16<<10), plain.Status, plain.str("code")},
			{"16 KB and one byte", pad(string(validJSON), 16<<10+1), http.StatusRequestEntityTooLarge, "payload_too_large"},
			{"1 MB", pad(string(validJSON), 1<<20), http.StatusRequestEntityTooLarge, "payload_too_large"},
			{"over the gateway's 10 MB", pad(string(validJSON), 10<<20+10), http.StatusRequestEntityTooLarge, "payload_too_large"},
			{"nested 5000 deep", `{"email":` + nested(5000) + `}`, http.StatusBadRequest, "invalid_request"},
			{"nested past 16 KB", `{"email":` + nested(20000) + `}`, http.StatusRequestEntityTooLarge, "payload_too_large"},
			{"not UTF-8", strings.Replace(string(validJSON), secretish, secretish+"\xff\xfe", 1), http.StatusUnsupportedMediaType, "unsupported_media_type"},
			{"raw NUL", strings.Replace(string(validJSON), "{", "{\x00", 1), http.StatusBadRequest, "invalid_request"},
			{"a string, not an object", `"` + secretish + `"`, http.StatusBadRequest, "invalid_request"},
			{"null", `null`, http.StatusBadRequest, ""},
			{"number for a string", strings.Replace(string(validJSON), `"windows"`, `1e999`, 1), http.StatusBadRequest, ""},
		}
		for _, tc := range cases {
			t.Run(rt.path+" "+tc.name, func(t *testing.T) {
				r := e.do(http.MethodPost, rt.path, rt.bearer, tc.body)
				if r.Status == http.StatusBadRequest && tc.status == http.StatusBadRequest && tc.code == "" {
					// The route's own validation decides which 400 it is.
				} else {
					want(t, r, tc.status, tc.code)
				}
				if r.Status >= 300 && r.Header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("a refusal that is not a problem: %s", r.Raw)
				}
				if strings.Contains(r.Raw, secretish) || strings.Contains(r.Raw, "\x00") {
					t.Fatalf("the answer echoes the input: %.200s", r.Raw)
				}
			})
		}
	}
	// Escaped NUL and control characters in each field are refused by the field's rule.
	escaped := []struct {
		path, bearer string
		body         string
		code         string
	}{
		{"/v1/sessions", tech, `{"email":"eve\u0000@example.org","password":"` + goodPassword + `"}`, "invalid_email"},
		{"/v1/sessions", tech, `{"email":"eve@example.org","password":"Corr3ct-Horse\u0000x"}`, "weak_password"},
		{"/v1/agent/hello", "", `{"inviteToken":"` + token + `\u0000","platform":"windows","hostname":"PC","machineId":"m"}`, "invalid_request"},
		{"/v1/agent/hello", "", `{"inviteToken":"` + token + `","platform":"windows","hostname":"PC\u0000","machineId":"m"}`, "invalid_request"},
		{"/v1/agent/pair", "", `{"inviteToken":"` + token + `","securityCode":"123\u0000456789","platform":"windows","hostname":"PC","machineId":"m","nonce":"8f14e45fceea167a5a36dedd4bea2543"}`, "invalid_request"},
		{"/v1/agent/pair", "", `{"inviteToken":"` + token + `","securityCode":"` + code + `","platform":"windows","hostname":"PC","machineId":"m\u0000","nonce":"8f14e45fceea167a5a36dedd4bea2543"}`, "invalid_request"},
		{"/v1/agent/pair", "", `{"inviteToken":"` + token + `","securityCode":"` + code + `","platform":"windows\u0000","hostname":"PC","machineId":"m","nonce":"8f14e45fceea167a5a36dedd4bea2543"}`, "invalid_request"},
	}
	for i, tc := range escaped {
		t.Run(fmt.Sprintf("escaped NUL %d %s", i, tc.path), func(t *testing.T) {
			want(t, e.do(http.MethodPost, tc.path, tc.bearer, tc.body), http.StatusBadRequest, tc.code)
		})
	}
	// Nothing was reserved, no attempt was spent: the one invitation pairs at the first try.
	acc := e.do(http.MethodGet, "/v1/account", tech, nil)
	if acc.num("used") != 1 {
		t.Fatalf("malformed requests changed the slots: %s", acc.Raw)
	}
	r := e.app(token).pair(code)
	want(t, r, http.StatusOK, "")
}

// TestHeaderInjectionInMailFields: line breaks, their percent-encoded and Unicode forms in
// the e-mail address and the locale. Each is refused, no mail goes out, nothing is
// reserved; a percent sign is only ever a literal character of an address.
func TestHeaderInjectionInMailFields(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	since := time.Now().Add(-time.Second)
	const victim, mallory = "hi-victim@example.org", "hi-mallory@example.org"
	cases := []struct {
		name, email, locale, code string
	}{
		{"email CRLF Bcc", victim + "\r\nBcc: " + mallory, "en", "invalid_email"},
		{"email LF", victim + "\nBcc: " + mallory, "en", "invalid_email"},
		{"email CR", victim + "\rBcc: " + mallory, "en", "invalid_email"},
		{"email encoded CRLF", victim + "%0d%0aBcc:%20" + mallory, "en", "invalid_email"},
		{"email encoded CRLF upper", victim + "%0D%0ABcc: " + mallory, "en", "invalid_email"},
		{"email NEL", "hi-victim\u0085Bcc: " + mallory, "en", "invalid_email"},
		{"email line separator", victim + "\u2028Bcc: " + mallory, "en", "invalid_email"},
		{"email tab", "hi-victim\t@example.org", "en", "invalid_email"},
		{"email two recipients", victim + ", " + mallory, "en", "invalid_email"},
		{"email group syntax", "undisclosed:" + mallory + ";", "en", "invalid_email"},
		{"locale CRLF", victim, "en\r\nBcc: " + mallory, "invalid_request"},
		{"locale CRLF after the region", victim, "en-\r\nBcc:x", "invalid_request"},
		{"locale LF", victim, "de\nX-Injected: 1", "invalid_request"},
		{"locale encoded CRLF", victim, "en%0d%0aBcc:x", "invalid_request"},
		{"locale NUL", victim, "en\x00", "invalid_request"},
	}
	mailsSoFar := func() int {
		return len(testenv.MailsTo(t, e.st.SESURL, victim, since)) + len(testenv.MailsTo(t, e.st.SESURL, mallory, since))
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tech := e.technician(fmt.Sprintf("tech%d@example.com", i), "acme", false)
			before := mailsSoFar()
			r := e.do(http.MethodPost, "/v1/sessions", tech, map[string]any{"email": tc.email, "password": goodPassword, "locale": tc.locale})
			if r.Status == http.StatusCreated {
				// Keep the next case independent of this failure.
				want(t, e.do(http.MethodDelete, "/v1/sessions/"+r.str("id"), tech, nil), http.StatusOK, "")
				t.Errorf("accepted, %d mail went out and a slot was reserved: %s", mailsSoFar()-before, r.Raw)
				return
			}
			want(t, r, http.StatusBadRequest, tc.code)
			if n := mailsSoFar() - before; n != 0 {
				t.Errorf("%d mails to the victim or to mallory", n)
			}
			nothingReserved(t, e, tech)
		})
	}

	// A percent sign is a legal character of an address's local part: it is sent to that
	// literal address and decoded nowhere.
	literal := "hi-victim%0d%0a@example.org"
	e.invite(tech, literal)
	mails := testenv.MailsTo(t, e.st.SESURL, literal, since)
	if len(mails) != 1 || len(mails[0].To) != 1 || len(mails[0].Cc)+len(mails[0].Bcc) != 0 {
		t.Fatalf("the literal address got %d mails: %+v", len(mails), mails)
	}
	for _, h := range mails[0].Headers {
		if strings.Contains(strings.ToLower(h.Name+h.Value), "bcc") {
			t.Fatalf("an injected header: %+v", h)
		}
	}
}

// TestNoSecretInAnyLog runs a whole day of the product — a mail the mail server rejects,
// wrong codes, a lock, a pairing, polls, a slow_down, ends by user and technician, an
// expiry, removals, malformed requests carrying secrets — and then searches every log line
// of the stack, the event log and the scheduler's file for the passwords, the security
// codes (with or without dashes), the invite and agent tokens, and the end users' e-mail
// addresses.
func TestNoSecretInAnyLog(t *testing.T) {
	const rejected = "not-verified@example.org"
	stub := newSESStub(t, func(w http.ResponseWriter, _ *http.Request, body []byte) bool {
		if !strings.Contains(string(body), rejected) {
			return false
		}
		// What SES answers in its sandbox for a recipient that is not verified: the
		// message names the address.
		sesError(w, http.StatusBadRequest, "MessageRejected",
			"Email address is not verified. The following identities failed the check in region EU-CENTRAL-1: "+rejected)
		return true
	})
	e := start(t, withSES(stub.srv.URL))
	e.setLimits("acme", 10, 10)
	var secretsSeen []string
	keep := func(s ...string) { secretsSeen = append(secretsSeen, s...) }

	t1 := e.technician("one@example.com", "acme", false)
	r := e.do(http.MethodPost, "/v1/sessions", t1, map[string]any{"email": rejected, "password": "Rejected-Passw0rd!", "locale": "en"})
	want(t, r, http.StatusBadGateway, "mail_failed")
	keep(rejected, "Rejected-Passw0rd!")

	// Invitation locked by wrong codes.
	lockedID, lockedCode := e.invite(t1, "locked-user@example.org")
	lockedApp := e.app(e.inviteToken("locked-user@example.org"))
	keep("locked-user@example.org", lockedCode, lockedApp.token)
	wrong := otherCode(lockedCode)
	for range 5 {
		lockedApp.pair(wrong)
	}
	if s := e.status(t1, lockedID); s != "locked" {
		t.Fatalf("status %s, want locked", s)
	}

	// Ended by the user, with a malformed request or two on the way.
	t2 := e.technician("two@example.com", "acme", false)
	_, code2 := e.invite(t2, "user2@example.org")
	a2 := e.app(e.inviteToken("user2@example.org"))
	want(t, a2.hello(), http.StatusOK, "")
	want(t, e.do(http.MethodPost, "/v1/agent/pair", "", `{"inviteToken":"`+a2.token+`","securityCode":"`+code2+`","nonce":`), http.StatusBadRequest, "invalid_request")
	want(t, e.do(http.MethodPost, "/v1/sessions", t2, `{"email":"user2@example.org","password":"`+goodPassword+`","extra":1}`), http.StatusBadRequest, "invalid_request")
	want(t, a2.pair(code2), http.StatusOK, "")
	keep("user2@example.org", code2, a2.token, a2.agent, goodPassword)
	want(t, a2.poll(), http.StatusOK, "")
	want(t, a2.poll(), http.StatusTooManyRequests, "slow_down")
	want(t, a2.end(), http.StatusOK, "")
	want(t, a2.removed(), http.StatusNoContent, "")

	// Ended by the technician; expired; each app reports its removal.
	t3 := e.technician("three@example.com", "acme", false)
	id3, a3 := activeSession(t, e, t3, "user3@example.org")
	keep("user3@example.org", a3.token, a3.agent)
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id3, t3, nil), http.StatusOK, "")
	t4 := e.technician("four@example.com", "acme", false)
	id4, a4 := activeSession(t, e, t4, "user4@example.org")
	keep("user4@example.org", a4.token, a4.agent)
	e.clock.Advance(24*time.Hour + time.Minute)
	e.expiry(`{"sessionId":"` + id4 + `"}`)
	e.expiry(`{"sweep":true}`)
	for _, a := range []*app{a3, a4} {
		want(t, a.poll(), http.StatusOK, "")
		want(t, a.removed(), http.StatusNoContent, "")
	}
	want(t, e.do(http.MethodGet, "/join/"+a4.token, "", nil), http.StatusGone, "")
	want(t, e.do(http.MethodGet, "/v1/sessions/"+id4+"/audit", t4, nil), http.StatusOK, "")

	places := map[string]string{"stack log": e.logs.String()}
	for _, f := range []string{"events.jsonl", "schedules.json"} {
		raw, err := os.ReadFile(filepath.Join(e.st.DataDir, f))
		if err == nil {
			places[f] = string(raw)
		}
	}
	if places["stack log"] == "" || places["events.jsonl"] == "" {
		t.Fatal("nothing was logged; the search would prove nothing")
	}
	for where, text := range places {
		for _, s := range secretsSeen {
			if s == "" {
				t.Fatal("a secret of the run is empty")
			}
			forms := []string{s}
			if d := strings.ReplaceAll(s, "-", ""); len(d) == 9 && d != s {
				forms = append(forms, d) // a security code without dashes
			}
			if _, secretPart, ok := strings.Cut(s, "."); ok && len(secretPart) > 20 {
				forms = append(forms, secretPart[:16]) // an agent token's secret part, or its beginning
			} else if !strings.Contains(s, "@") && len(s) > 20 {
				forms = append(forms, s[:16]) // an invite token's beginning
			}
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("the %s holds a secret (%.4s…): %s", where, f, around(text, f))
				}
			}
		}
	}
}

// around shows where a secret was found with the secret itself masked.
func around(text, secret string) string {
	i := strings.Index(text, secret)
	from, to := max(0, i-120), min(len(text), i+len(secret)+40)
	return strings.ReplaceAll(text[from:to], secret, "<SECRET>")
}
