package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	adhocevents "github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// The fuzz targets feed arbitrary bodies to the handlers of POST /v1/sessions, POST
// /v1/agent/hello and POST /v1/agent/pair, through the service with an in-memory store.
// Whatever the body, a handler must not panic or return a Go error (API Gateway would
// answer a bare 502), and must answer a documented status with JSON: a success body, or a
// problem whose code belongs to that status. The store cannot fail, so a 500 is a bug.

// The invitation every pairing fuzz run starts from.
const (
	fuzzSessionID = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	fuzzToken     = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 43 base64url characters, 32 bytes
	fuzzCode      = "123456789"
	fuzzPassword  = "Corr3ct-Horse-Battery"
)

var fuzzKey = []byte("0123456789abcdef0123456789abcdef")

// fuzzStore is the least of support.Store that the three routes need, in memory. Rules the
// DynamoDB store enforces by conditions are kept where the routes depend on them: versions,
// the technician's single session, slots, the machine lock.
type fuzzStore struct {
	mu       sync.Mutex
	sessions map[string]session.Session
	invites  map[string]string // hex token hash → session id
	techs    map[string]string // account/technician → session id
	machines map[string]string // machine hash → session id
	used     map[string]int    // account → slots used
}

func newFuzzStore() *fuzzStore {
	return &fuzzStore{sessions: map[string]session.Session{}, invites: map[string]string{}, techs: map[string]string{}, machines: map[string]string{}, used: map[string]int{}}
}

func (m *fuzzStore) CreateInvitation(_ context.Context, s session.Session, _ time.Time, l support.Limits, _ session.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tech := s.Account + "/" + s.Technician
	switch {
	case m.techs[tech] != "":
		return support.ErrTechnicianBusy
	case m.used[s.Account] >= l.Slots:
		return support.ErrNoFreeSlot
	}
	m.sessions[s.ID] = s
	m.invites[hex.EncodeToString(s.InviteTokenHash)] = s.ID
	m.techs[tech] = s.ID
	m.used[s.Account]++
	return nil
}

func (m *fuzzStore) RollbackInvitation(_ context.Context, s session.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, s.ID)
	delete(m.invites, hex.EncodeToString(s.InviteTokenHash))
	delete(m.techs, s.Account+"/"+s.Technician)
	m.used[s.Account]--
	return nil
}

func (m *fuzzStore) Commit(_ context.Context, c support.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := c.Session
	if cur, ok := m.sessions[s.ID]; !ok || cur.Version != s.Version-1 {
		return support.ErrConflict
	}
	if c.AcquireMachine {
		if other := m.machines[s.Computer.MachineHash]; other != "" && other != s.ID {
			return support.ErrMachineBusy
		}
		m.machines[s.Computer.MachineHash] = s.ID
	}
	if c.ReleaseSlot {
		delete(m.techs, s.Account+"/"+s.Technician)
		m.used[s.Account]--
	}
	if c.ReleaseMachine {
		delete(m.machines, s.Computer.MachineHash)
	}
	m.sessions[s.ID] = s
	return nil
}

func (m *fuzzStore) GetSession(_ context.Context, id string) (session.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return session.Session{}, support.ErrNotFound
	}
	return s, nil
}

func (m *fuzzStore) SessionIDByInviteToken(_ context.Context, hash []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.invites[hex.EncodeToString(hash)]
	if !ok {
		return "", support.ErrNotFound
	}
	return id, nil
}

func (m *fuzzStore) AgentTokenKnown(context.Context, []byte) (bool, error) { return false, nil }

func (m *fuzzStore) MachineSession(_ context.Context, hash string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.machines[hash]
	if !ok {
		return "", support.ErrNotFound
	}
	return id, nil
}

func (m *fuzzStore) TechnicianSession(_ context.Context, account, technician string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.techs[account+"/"+technician]
	if !ok {
		return "", support.ErrNotFound
	}
	return id, nil
}

func (m *fuzzStore) ListSessions(context.Context, string, support.ListFilter, int) ([]session.Session, error) {
	return nil, nil
}
func (m *fuzzStore) TechnicianLocks(context.Context, string) ([]support.TechnicianLock, error) {
	return nil, nil
}

func (m *fuzzStore) ReleaseOrphan(_ context.Context, account, technician, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := account + "/" + technician
	if _, exists := m.sessions[id]; exists || m.techs[key] != id {
		return false, nil
	}
	delete(m.techs, key)
	m.used[account]--
	return true, nil
}
func (m *fuzzStore) DueSessions(context.Context, time.Time, int) ([]string, error) { return nil, nil }
func (m *fuzzStore) Audit(context.Context, string) ([]session.AuditEntry, error)   { return nil, nil }
func (m *fuzzStore) Account(_ context.Context, account string, l support.Limits) (support.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return support.Account{ID: account, Limits: l, Used: m.used[account], AdhocInUse: m.used[account]}, nil
}
func (m *fuzzStore) SetLimits(context.Context, string, support.Limits) error { return nil }

// The fuzzed routes run without a live channel: none of these is reached.
func (m *fuzzStore) PutTicket(context.Context, support.Ticket) error {
	return errors.New("no live channel")
}
func (m *fuzzStore) TakeTicket(context.Context, []byte, time.Time) (support.Ticket, error) {
	return support.Ticket{}, support.ErrNotFound
}
func (m *fuzzStore) PutConsole(context.Context, support.ConsoleConnection) error { return nil }
func (m *fuzzStore) DeleteConsole(context.Context, string, string) error         { return nil }
func (m *fuzzStore) Consoles(context.Context, string) ([]support.ConsoleConnection, error) {
	return nil, nil
}

// fuzzNop stands in for the mailer, the bus and the scheduler: the fuzz targets are about the
// requests, and these only act after a request has been decided.
type fuzzNop struct{}

func (fuzzNop) SendInvitation(context.Context, support.InvitationMail) error { return nil }
func (fuzzNop) Publish(context.Context, ...adhocevents.Event) error          { return nil }
func (fuzzNop) ScheduleExpiry(context.Context, string, time.Time, adhocevents.ExpiryDue) error {
	return nil
}
func (fuzzNop) DeleteExpiry(context.Context, string) error { return nil }

// fuzzService is a service on a fresh in-memory store holding one invitation
// (fuzzToken, fuzzCode), so that every run starts from the same state.
func fuzzService(t *testing.T) *support.Service {
	t.Helper()
	sealer, err := secrets.NewLocalSealer(fuzzKey)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := secrets.NewLocalCodeMAC(fuzzKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	svc := &support.Service{
		Store: newFuzzStore(), Mail: fuzzNop{}, Events: fuzzNop{}, Schedules: fuzzNop{}, Sealer: sealer, Codes: codes,
		Config: support.Defaults(), Clock: clock.NewFake(now),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ctx := context.Background()
	// The invitation as Invite writes it: the code's MAC over the session id and the
	// digits, the password bound to the invitation (internal/secrets, binding.go).
	mac, err := codes.MAC(ctx, secrets.CodeMessage(fuzzSessionID, fuzzCode))
	if err != nil {
		t.Fatal(err)
	}
	bound := secrets.Binding{SessionID: fuzzSessionID, InviteTokenHash: secrets.HashToken(fuzzToken), CodeMAC: mac}
	sealed, err := secrets.SealPairing(ctx, sealer, fuzzToken, bound, []byte(fuzzPassword))
	if err != nil {
		t.Fatal(err)
	}
	if !secrets.ValidSessionID(fuzzSessionID) || !protocol.ValidToken(fuzzToken) {
		t.Fatal("the fixed session id or token is not well-formed")
	}
	ss := session.Session{
		ID: fuzzSessionID, Account: "acme", Technician: "tech-1", TechnicianEmail: "tina@example.com",
		UserEmail: "user@example.org", Locale: "en", Username: session.DefaultUsername,
		Status: session.Invited, Version: 1, CreatedAt: now, InviteExpiresAt: now.Add(24 * time.Hour),
		InviteTokenHash: bound.InviteTokenHash, CodeMAC: mac, Sealing: session.SealedForInvitation, SealedPassword: sealed,
	}
	if err := svc.Store.CreateInvitation(ctx, ss, ss.InviteExpiresAt, support.Defaults().Limits, session.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	return svc
}

// event is the API Gateway event of a POST with body as the local gateway builds it: a
// body that is not UTF-8 arrives base64-encoded.
func fuzzEvent(path, body string, claims map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: path, Body: body, Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: path},
		},
	}
	if !utf8.ValidString(body) {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return ev
}

// checkFuzzAnswer fails unless the answer is one of the allowed statuses with a JSON body: for
// 2xx a JSON object, else a problem whose code maps to that very status.
func checkFuzzAnswer(t *testing.T, res events.APIGatewayV2HTTPResponse, err error, allowed ...int) map[string]any {
	t.Helper()
	if err != nil {
		t.Fatalf("the handler returned a Go error: %v", err)
	}
	ok := false
	for _, s := range allowed {
		ok = ok || res.StatusCode == s
	}
	if !ok {
		t.Fatalf("status %d is not among %v: %s", res.StatusCode, allowed, res.Body)
	}
	var body map[string]any
	if jerr := json.Unmarshal([]byte(res.Body), &body); jerr != nil {
		t.Fatalf("status %d with a body that is not a JSON object: %q", res.StatusCode, res.Body)
	}
	ct := res.Headers["Content-Type"]
	if res.StatusCode < 300 {
		if ct != "application/json" {
			t.Fatalf("success with content type %q", ct)
		}
		return body
	}
	code, _ := body["code"].(string)
	if ct != "application/problem+json" || statusOf[code] != res.StatusCode || body["status"] != float64(res.StatusCode) {
		t.Fatalf("status %d with problem %s (content type %q)", res.StatusCode, res.Body, ct)
	}
	return body
}

func FuzzInvitationBody(f *testing.F) {
	for _, s := range []string{
		`{"email":"user@example.org","password":"Corr3ct-Horse-Battery","locale":"en"}`,
		`{"email":"user@example.org","password":"Corr3ct-Horse-Battery","locale":"de-AT"}`,
		`{"email":"Eve <eve@example.org>","password":"x"}`,
		`{"email":"a@b.c\r\nBcc: x@y.z","password":"Corr3ct-Horse-Battery"}`,
		`{"email":"a@example.org","password":"Corr3ct\u0000Horse-Battery"}`,
		`{"email":1}`, `[]`, `null`, `{}`, ``, `{"email":"a@example.org"}{}`, "{\"email\":\"\xff\"}",
		`{"email":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`,
		`{"email":"a@example.org","password":"Corr3ct-Horse-Battery","admin":true}`,
	} {
		f.Add(s)
	}
	claims := map[string]string{ClaimSubject: "tech-2", ClaimEmail: "tom@example.com", ClaimAccount: "acme"}
	f.Fuzz(func(t *testing.T, body string) {
		h := Invitation(fuzzService(t), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		res, err := h(context.Background(), fuzzEvent("/v1/sessions", body, claims))
		out := checkFuzzAnswer(t, res, err, http.StatusCreated, http.StatusBadRequest, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		var in inviteBody
		_ = json.Unmarshal([]byte(body), &in)
		if res.StatusCode == http.StatusCreated {
			if _, err := session.ParseCode(fmt.Sprint(out["securityCode"])); err != nil {
				t.Fatalf("created without a security code: %s", res.Body)
			}
			if session.PasswordProblem(in.Password, session.DefaultUsername) != "" {
				t.Fatalf("created with a password the policy refuses: %q", in.Password)
			}
		}
		if len(in.Password) >= 12 && strings.Contains(res.Body, in.Password) {
			t.Fatalf("the answer echoes the password: %s", res.Body)
		}
	})
}

func FuzzPairingBody(f *testing.F) {
	pair := func(token, code, platform, machine string) string {
		b, _ := json.Marshal(map[string]string{"inviteToken": token, "securityCode": code, "platform": platform,
			"osVersion": "Windows 11", "hostname": "PC-1", "agentVersion": "1.0", "machineId": machine, "nonce": "8f14e45fceea167a5a36dedd4bea2543"})
		return string(b)
	}
	for _, s := range []string{
		pair(fuzzToken, "123-456-789", "windows", "m-1"),
		pair(fuzzToken, " 123 456 789 ", "Windows", "m-1"),
		pair(fuzzToken, "123-456-780", "windows", "m-1"),
		pair(fuzzToken, "123-456-789", "linux", "m-1"),
		pair(fuzzToken, "123-456-789", "windows", ""),
		pair(fuzzToken, "１２３４５６７８９", "windows", "m-1"),
		pair(strings.Repeat("B", 43), "123-456-789", "windows", "m-1"),
		pair(fuzzToken+"\u0000", "123-456-789", "windows", "m-1"),
		`{"inviteToken":"` + fuzzToken + `","platform":"windows","hostname":"PC","machineId":"m"}`,
		`{"inviteToken":null}`, `{"inviteToken":["x"]}`, `{`, "\x00", "{\"hostname\":\"\xc3\x28\"}",
	} {
		f.Add(false, s)
		f.Add(true, s)
	}
	f.Fuzz(func(t *testing.T, hello bool, body string) {
		h := Pairing(fuzzService(t), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		path := "/v1/agent/pair"
		if hello {
			path = "/v1/agent/hello"
		}
		res, err := h(context.Background(), fuzzEvent(path, body, nil))
		out := checkFuzzAnswer(t, res, err, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound,
			http.StatusConflict, http.StatusGone, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
			http.StatusUnprocessableEntity, http.StatusLocked)
		if res.StatusCode != http.StatusOK {
			return
		}
		var in struct{ InviteToken, SecurityCode, Platform string }
		_ = json.Unmarshal([]byte(body), &in)
		if in.InviteToken != fuzzToken || strings.ToLower(strings.TrimSpace(in.Platform)) != "windows" {
			t.Fatalf("%s answered 200 for token %q on platform %q", path, in.InviteToken, in.Platform)
		}
		if hello {
			return
		}
		// Only the right code pairs, and the pairing hands over what the app needs.
		if digits, err := session.ParseCode(in.SecurityCode); err != nil || digits != fuzzCode {
			t.Fatalf("paired with the code %q", in.SecurityCode)
		}
		acct, _ := out["account"].(map[string]any)
		if out["agentToken"] == "" || out["sessionId"] != fuzzSessionID || acct["password"] != fuzzPassword {
			t.Fatalf("a pairing answer without what the app needs: %s", res.Body)
		}
	})
}
