package e2e

import (
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/mail"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

var codeShape = regexp.MustCompile(`^\d{3}-\d{3}-\d{3}$`)

func TestInviteSendsMailWithoutSecrets(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	for _, tc := range []struct {
		locale, to, subjectWord, bodyWord string
	}{
		{"en", "user-en@example.org", "remote support", "security code"},
		{"de", "user-de@example.org", "Fernwartung", "Sicherheitscode"},
	} {
		t.Run(tc.locale, func(t *testing.T) {
			r := e.do(http.MethodPost, "/v1/sessions", tech, map[string]any{"email": tc.to, "password": goodPassword, "locale": tc.locale})
			want(t, r, http.StatusCreated, "")
			code := r.str("securityCode")
			if !codeShape.MatchString(code) {
				t.Fatalf("security code %q is not shown as 123-456-789", code)
			}
			if r.str("status") != "invited" || r.str("id") == "" || r.str("inviteExpiresAt") == "" {
				t.Fatalf("answer lacks status, id or expiry: %s", r.Raw)
			}
			mails := testenv.MailsTo(t, e.st.SESURL, tc.to, time.Time{})
			if len(mails) != 1 {
				t.Fatalf("%d mails to %s, want 1", len(mails), tc.to)
			}
			m := mails[0]
			if !strings.Contains(strings.ToLower(m.Subject), strings.ToLower(tc.subjectWord)) {
				t.Errorf("subject %q does not mention %q", m.Subject, tc.subjectWord)
			}
			for part, body := range map[string]string{"html": m.HTML, "text": m.Text} {
				if !joinLink.MatchString(body) || !strings.Contains(body, e.st.URL+"/join/") {
					t.Errorf("%s body has no join link", part)
				}
				if !strings.Contains(body, "tina") {
					t.Errorf("%s body does not name the technician", part)
				}
				if !strings.Contains(body, tc.bodyWord) {
					t.Errorf("%s body does not explain the %q step", part, tc.bodyWord)
				}
				digits := strings.ReplaceAll(code, "-", "")
				for _, secret := range []string{goodPassword, code, digits} {
					if strings.Contains(body, secret) {
						t.Errorf("%s body carries a secret", part)
					}
				}
			}
			// Cancel, so the next locale can invite again.
			want(t, e.do(http.MethodDelete, "/v1/sessions/"+r.str("id"), tech, nil), http.StatusOK, "")
		})
	}
}

func TestOneSessionPerTechnicianAndSlots(t *testing.T) {
	e := start(t)
	e.setLimits("acme", 2, 5)
	tina := e.technician("tina@example.com", "acme", false)
	id, _ := e.invite(tina, "u1@example.org")

	r := e.do(http.MethodPost, "/v1/sessions", tina, map[string]any{"email": "u2@example.org", "password": goodPassword})
	want(t, r, http.StatusConflict, "session_exists")
	if r.str("sessionId") != id {
		t.Errorf("session_exists names %q, want the open session %q", r.str("sessionId"), id)
	}

	tom := e.technician("tom@example.com", "acme", false)
	e.invite(tom, "u3@example.org")
	tara := e.technician("tara@example.com", "acme", false)
	r = e.do(http.MethodPost, "/v1/sessions", tara, map[string]any{"email": "u4@example.org", "password": goodPassword})
	want(t, r, http.StatusConflict, "no_free_slot")

	acc := e.do(http.MethodGet, "/v1/account", tina, nil)
	want(t, acc, http.StatusOK, "")
	if acc.num("slots") != 2 || acc.num("used") != 2 || acc.num("free") != 0 || acc.num("adhocCap") != 5 {
		t.Fatalf("account %s, want 2 slots all used, cap 5", acc.Raw)
	}

	// Cancelling gives the slot and the technician's lock back.
	c := e.do(http.MethodDelete, "/v1/sessions/"+id, tina, nil)
	want(t, c, http.StatusOK, "")
	if c.str("status") != "cancelled" {
		t.Fatalf("after DELETE status %q, want cancelled", c.str("status"))
	}
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, tina, nil), http.StatusOK, "") // a retry is harmless
	e.invite(tara, "u4@example.org")
	r = e.do(http.MethodPost, "/v1/sessions", tina, map[string]any{"email": "u5@example.org", "password": goodPassword})
	want(t, r, http.StatusConflict, "no_free_slot")
}

func TestAdhocCap(t *testing.T) {
	e := start(t)
	e.setLimits("capped", 10, 1)
	a := e.technician("a@example.com", "capped", false)
	b := e.technician("b@example.com", "capped", false)
	e.invite(a, "u1@example.org")
	r := e.do(http.MethodPost, "/v1/sessions", b, map[string]any{"email": "u2@example.org", "password": goodPassword})
	want(t, r, http.StatusConflict, "adhoc_cap_reached")
}

func TestAccountDefaults(t *testing.T) {
	e := start(t)
	r := e.do(http.MethodGet, "/v1/account", e.technician("new@example.com", "fresh", false), nil)
	want(t, r, http.StatusOK, "")
	if r.num("slots") != 5 || r.num("adhocCap") != 5 || r.num("used") != 0 {
		t.Fatalf("an account never configured: %s, want 5 slots, cap 5, none used", r.Raw)
	}
}

func TestInvitationRequestValidation(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"bad json", `{"email":`, 400, "invalid_request"},
		{"not an object", `[1,2]`, 400, "invalid_request"},
		{"unknown field", `{"email":"a@example.org","password":"Corr3ct-Horse-Battery","admin":true}`, 400, "invalid_request"},
		{"empty body", ``, 400, "invalid_request"},
		{"two objects", `{"email":"a@example.org"}{}`, 400, "invalid_request"},
		{"no email", map[string]any{"password": goodPassword}, 400, "invalid_email"},
		{"display name", map[string]any{"email": "Eve <eve@example.org>", "password": goodPassword}, 400, "invalid_email"},
		{"header injection", map[string]any{"email": "eve@example.org\r\nBcc: all@example.org", "password": goodPassword}, 400, "invalid_email"},
		{"two addresses", map[string]any{"email": "a@example.org,b@example.org", "password": goodPassword}, 400, "invalid_email"},
		{"no domain dot", map[string]any{"email": "a@localhost", "password": goodPassword}, 400, "invalid_email"},
		{"short password", map[string]any{"email": "a@example.org", "password": "Sh0rt!"}, 400, "weak_password"},
		{"two classes", map[string]any{"email": "a@example.org", "password": "alllowercase123"}, 400, "weak_password"},
		{"contains user name", map[string]any{"email": "a@example.org", "password": "xAdHocRemoteUser1!"}, 400, "weak_password"},
		{"locale header injection", map[string]any{"email": "a@example.org", "password": goodPassword, "locale": "en\r\nX: y"}, 400, "invalid_request"},
		{"unknown locale", map[string]any{"email": "a@example.org", "password": goodPassword, "locale": "fr"}, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want(t, e.do(http.MethodPost, "/v1/sessions", tech, tc.body), tc.status, tc.code)
		})
	}
	// Nothing was reserved by any of them.
	acc := e.do(http.MethodGet, "/v1/account", tech, nil)
	if acc.num("used") != 0 {
		t.Fatalf("refused requests reserved slots: %s", acc.Raw)
	}
	list := e.do(http.MethodGet, "/v1/sessions", tech, nil)
	if got := list.JSON["sessions"].([]any); len(got) != 0 {
		t.Fatalf("refused requests left %d sessions", len(got))
	}
}

func TestTechnicianRoutesNeedClaims(t *testing.T) {
	e := start(t)
	routes := []struct{ method, path string }{
		{http.MethodPost, "/v1/sessions"}, {http.MethodGet, "/v1/sessions"}, {http.MethodGet, "/v1/sessions/x"},
		{http.MethodDelete, "/v1/sessions/x"}, {http.MethodGet, "/v1/sessions/x/audit"},
		{http.MethodGet, "/v1/computers?group=adhoc"}, {http.MethodGet, "/v1/account"},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			// At the gateway (the JWT authorizer's job): no token, a forged token.
			want(t, e.do(rt.method, rt.path, "", nil), http.StatusUnauthorized, "unauthorized")
			want(t, e.do(rt.method, rt.path, "eyJhbGciOiJIUzI1NiJ9.e30.forged", nil), http.StatusUnauthorized, "unauthorized")
			// And the function itself refuses an event without claims.
			res, err := e.st.Gateway.Invitation(context.Background(), events.APIGatewayV2HTTPRequest{
				RawPath: strings.Split(rt.path, "?")[0], Body: `{}`,
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: rt.method}},
			})
			if err != nil || res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("handler without claims: %d %v, want 401", res.StatusCode, err)
			}
		})
	}
}

func TestOtherTechniciansSeeNothing(t *testing.T) {
	e := start(t)
	owner := e.technician("owner@example.com", "acme", false)
	id, _ := e.invite(owner, "user@example.org")
	colleague := e.technician("colleague@example.com", "acme", false)
	admin := e.technician("boss@example.com", "acme", true)
	foreign := e.technician("owner@example.com", "other", true) // same mail, other account, even admin

	for name, tok := range map[string]string{"colleague": colleague, "foreign admin": foreign} {
		t.Run(name, func(t *testing.T) {
			want(t, e.do(http.MethodGet, "/v1/sessions/"+id, tok, nil), http.StatusNotFound, "not_found")
			want(t, e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tok, nil), http.StatusNotFound, "not_found")
			want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, tok, nil), http.StatusNotFound, "not_found")
			list := e.do(http.MethodGet, "/v1/sessions", tok, nil)
			if n := len(list.JSON["sessions"].([]any)); n != 0 {
				t.Fatalf("sees %d sessions of others", n)
			}
		})
	}
	// An unknown id answers exactly like a foreign one.
	want(t, e.do(http.MethodGet, "/v1/sessions/aaaaaaaaaaaaaaaaaaaaaaaaaa", owner, nil), http.StatusNotFound, "not_found")
	// An admin of the account sees and may act on it.
	r := e.do(http.MethodGet, "/v1/sessions/"+id, admin, nil)
	want(t, r, http.StatusOK, "")
	if strings.Contains(r.Raw, goodPassword) || strings.Contains(r.Raw, "securityCode") {
		t.Fatalf("a session view carries a secret: %s", r.Raw)
	}
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, admin, nil), http.StatusOK, "")
}

func TestMailFailureKeepsNothing(t *testing.T) {
	// An SES endpoint where nothing listens.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	e := start(t, withSES(dead))
	tech := e.technician("tina@example.com", "acme", false)
	r := e.do(http.MethodPost, "/v1/sessions", tech, map[string]any{"email": "user@example.org", "password": goodPassword})
	want(t, r, http.StatusBadGateway, "mail_failed")
	acc := e.do(http.MethodGet, "/v1/account", tech, nil)
	if acc.num("used") != 0 || acc.num("adhocInUse") != 0 {
		t.Fatalf("the failed invitation kept a slot: %s", acc.Raw)
	}
	if n := len(e.do(http.MethodGet, "/v1/sessions", tech, nil).JSON["sessions"].([]any)); n != 0 {
		t.Fatalf("the failed invitation left %d sessions", n)
	}
	// The lock is free too: with mail working again, the same technician can invite.
	e.st.Service.Mail = mail.New(standins.SESClient(testenv.SES(t)), "support@example.com")
	e.invite(tech, "user@example.org")
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	want(t, e.do(http.MethodGet, "/v1/nothing", tech, nil), http.StatusNotFound, "not_found")
	want(t, e.do(http.MethodPut, "/v1/sessions", tech, `{}`), http.StatusMethodNotAllowed, "method_not_allowed")
	want(t, e.do(http.MethodGet, "/v1/agent/poll", "", nil), http.StatusMethodNotAllowed, "method_not_allowed")
	big := `{"email":"` + strings.Repeat("a", 20<<10) + `@example.org"}`
	want(t, e.do(http.MethodPost, "/v1/sessions", tech, big), http.StatusRequestEntityTooLarge, "payload_too_large")
}
