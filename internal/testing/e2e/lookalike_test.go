package e2e

import (
	"net/http"
	"testing"
)

// lookAlikes are characters that change how text looks without showing themselves: bidi
// controls, zero-width joiners and spaces, private use, unassigned code points, line and
// paragraph separators, and an invisible letter. Each kind is refused in every field a
// technician is shown.
var lookAlikes = []struct {
	name string
	r    string
}{
	{"right-to-left override", "\u202e"},
	{"right-to-left isolate", "\u2067"},
	{"left-to-right mark", "\u200e"},
	{"zero width joiner", "\u200d"},
	{"zero width non-joiner", "\u200c"},
	{"zero width space", "\u200b"},
	{"byte order mark", "\ufeff"},
	{"soft hyphen", "\u00ad"},
	{"private use", "\ue000"},
	{"unassigned", "\u0378"},
	{"noncharacter", "\uffff"},
	{"line separator", "\u2028"},
	{"paragraph separator", "\u2029"},
	{"hangul filler", "\u3164"},
}

// TestLookAlikeTextIsRefused: through the API, every field the app reports and the end
// user's e-mail address refuse each look-alike character, with the codes api/openapi.yaml
// documents (400 invalid_request, 400 invalid_email). None of it costs a code attempt or
// reserves a slot, and the app with clean fields pairs afterwards.
func TestLookAlikeTextIsRefused(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	_, code := e.invite(tech, "user@example.org")
	a := e.app(e.inviteToken("user@example.org"))
	fields := []string{"hostname", "osVersion", "agentVersion", "machineId"}
	for _, la := range lookAlikes {
		for _, field := range fields {
			for _, path := range []string{"/v1/agent/hello", "/v1/agent/pair"} {
				t.Run(la.name+" in "+field+" of "+path, func(t *testing.T) {
					body := map[string]any{
						"inviteToken": a.token, "platform": "windows", "osVersion": "Windows 11 Pro 23H2",
						"hostname": "ANNA-PC", "agentVersion": "1.0.0", "machineId": a.machine,
					}
					if path == "/v1/agent/pair" {
						body["securityCode"], body["nonce"] = code, a.nonce
					}
					body[field] = body[field].(string)[:2] + la.r + body[field].(string)[2:]
					want(t, e.do(http.MethodPost, path, "", body), http.StatusBadRequest, "invalid_request")
				})
			}
		}
		t.Run(la.name+" in the e-mail address", func(t *testing.T) {
			for _, email := range []string{"an" + la.r + "na@example.org", "anna@exam" + la.r + "ple.org"} {
				r := e.do(http.MethodPost, "/v1/sessions", tech, map[string]any{"email": email, "password": goodPassword, "locale": "en"})
				want(t, r, http.StatusBadRequest, "invalid_email")
			}
		})
	}
	// Windows' rules for the computer name.
	for _, host := range []string{"anna.example.com", "ANNA PC", "12345", "PC<1>"} {
		t.Run("hostname "+host, func(t *testing.T) {
			r := e.do(http.MethodPost, "/v1/agent/hello", "", map[string]any{
				"inviteToken": a.token, "platform": "windows", "hostname": host, "machineId": a.machine})
			want(t, r, http.StatusBadRequest, "invalid_request")
		})
	}
	if r := e.do(http.MethodGet, "/v1/account", tech, nil); r.num("used") != 1 {
		t.Fatalf("refused invitations reserved slots: %s", r.Raw)
	}
	a.hostname = "Bücher-PC" // a non-standard letter: Windows allows it
	want(t, a.pair(code), http.StatusOK, "")
}

// TestInternationalisedEmail: an internationalised domain is accepted and kept, shown and
// mailed in its ASCII form; a local part with non-ASCII letters is refused (SES sends
// 7-bit addresses only).
func TestInternationalisedEmail(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	r := e.do(http.MethodPost, "/v1/sessions", tech, map[string]any{"email": "anna@Bücher.example", "password": goodPassword, "locale": "de"})
	want(t, r, http.StatusCreated, "")
	got := e.do(http.MethodGet, "/v1/sessions/"+r.str("id"), tech, nil)
	if email := got.str("email"); email != "anna@xn--bcher-kva.example" {
		t.Errorf("stored address %q, want the domain's ASCII form anna@xn--bcher-kva.example", email)
	}
	e.inviteToken("anna@xn--bcher-kva.example") // the mail went to the ASCII form
	want(t, e.do(http.MethodPost, "/v1/sessions", e.technician("tom@example.com", "acme", false),
		map[string]any{"email": "jörg@example.org", "password": goodPassword}), http.StatusBadRequest, "invalid_email")
}
