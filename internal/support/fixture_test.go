package support_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/eventbus"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// t0 is where every fixture's clock starts; it stands still until a test moves it.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const password = "Corr3ct-Horse-Battery"

// fixture is a service on a fresh table of DynamoDB Local. svc writes through race (the
// real store, which lets another writer in first when a test asks it to); other is a
// second service instance on the same table, clock and fakes, as a second Lambda
// instance would be: the other writer.
type fixture struct {
	t         *testing.T
	clock     *clock.Fake
	store     *store.Store
	race      *racingStore
	mail      *fakeMailer
	schedules *fakeScheduler
	bus       *eventbus.Local
	svc       *support.Service
	other     *support.Service
	tech      support.Technician
	// client and table reach the table past the store, as someone able to write it would;
	// sealer and codes are the service's.
	client *dynamodb.Client
	table  string
	sealer support.Sealer
	codes  support.CodeMACer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	client, table := testenv.Table(t)
	f := &fixture{t: t, clock: clock.NewFake(t0), mail: &fakeMailer{}, schedules: &fakeScheduler{pending: map[string]time.Time{}},
		bus: eventbus.NewLocal(), tech: support.Technician{ID: "tech-1", Email: "tina@example.com", Name: "Tina", Account: "acme"}}
	f.store = store.New(client, table, store.WithClock(f.clock))
	f.race = &racingStore{Store: f.store}
	key := make([]byte, secrets.KeyLen)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := secrets.NewLocalSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := secrets.NewLocalCodeMAC(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := support.Defaults()
	cfg.PublicBaseURL = "https://support.example.com"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	service := func(st support.Store) *support.Service {
		return &support.Service{Store: st, Mail: f.mail, Events: f.bus, Schedules: f.schedules, Sealer: sealer, Codes: codes,
			Config: cfg, Clock: f.clock, Log: log}
	}
	f.svc, f.other = service(f.race), service(f.store)
	f.client, f.table, f.sealer, f.codes = client, table, sealer, codes
	// The mailer looks the reservation up when it is asked to send, as a test's witness
	// that there was something to roll back.
	f.mail.store = f.store
	return f
}

func ctx() context.Context { return context.Background() }

// invitation is what the technician and the user hold of an invitation.
type invitation struct {
	id, token, code string
}

// invite creates an invitation of tech and reads its token from the mail.
func (f *fixture) invite(tech support.Technician, email string) invitation {
	f.t.Helper()
	inv, err := f.svc.Invite(ctx(), tech, support.InviteRequest{Email: email, Password: password, Locale: "en"})
	if err != nil {
		f.t.Fatalf("invite %s: %v", email, err)
	}
	m, ok := f.mail.to(email)
	if !ok {
		f.t.Fatalf("no invitation mail to %s", email)
	}
	return invitation{id: inv.ID, token: tokenOf(m), code: inv.SecurityCode}
}

func tokenOf(m support.InvitationMail) string {
	_, token, _ := strings.Cut(m.JoinURL, "/join/")
	return token
}

// pc is a Windows PC as the app reports it.
func pc(machine string) support.PC {
	return support.PC{Platform: "windows", OSVersion: "Windows 11", Hostname: "PC-" + machine, AgentVersion: "1.0.0", MachineID: machine}
}

func pairReq(inv invitation, code, nonce string) support.PairRequest {
	return support.PairRequest{InviteToken: inv.token, SecurityCode: code, Nonce: nonce, PC: pc("m-" + inv.id)}
}

// wrong is a code that is not the invitation's.
func wrong(code string) string {
	d := []byte(code)
	d[0] = '0' + (d[0]-'0'+1)%10
	return string(d)
}

// activate pairs an invitation with the right code.
func (f *fixture) activate(inv invitation, nonce string) support.PairResult {
	f.t.Helper()
	res, err := f.svc.Pair(ctx(), pairReq(inv, inv.code, nonce))
	if err != nil {
		f.t.Fatalf("pair: %v", err)
	}
	return res
}

func (f *fixture) stored(id string) session.Session {
	f.t.Helper()
	ss, err := f.store.GetSession(ctx(), id)
	if err != nil {
		f.t.Fatalf("read session %s: %v", id, err)
	}
	return ss
}

// actions lists a session's audit trail by action.
func (f *fixture) actions(id string) []string {
	f.t.Helper()
	entries, err := f.store.Audit(ctx(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

func (f *fixture) account(account string) support.Account {
	f.t.Helper()
	a, err := f.store.Account(ctx(), account, f.svc.Config.Limits)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// published lists the events of a session, by type (and reason for SessionEnded).
func (f *fixture) published(id string) []string {
	var out []string
	for _, e := range f.bus.Events() {
		if e.Detail.SessionID != id {
			continue
		}
		s := string(e.Type)
		if e.Type == events.SessionEnded {
			s += ":" + e.Detail.Reason
		}
		out = append(out, s)
	}
	return out
}

// codeOf is the refusal's code, "" for no error, and "internal: …" for an error that is
// no refusal.
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := support.AsError(err); ok {
		return e.Code
	}
	return "internal: " + err.Error()
}

// fakeMailer stands in for SES: it records what it is asked to send and fails on demand.
type fakeMailer struct {
	store *store.Store
	mu    sync.Mutex
	sent  []support.InvitationMail
	// reserved are the sessions the invite tokens of the mails led to when they were
	// sent.
	reserved []string
	fail     func(ctx context.Context) error
}

func (m *fakeMailer) SendInvitation(ctx context.Context, mail support.InvitationMail) error {
	id, err := m.store.SessionIDByInviteToken(ctx, secrets.HashToken(tokenOf(mail)))
	if err != nil {
		return fmt.Errorf("fake mailer: the invitation is not reserved: %w", err)
	}
	m.mu.Lock()
	m.sent = append(m.sent, mail)
	m.reserved = append(m.reserved, id)
	fail := m.fail
	m.mu.Unlock()
	if fail != nil {
		return fail(ctx)
	}
	return nil
}

func (m *fakeMailer) to(address string) (support.InvitationMail, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		if m.sent[i].To == address {
			return m.sent[i], true
		}
	}
	return support.InvitationMail{}, false
}

func (m *fakeMailer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sent)
}

// fakeScheduler stands in for EventBridge Scheduler: it keeps the pending schedules by
// name, as the real one does (scheduling again replaces, deleting a missing one is no
// error), and counts the calls.
type fakeScheduler struct {
	mu        sync.Mutex
	pending   map[string]time.Time
	scheduled map[string]int // ScheduleExpiry calls by name
	fail      error
}

func (s *fakeScheduler) ScheduleExpiry(_ context.Context, name string, at time.Time, due events.ExpiryDue) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if due.SessionID == "" || !due.DueAt.Equal(at) {
		return fmt.Errorf("fake scheduler: payload %+v for %s at %v", due, name, at)
	}
	if s.scheduled == nil {
		s.scheduled = map[string]int{}
	}
	s.pending[name] = at
	s.scheduled[name]++
	return nil
}

func (s *fakeScheduler) DeleteExpiry(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	delete(s.pending, name)
	return nil
}

func (s *fakeScheduler) at(name string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.pending[name]
	return at, ok
}

func (s *fakeScheduler) times(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scheduled[name]
}

// racingStore is the real store, with a hook for each race a test stages: before the
// first Commit (or CreateInvitation, RollbackInvitation) after a test armed it, it runs
// the test's function, which writes through the real store, so that the armed call meets
// what another writer did first. It counts the conflicts Commit returns.
type racingStore struct {
	support.Store

	mu              sync.Mutex
	beforeCommit    func(ctx context.Context)
	commitAfter     func(c support.Change) error // runs after a real Commit that succeeded
	rollback        func(ctx context.Context, ss session.Session, real func() error) error
	commits         int
	conflicts       int
	rollbackAttempt int
}

func (r *racingStore) Commit(ctx context.Context, c support.Change) error {
	r.mu.Lock()
	first, after := r.beforeCommit, r.commitAfter
	r.beforeCommit = nil
	r.commits++
	r.mu.Unlock()
	if first != nil {
		first(ctx)
	}
	err := r.Store.Commit(ctx, c)
	if errors.Is(err, support.ErrConflict) {
		r.mu.Lock()
		r.conflicts++
		r.mu.Unlock()
	}
	if err == nil && after != nil {
		err = after(c)
	}
	return err
}

func (r *racingStore) RollbackInvitation(ctx context.Context, ss session.Session) error {
	r.mu.Lock()
	hook := r.rollback
	r.rollbackAttempt++
	r.mu.Unlock()
	real := func() error { return r.Store.RollbackInvitation(ctx, ss) }
	if hook != nil {
		return hook(ctx, ss, real)
	}
	return real()
}

// first arms the race: fn runs before the next Commit.
func (r *racingStore) first(fn func(ctx context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.beforeCommit = fn
	r.commits, r.conflicts = 0, 0
}

func (r *racingStore) counts() (commits, conflicts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.commits, r.conflicts
}
