package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// t0 is the tests' "now". Its nanoseconds make RFC3339Nano strings of different lengths,
// which would sort wrongly as text if the store did not use a fixed width.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 500_000_000, time.UTC)

var defaultLimits = support.Limits{Slots: 5, AdhocCap: 5}

// fixture is a store on a fresh table with a clock the test controls.
type fixture struct {
	*store.Store
	client *dynamodb.Client
	table  string
	clock  *clock.Fake
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	client, table := testenv.Table(t)
	f := &fixture{client: client, table: table, clock: clock.NewFake(t0)}
	f.Store = store.New(client, table, store.WithClock(f.clock))
	return f
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newSession is an invitation as the service would create it.
func newSession(id, account, technician string, created time.Time) session.Session {
	return session.Session{
		ID: id, Account: account, Technician: technician,
		TechnicianEmail: technician + "@example.com", TechnicianName: "Tech " + technician,
		UserEmail: "user-" + id + "@example.com", Locale: "en", Username: session.DefaultUsername,
		Status: session.Invited, Version: 1,
		CreatedAt: created, InviteExpiresAt: created.Add(24 * time.Hour),
		InviteTokenHash: hash("invite-" + id), CodeMAC: hash("code-" + id),
		SealedPassword: []byte("sealed-" + id),
	}
}

func withToken(s session.Session, token string) session.Session {
	s.InviteTokenHash = hash(token)
	return s
}

func inviteAudit(s session.Session) session.AuditEntry {
	return session.AuditEntry{SessionID: s.ID, At: s.CreatedAt, Seq: 1, Action: "invite", To: session.Invited,
		Actor: session.Actor{Kind: "technician", ID: s.Technician}, Detail: "invitation sent"}
}

func (f *fixture) invite(t *testing.T, s session.Session) {
	t.Helper()
	if err := f.CreateInvitation(context.Background(), s, s.InviteExpiresAt, defaultLimits, inviteAudit(s)); err != nil {
		t.Fatalf("CreateInvitation(%s): %v", s.ID, err)
	}
}

// activate moves an invitation to active on a machine, as the pairing handler does.
func activate(s session.Session, machine string, at time.Time) (session.Session, support.Change) {
	s.Status = session.Active
	s.Version++
	s.ActivatedAt = at
	s.ExpiresAt = at.Add(24 * time.Hour)
	s.Computer = session.Computer{Platform: "windows", OSVersion: "10.0.22631", Hostname: "PC-" + s.ID,
		AgentVersion: "1.0.0", MachineHash: machine}
	s.AgentTokenHash = hash("agent-" + s.ID)
	return s, support.Change{
		Session:        s,
		Audit:          &session.AuditEntry{At: at, Seq: s.Version, Action: "pair", From: session.Invited, To: session.Active},
		AgentLookup:    &support.Lookup{TokenHash: s.AgentTokenHash, Until: s.ExpiresAt.Add(time.Hour)},
		AcquireMachine: true,
	}
}

// end moves a session to a terminal state with the side effects the service sets.
func end(s session.Session, to session.State, at time.Time) support.Change {
	s.Status = to
	s.Version++
	s.EndedAt = at
	s.EraseSecrets()
	return support.Change{
		Session:        s,
		Audit:          &session.AuditEntry{At: at, Seq: s.Version, Action: "end", To: to},
		ReleaseSlot:    true,
		ReleaseMachine: s.Computer.MachineHash != "",
	}
}

func (f *fixture) account(t *testing.T, account string) support.Account {
	t.Helper()
	a, err := f.Account(context.Background(), account, defaultLimits)
	if err != nil {
		t.Fatalf("Account(%s): %v", account, err)
	}
	return a
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// ctx is a short-lived context for one store call.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// rawItem reads an item as stored, to check its shape.
func (f *fixture) rawItem(t *testing.T, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := f.client.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: &f.table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{store.KeyPK: &types.AttributeValueMemberS{Value: pk}, store.KeySK: &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatalf("GetItem %s/%s: %v", pk, sk, err)
	}
	return out.Item
}

func TestSessionRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	berlin := time.FixedZone("CET", 3600)
	s := newSession("s-1", "acme", "tech-1", t0.In(berlin))
	f.invite(t, s)

	// Every field set, times in another zone and with nanoseconds.
	s.Status = session.Active
	s.Version = 2
	s.ActivatedAt = t0.Add(time.Minute + 7)
	s.ExpiresAt = s.ActivatedAt.Add(24 * time.Hour)
	s.LastSeenAt = t0.Add(2 * time.Minute).In(berlin)
	s.FailedAttempts = 2
	s.Sealing = session.SealedForInvitation
	s.SealedAgentToken = []byte{0, 1, 2, 255}
	s.AgentTokenHash = hash("agent")
	s.PairNonce = "nonce-1"
	s.SecretsUntil = s.ActivatedAt.Add(10 * time.Minute).In(berlin)
	s.Computer = session.Computer{Platform: "windows", OSVersion: "10.0.22631", Hostname: "PC-1", AgentVersion: "1.2.3", MachineHash: "abc"}
	s.LiveConnection, s.LiveSince = "conn-1=", t0.Add(3*time.Minute+9)
	s.StartRemote(session.Remote{ID: "r-old", Technician: "tech-2", StartedAt: t0.Add(3 * time.Minute)})
	s.StartRemote(session.Remote{ID: "r-1", Technician: "tech-1", TechnicianName: "Tina Example", Console: "console-1=",
		StartedAt: t0.Add(4 * time.Minute).In(berlin), PendingUntil: t0.Add(4*time.Minute + 30*time.Second), ConnectedAt: t0.Add(4*time.Minute + 1)})
	if err := f.Commit(ctx(t), support.Change{Session: s}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	got, err := f.GetSession(ctx(t), s.ID)
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	want := s
	remote := *s.Remote
	want.Remote = &remote
	for _, tm := range []*time.Time{&want.CreatedAt, &want.InviteExpiresAt, &want.ActivatedAt, &want.ExpiresAt, &want.LastSeenAt,
		&want.LiveSince, &want.SecretsUntil, &remote.StartedAt, &remote.PendingUntil, &remote.ConnectedAt} {
		*tm = tm.UTC()
	}
	want.Unreported = slices.Clone(s.Unreported)
	for i := range want.Unreported {
		want.Unreported[i].StartedAt = want.Unreported[i].StartedAt.UTC()
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetSession:\n got %+v\nwant %+v", got, want)
	}

	// A terminal session: zero-value fields and erased secrets come back empty.
	s.Status, s.Version, s.EndedAt, s.EndReason = session.Ended, 3, t0.Add(time.Hour), session.ReasonEndedByUser
	s.EraseSecrets()
	s.Remote = nil
	if err := f.Commit(ctx(t), support.Change{Session: s}); err != nil {
		t.Fatalf("Commit ended: %v", err)
	}
	got, err = f.GetSession(ctx(t), s.ID)
	if err != nil {
		t.Fatalf("GetSession: %v", err)
	}
	if got.SealedPassword != nil || got.CodeMAC != nil || got.SealedAgentToken != nil || got.Status != session.Ended ||
		got.EndReason != session.ReasonEndedByUser || !got.EndedAt.Equal(s.EndedAt) || got.Version != 3 ||
		got.Remote != nil || len(got.Unreported) != 2 {
		t.Fatalf("ended session read back as %+v", got)
	}

	_, err = f.GetSession(ctx(t), "missing")
	wantErr(t, "GetSession(missing)", err, support.ErrNotFound)
}

func TestCreateInvitationWritesEverything(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSession("s-1", "acme", "tech-1", t0)
	f.invite(t, s)

	if id, err := f.SessionIDByInviteToken(ctx(t), s.InviteTokenHash); err != nil || id != s.ID {
		t.Errorf("SessionIDByInviteToken = %q, %v; want %q", id, err, s.ID)
	}
	if id, err := f.TechnicianSession(ctx(t), "acme", "tech-1"); err != nil || id != s.ID {
		t.Errorf("TechnicianSession = %q, %v; want %q", id, err, s.ID)
	}
	if a := f.account(t, "acme"); a != (support.Account{ID: "acme", Limits: defaultLimits, Used: 1, AdhocInUse: 1}) {
		t.Errorf("Account = %+v", a)
	}
	audit, err := f.Audit(ctx(t), s.ID)
	wantAudit := inviteAudit(s)
	wantAudit.Account, wantAudit.Technician = s.Account, s.Technician // the owner, kept on every entry
	if err != nil || len(audit) != 1 || !reflect.DeepEqual(audit[0], wantAudit) {
		t.Errorf("Audit = %+v, %v; want [%+v]", audit, err, wantAudit)
	}

	// The stored shape the infrastructure and the indexes rely on.
	item := f.rawItem(t, "SESSION#s-1", "SESSION")
	if v, ok := item[store.AttrDuePK].(*types.AttributeValueMemberS); !ok || v.Value != store.DuePartition {
		t.Errorf("session %s = %#v", store.AttrDuePK, item[store.AttrDuePK])
	}
	wantN := func(it map[string]types.AttributeValue, name string, want int64) {
		t.Helper()
		if v, ok := it[name].(*types.AttributeValueMemberN); !ok || v.Value != fmt.Sprint(want) {
			t.Errorf("%s = %#v, want N %d", name, it[name], want)
		}
	}
	// Rounded up to the second: a query never finds it before it is due.
	wantN(item, store.AttrDueAt, s.InviteExpiresAt.Unix()+1)
	wantN(item, store.AttrTTL, s.InviteExpiresAt.Unix()+1)
	wantN(item, "version", 1)
	if _, ok := item["inviteTokenHash"].(*types.AttributeValueMemberB); !ok {
		t.Errorf("inviteTokenHash = %#v, want B", item["inviteTokenHash"])
	}
	if v, ok := item[store.AttrCreatedSK].(*types.AttributeValueMemberS); !ok || v.Value != "2026-03-01T10:00:00.500000000Z#s-1" {
		t.Errorf("createdSk = %#v", item[store.AttrCreatedSK])
	}
	auditItem := f.rawItem(t, "SESSION#s-1", "AUDIT#2026-03-01T10:00:00.500000000Z#0000000001")
	wantN(auditItem, store.AttrTTL, t0.Add(90*24*time.Hour).Unix()+1)
	wantN(f.rawItem(t, "ACCOUNT#acme", "ACCOUNT"), "used", 1)
}

func TestCreateInvitationRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		limits   *support.Limits // set with SetLimits before; nil: never configured
		defaults support.Limits
		before   []session.Session // invited first, all must succeed
		invite   session.Session
		want     error
	}{
		{name: "technician busy", defaults: defaultLimits,
			before: []session.Session{newSession("a", "acme", "tech-1", t0)},
			invite: newSession("b", "acme", "tech-1", t0), want: support.ErrTechnicianBusy},
		{name: "technician busy wins over no slot", defaults: support.Limits{Slots: 1, AdhocCap: 1},
			before: []session.Session{newSession("a", "acme", "tech-1", t0)},
			invite: newSession("b", "acme", "tech-1", t0), want: support.ErrTechnicianBusy},
		{name: "same technician id in another account is free", defaults: defaultLimits,
			before: []session.Session{newSession("a", "other", "tech-1", t0)},
			invite: newSession("b", "acme", "tech-1", t0)},
		{name: "'#' in ids cannot collide", defaults: defaultLimits,
			before: []session.Session{newSession("a", "ac#me", "tech", t0)},
			invite: newSession("b", "ac", "me#tech", t0)},
		{name: "slots used up", defaults: support.Limits{Slots: 1, AdhocCap: 5},
			before: []session.Session{newSession("a", "acme", "tech-1", t0)},
			invite: newSession("b", "acme", "tech-2", t0), want: support.ErrNoFreeSlot},
		{name: "cap reached", defaults: support.Limits{Slots: 5, AdhocCap: 1},
			before: []session.Session{newSession("a", "acme", "tech-1", t0)},
			invite: newSession("b", "acme", "tech-2", t0), want: support.ErrCapReached},
		{name: "no slot by default", defaults: support.Limits{Slots: 0, AdhocCap: 5},
			invite: newSession("b", "acme", "tech-2", t0), want: support.ErrNoFreeSlot},
		{name: "no ad-hoc session by default", defaults: support.Limits{Slots: 5, AdhocCap: 0},
			invite: newSession("b", "acme", "tech-2", t0), want: support.ErrCapReached},
		{name: "configured without slots", limits: &support.Limits{Slots: 0, AdhocCap: 5}, defaults: defaultLimits,
			invite: newSession("b", "acme", "tech-2", t0), want: support.ErrNoFreeSlot},
		{name: "configured cap reached", limits: &support.Limits{Slots: 3, AdhocCap: 1}, defaults: defaultLimits,
			before: []session.Session{newSession("a", "acme", "tech-1", t0)},
			invite: newSession("b", "acme", "tech-2", t0), want: support.ErrCapReached},
		{name: "configured limits above the defaults", limits: &support.Limits{Slots: 2, AdhocCap: 2}, defaults: support.Limits{Slots: 1, AdhocCap: 1},
			before: []session.Session{newSession("a", "acme", "tech-1", t0)},
			invite: newSession("b", "acme", "tech-2", t0)},
		{name: "session id exists", defaults: defaultLimits,
			before: []session.Session{newSession("a", "acme", "tech-1", t0)},
			invite: withToken(newSession("a", "acme", "tech-2", t0), "fresh token"), want: support.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.limits != nil {
				if err := f.SetLimits(ctx(t), "acme", *tt.limits); err != nil {
					t.Fatalf("SetLimits: %v", err)
				}
			}
			for _, s := range tt.before {
				if err := f.CreateInvitation(ctx(t), s, s.InviteExpiresAt, tt.defaults, inviteAudit(s)); err != nil {
					t.Fatalf("CreateInvitation(%s): %v", s.ID, err)
				}
			}
			usedBefore, _ := f.Account(ctx(t), "acme", tt.defaults)
			err := f.CreateInvitation(ctx(t), tt.invite, tt.invite.InviteExpiresAt, tt.defaults, inviteAudit(tt.invite))
			wantErr(t, "CreateInvitation", err, tt.want)
			if tt.want == nil {
				return
			}
			// A refused invitation leaves nothing behind.
			after, _ := f.Account(ctx(t), "acme", tt.defaults)
			if after != usedBefore {
				t.Errorf("account changed by a refused invitation: %+v → %+v", usedBefore, after)
			}
			if _, err := f.SessionIDByInviteToken(ctx(t), tt.invite.InviteTokenHash); !errors.Is(err, support.ErrNotFound) {
				t.Errorf("invite lookup of refused invitation: %v", err)
			}
			if tt.want != support.ErrConflict {
				if _, err := f.GetSession(ctx(t), tt.invite.ID); !errors.Is(err, support.ErrNotFound) {
					t.Errorf("refused session stored: %v", err)
				}
			}
		})
	}
}

func TestInvalidInputIsRefusedBeforeWriting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ok := newSession("s", "acme", "tech", t0)
	withVersion := func(s session.Session, v int) session.Session { s.Version = v; return s }
	withoutHash := ok
	withoutHash.InviteTokenHash = nil
	withoutAccount := ok
	withoutAccount.Account = ""
	for name, s := range map[string]session.Session{
		"version 2": withVersion(ok, 2), "no invite hash": withoutHash, "no account": withoutAccount,
	} {
		err := f.CreateInvitation(ctx(t), s, s.InviteExpiresAt, defaultLimits, inviteAudit(s))
		if err == nil {
			t.Errorf("%s: CreateInvitation accepted it", name)
		}
	}
	active := ok
	active.Status, active.Version = session.Active, 2
	if err := f.Commit(ctx(t), support.Change{Session: active, ReleaseSlot: true}); err == nil {
		t.Error("Commit released the slot of a non-terminal session")
	}
	if err := f.Commit(ctx(t), support.Change{Session: active, AcquireMachine: true}); err == nil {
		t.Error("Commit took a machine lock without a machine hash")
	}
	if a := f.account(t, "acme"); a.Used != 0 {
		t.Errorf("account used %d after refused input", a.Used)
	}
}

func TestCommitIsConditionalOnVersion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSession("s-1", "acme", "tech-1", t0)
	f.invite(t, s)

	hello := s
	hello.Status, hello.Version = session.AppStarted, 2
	if err := f.Commit(ctx(t), support.Change{Session: hello}); err != nil {
		t.Fatalf("Commit v2: %v", err)
	}
	// A writer that read version 1 too and lost the race.
	stale := s
	stale.FailedAttempts, stale.Version = 1, 2
	wantErr(t, "stale Commit", f.Commit(ctx(t), support.Change{Session: stale}), support.ErrConflict)
	// A version from the future is as wrong as a stale one.
	future := hello
	future.Version = 4
	wantErr(t, "Commit skipping a version", f.Commit(ctx(t), support.Change{Session: future}), support.ErrConflict)
	// A session that was never created.
	ghost := newSession("ghost", "acme", "tech-9", t0)
	ghost.Version = 2
	wantErr(t, "Commit of missing session", f.Commit(ctx(t), support.Change{Session: ghost}), support.ErrConflict)

	got, err := f.GetSession(ctx(t), s.ID)
	if err != nil || got.Version != 2 || got.Status != session.AppStarted || got.FailedAttempts != 0 {
		t.Fatalf("after the conflicts the stored session is %+v, %v", got, err)
	}
	audit, _ := f.Audit(ctx(t), s.ID)
	if len(audit) != 1 {
		t.Errorf("a refused commit wrote audit entries: %+v", audit)
	}
}

func TestTerminalCommitFreesSlotAndLock(t *testing.T) {
	t.Parallel()
	for _, to := range []session.State{session.Cancelled, session.InviteExpired, session.Locked} {
		t.Run(string(to), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := newSession("s-1", "acme", "tech-1", t0)
			f.invite(t, s)
			if err := f.Commit(ctx(t), end(s, to, t0.Add(time.Minute))); err != nil {
				t.Fatalf("Commit %s: %v", to, err)
			}
			if a := f.account(t, "acme"); a.Used != 0 || a.AdhocInUse != 0 {
				t.Errorf("account after %s: %+v", to, a)
			}
			if _, err := f.TechnicianSession(ctx(t), "acme", "tech-1"); !errors.Is(err, support.ErrNotFound) {
				t.Errorf("technician lock after %s: %v", to, err)
			}
			// The lookup outlives the end, so the app gets an explicit answer.
			if id, err := f.SessionIDByInviteToken(ctx(t), s.InviteTokenHash); err != nil || id != s.ID {
				t.Errorf("invite lookup after %s: %q, %v", to, id, err)
			}
			f.invite(t, newSession("s-2", "acme", "tech-1", t0.Add(2*time.Minute)))
			if a := f.account(t, "acme"); a.Used != 1 {
				t.Errorf("account after the new invitation: %+v", a)
			}
		})
	}
}

func TestSlotIsReleasedOnlyOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSession("s-1", "acme", "tech-1", t0)
	f.invite(t, s)
	s, act := activate(s, "machine-1", t0.Add(time.Minute))
	if err := f.Commit(ctx(t), act); err != nil {
		t.Fatalf("activate: %v", err)
	}
	f.invite(t, newSession("other", "acme", "tech-2", t0))
	expired := end(s, session.Expired, s.ExpiresAt)
	if err := f.Commit(ctx(t), expired); err != nil {
		t.Fatalf("expire: %v", err)
	}
	// A buggy caller releases again on the way to removed: refused, counters intact.
	removed := end(expired.Session, session.Removed, s.ExpiresAt.Add(time.Minute))
	wantErr(t, "second release", f.Commit(ctx(t), removed), support.ErrConflict)
	removed.ReleaseSlot = false
	if err := f.Commit(ctx(t), removed); err != nil {
		t.Fatalf("removed without release: %v", err)
	}
	if a := f.account(t, "acme"); a.Used != 1 || a.AdhocInUse != 1 {
		t.Errorf("account = %+v, want the other session's slot only", a)
	}
	if id, err := f.TechnicianSession(ctx(t), "acme", "tech-2"); err != nil || id != "other" {
		t.Errorf("other technician's lock: %q, %v", id, err)
	}
}

func TestDueSessionsIndexIsSparse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Invitations due at t0+1h, +2h, +3h (created 24 h before), one becoming active.
	var sessions []session.Session
	for i := range 3 {
		s := newSession(fmt.Sprintf("s-%d", i), "acme", fmt.Sprintf("tech-%d", i), t0.Add(time.Duration(i+1)*time.Hour-24*time.Hour))
		f.invite(t, s)
		sessions = append(sessions, s)
	}
	due := func(now time.Time, limit int) []string {
		t.Helper()
		ids, err := f.DueSessions(ctx(t), now, limit)
		if err != nil {
			t.Fatalf("DueSessions: %v", err)
		}
		return ids
	}
	for _, tt := range []struct {
		now   time.Time
		limit int
		want  []string
	}{
		{t0, 10, nil},
		{sessions[0].InviteExpiresAt.Add(-time.Millisecond), 10, nil}, // never early
		{sessions[0].InviteExpiresAt.Add(time.Second), 10, []string{"s-0"}},
		{t0.Add(3*time.Hour + time.Second), 10, []string{"s-0", "s-1", "s-2"}},
		{t0.Add(3*time.Hour + time.Second), 2, []string{"s-0", "s-1"}},
	} {
		if got := due(tt.now, tt.limit); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DueSessions(%s, %d) = %v, want %v", tt.now, tt.limit, got, tt.want)
		}
	}

	// s-0 ends: it leaves the index. s-1 becomes active: due at its new expiry.
	if err := f.Commit(ctx(t), end(sessions[0], session.Cancelled, t0)); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	_, act := activate(sessions[1], "m-1", t0)
	if err := f.Commit(ctx(t), act); err != nil {
		t.Fatalf("activate: %v", err)
	}
	late := t0.Add(5 * time.Hour)
	if got := due(late, 10); !reflect.DeepEqual(got, []string{"s-2"}) {
		t.Errorf("DueSessions after cancel and activation = %v, want [s-2]", got)
	}
	if got := due(t0.Add(25*time.Hour), 10); !reflect.DeepEqual(got, []string{"s-2", "s-1"}) {
		t.Errorf("DueSessions after the active session's expiry = %v, want [s-2 s-1]", got)
	}
	if item := f.rawItem(t, "SESSION#s-0", "SESSION"); item[store.AttrDuePK] != nil || item[store.AttrDueAt] != nil {
		t.Errorf("terminal session keeps its index attributes: %v", item)
	}
}

func TestAuditOrdering(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSession("s-1", "acme", "tech-1", t0)
	f.invite(t, s)
	// Written out of order; .05 s and .5 s would sort wrongly as RFC3339Nano text, and two
	// entries of the same instant are told apart by their sequence number (up to 10).
	steps := []struct {
		at  time.Time
		seq int
	}{
		{t0.Add(time.Second + 50*time.Millisecond), 10},
		{t0.Add(time.Second + 50*time.Millisecond), 9},
		{t0.Add(time.Second), 2},
		{t0.Add(time.Hour), 3},
	}
	cur := s
	for _, st := range steps {
		cur.Version++
		cur.FailedAttempts++
		e := session.AuditEntry{At: st.at, Seq: st.seq, Action: "pair_failed", Actor: session.Actor{Kind: "app", ID: "PC"}}
		if err := f.Commit(ctx(t), support.Change{Session: cur, Audit: &e}); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	got, err := f.Audit(ctx(t), s.ID)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	var order []string
	for _, e := range got {
		if e.SessionID != s.ID {
			t.Errorf("entry of session %q", e.SessionID)
		}
		order = append(order, fmt.Sprintf("%s/%d", e.At.Sub(t0), e.Seq))
	}
	want := []string{"0s/1", "1s/2", "1.05s/9", "1.05s/10", "1h0m0s/3"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("audit order = %v, want %v", order, want)
	}
	if other, err := f.Audit(ctx(t), "other"); err != nil || len(other) != 0 {
		t.Errorf("Audit(other) = %v, %v", other, err)
	}
}

// twoInvitations gives a fixture with the invitations a and b of two technicians of acme.
func twoInvitations(t *testing.T) (*fixture, session.Session, session.Session) {
	t.Helper()
	f := newFixture(t)
	a := newSession("a", "acme", "tech-1", t0)
	b := newSession("b", "acme", "tech-2", t0)
	f.invite(t, a)
	f.invite(t, b)
	return f, a, b
}

func TestMachineLock(t *testing.T) {
	t.Parallel()
	f, a, b := twoInvitations(t)

	a, actA := activate(a, "pc", t0)
	if err := f.Commit(ctx(t), actA); err != nil {
		t.Fatalf("activate a: %v", err)
	}
	if id, err := f.MachineSession(ctx(t), "pc"); err != nil || id != "a" {
		t.Fatalf("MachineSession = %q, %v; want a", id, err)
	}
	if ok, err := f.AgentTokenKnown(ctx(t), a.AgentTokenHash); err != nil || !ok {
		t.Errorf("AgentTokenKnown(a) = %v, %v", ok, err)
	}

	// Busy: b pairs on the same PC while a is active. Nothing of b's change is stored.
	_, actB := activate(b, "pc", t0.Add(time.Minute))
	wantErr(t, "activate b on a busy PC", f.Commit(ctx(t), actB), support.ErrMachineBusy)
	if got, _ := f.GetSession(ctx(t), "b"); got.Version != 1 || got.Status != session.Invited {
		t.Errorf("b after refused activation: %+v", got)
	}
	if ok, _ := f.AgentTokenKnown(ctx(t), actB.Session.AgentTokenHash); ok {
		t.Error("refused activation wrote b's agent lookup")
	}

	// Taking over names the holder: naming another session leaves the lock where it is.
	// (Whether the holder has ended is the service's to check; see MachineTakeOver.)
	wrongHolder := actB
	wrongHolder.MachineTakeOver = "c"
	wantErr(t, "take the lock over from a session that does not hold it", f.Commit(ctx(t), wrongHolder), support.ErrMachineBusy)
	if id, _ := f.MachineSession(ctx(t), "pc"); id != "a" {
		t.Fatalf("MachineSession = %q after a refused take-over, want a", id)
	}

	// The holder may take its own lock again (a retried write).
	again := actA
	again.Session.Version++
	if err := f.Commit(ctx(t), again); err != nil {
		t.Fatalf("holder retakes its lock: %v", err)
	}
	a = again.Session

	// Expired: a second after a's expiry (stored to the second, rounded up) the lock no
	// longer counts and b may take it; a second before, it still does.
	f.clock.Set(a.ExpiresAt.Add(-time.Second))
	if id, err := f.MachineSession(ctx(t), "pc"); err != nil || id != "a" {
		t.Errorf("MachineSession just before expiry = %q, %v; want a", id, err)
	}
	f.clock.Set(a.ExpiresAt.Add(time.Second))
	if _, err := f.MachineSession(ctx(t), "pc"); !errors.Is(err, support.ErrNotFound) {
		t.Errorf("MachineSession of an expired lock: %v", err)
	}
	_, actB = activate(b, "pc", a.ExpiresAt)
	if err := f.Commit(ctx(t), actB); err != nil {
		t.Fatalf("activate b after a's expiry: %v", err)
	}
	if id, err := f.MachineSession(ctx(t), "pc"); err != nil || id != "b" {
		t.Fatalf("MachineSession = %q, %v; want b", id, err)
	}

	// Released: a ending late must not release b's lock; b ending releases it.
	if err := f.Commit(ctx(t), end(a, session.Expired, a.ExpiresAt)); err != nil {
		t.Fatalf("expire a: %v", err)
	}
	if id, err := f.MachineSession(ctx(t), "pc"); err != nil || id != "b" {
		t.Fatalf("after a's release MachineSession = %q, %v; want b", id, err)
	}
	if err := f.Commit(ctx(t), end(actB.Session, session.Ended, a.ExpiresAt.Add(time.Minute))); err != nil {
		t.Fatalf("end b: %v", err)
	}
	if _, err := f.MachineSession(ctx(t), "pc"); !errors.Is(err, support.ErrNotFound) {
		t.Errorf("MachineSession after release: %v", err)
	}
	if f.rawItem(t, "MACHINE#pc", "LOCK") != nil {
		t.Error("released machine lock still stored")
	}
}

func TestLookupsExpire(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSession("s-1", "acme", "tech-1", t0)
	until := t0.Add(48 * time.Hour)
	if err := f.CreateInvitation(ctx(t), s, until, defaultLimits, inviteAudit(s)); err != nil {
		t.Fatalf("CreateInvitation: %v", err)
	}
	s, act := activate(s, "pc", t0)
	act.AgentLookup.Until = t0.Add(30 * time.Hour)
	if err := f.Commit(ctx(t), act); err != nil {
		t.Fatalf("activate: %v", err)
	}
	for _, tt := range []struct {
		now           time.Time
		invite, agent bool
	}{
		{t0, true, true},
		{t0.Add(30*time.Hour - time.Second), true, true},
		{t0.Add(30*time.Hour + time.Second), true, false},
		{until.Add(-time.Second), true, false},
		{until.Add(time.Second), false, false},
	} {
		f.clock.Set(tt.now)
		id, err := f.SessionIDByInviteToken(ctx(t), s.InviteTokenHash)
		if tt.invite && (err != nil || id != s.ID) || !tt.invite && !errors.Is(err, support.ErrNotFound) {
			t.Errorf("at %s: SessionIDByInviteToken = %q, %v; want found %v", tt.now, id, err, tt.invite)
		}
		if ok, err := f.AgentTokenKnown(ctx(t), s.AgentTokenHash); err != nil || ok != tt.agent {
			t.Errorf("at %s: AgentTokenKnown = %v, %v; want %v", tt.now, ok, err, tt.agent)
		}
	}
	if _, err := f.SessionIDByInviteToken(ctx(t), hash("never issued")); !errors.Is(err, support.ErrNotFound) {
		t.Errorf("unknown invite token: %v", err)
	}
	if ok, err := f.AgentTokenKnown(ctx(t), hash("never issued")); err != nil || ok {
		t.Errorf("unknown agent token: %v, %v", ok, err)
	}
	if _, err := f.TechnicianSession(ctx(t), "acme", "nobody"); !errors.Is(err, support.ErrNotFound) {
		t.Errorf("TechnicianSession(nobody): %v", err)
	}
}

func TestRollbackInvitation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSession("s-1", "acme", "tech-1", t0)
	f.invite(t, s)
	f.invite(t, newSession("keep", "acme", "tech-2", t0))

	stale := s
	stale.Version = 2
	wantErr(t, "rollback with a wrong version", f.RollbackInvitation(ctx(t), stale), support.ErrConflict)

	if err := f.RollbackInvitation(ctx(t), s); err != nil {
		t.Fatalf("RollbackInvitation: %v", err)
	}
	if _, err := f.GetSession(ctx(t), s.ID); !errors.Is(err, support.ErrNotFound) {
		t.Errorf("session after rollback: %v", err)
	}
	if _, err := f.SessionIDByInviteToken(ctx(t), s.InviteTokenHash); !errors.Is(err, support.ErrNotFound) {
		t.Errorf("invite lookup after rollback: %v", err)
	}
	if _, err := f.TechnicianSession(ctx(t), "acme", "tech-1"); !errors.Is(err, support.ErrNotFound) {
		t.Errorf("technician lock after rollback: %v", err)
	}
	if audit, err := f.Audit(ctx(t), s.ID); err != nil || len(audit) != 0 {
		t.Errorf("audit after rollback: %v, %v", audit, err)
	}
	if a := f.account(t, "acme"); a.Used != 1 || a.AdhocInUse != 1 {
		t.Errorf("account after rollback: %+v", a)
	}
	wantErr(t, "second rollback", f.RollbackInvitation(ctx(t), s), support.ErrConflict)
	if a := f.account(t, "acme"); a.Used != 1 {
		t.Errorf("a second rollback changed the account: %+v", a)
	}
	f.invite(t, newSession("s-2", "acme", "tech-1", t0))
}

func TestListSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 5 {
		s := newSession(fmt.Sprintf("s-%d", i), "acme", fmt.Sprintf("tech-%d", i), t0.Add(time.Duration(i)*time.Minute))
		f.invite(t, s)
		if i%2 == 0 {
			if err := f.Commit(ctx(t), end(s, session.Cancelled, t0.Add(time.Hour))); err != nil {
				t.Fatalf("cancel: %v", err)
			}
		}
	}
	f.invite(t, newSession("foreign", "other", "tech-0", t0.Add(time.Hour)))

	running := []session.State{session.Invited, session.AppStarted, session.Active}
	for _, tt := range []struct {
		name   string
		filter support.ListFilter
		limit  int
		want   []string
	}{
		{"all", support.ListFilter{}, 10, []string{"s-4", "s-3", "s-2", "s-1", "s-0"}},
		{"newest two", support.ListFilter{}, 2, []string{"s-4", "s-3"}},
		// The filter comes before the limit: an older match is not hidden behind newer
		// sessions of others.
		{"one technician's", support.ListFilter{Technician: "tech-0"}, 1, []string{"s-0"}},
		{"running only", support.ListFilter{Statuses: running}, 10, []string{"s-3", "s-1"}},
		{"cancelled of tech-2", support.ListFilter{Technician: "tech-2", Statuses: []session.State{session.Cancelled}}, 10, []string{"s-2"}},
		{"nothing matches", support.ListFilter{Technician: "tech-1", Statuses: []session.State{session.Cancelled}}, 10, nil},
	} {
		got, err := f.ListSessions(ctx(t), "acme", tt.filter, tt.limit)
		if err != nil {
			t.Fatalf("ListSessions: %v", err)
		}
		var ids []string
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		if !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("%s: ListSessions(acme, %+v, %d) = %v, want %v", tt.name, tt.filter, tt.limit, ids, tt.want)
		}
	}
	if got, _ := f.ListSessions(ctx(t), "acme", support.ListFilter{}, 10); len(got) == 5 && got[0].Status != session.Cancelled {
		t.Errorf("listed session s-4 has status %s, want cancelled", got[0].Status)
	}
	if got, err := f.ListSessions(ctx(t), "nobody", support.ListFilter{}, 10); err != nil || len(got) != 0 {
		t.Errorf("ListSessions(nobody) = %v, %v", got, err)
	}
}

func TestAccountAndSetLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if a := f.account(t, "acme"); a != (support.Account{ID: "acme", Limits: defaultLimits}) {
		t.Errorf("unconfigured account = %+v", a)
	}
	f.invite(t, newSession("s-1", "acme", "tech-1", t0))
	if err := f.SetLimits(ctx(t), "acme", support.Limits{Slots: 20, AdhocCap: 2}); err != nil {
		t.Fatalf("SetLimits: %v", err)
	}
	want := support.Account{ID: "acme", Limits: support.Limits{Slots: 20, AdhocCap: 2}, Used: 1, AdhocInUse: 1}
	if a := f.account(t, "acme"); a != want {
		t.Errorf("after SetLimits: %+v, want %+v", a, want)
	}
	if err := f.SetLimits(ctx(t), "fresh", support.Limits{Slots: 3, AdhocCap: 1}); err != nil {
		t.Fatalf("SetLimits(fresh): %v", err)
	}
	if a := f.account(t, "fresh"); a != (support.Account{ID: "fresh", Limits: support.Limits{Slots: 3, AdhocCap: 1}}) {
		t.Errorf("fresh account = %+v", a)
	}
	if err := f.SetLimits(ctx(t), "acme", support.Limits{Slots: -1}); err == nil {
		t.Error("SetLimits accepted negative slots")
	}
}

func TestCreateTableIsIdempotent(t *testing.T) {
	t.Parallel()
	client, table := testenv.Table(t)
	if err := store.CreateTable(ctx(t), client, table); err != nil {
		t.Fatalf("CreateTable again: %v", err)
	}
	d, err := client.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	indexes := map[string]types.ProjectionType{}
	for _, g := range d.Table.GlobalSecondaryIndexes {
		indexes[aws.ToString(g.IndexName)] = g.Projection.ProjectionType
	}
	want := map[string]types.ProjectionType{store.IndexByDue: types.ProjectionTypeKeysOnly, store.IndexByAccount: types.ProjectionTypeInclude}
	if !reflect.DeepEqual(indexes, want) {
		t.Errorf("indexes = %v, want %v", indexes, want)
	}
	ttl, err := client.DescribeTimeToLive(ctx(t), &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err != nil {
		t.Fatalf("DescribeTimeToLive: %v", err)
	}
	if ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != store.AttrTTL {
		t.Errorf("TTL = %+v", ttl.TimeToLiveDescription)
	}
}

func TestReleaseOrphan(t *testing.T) {
	f := newFixture(t)
	s := newSession("orphan", "acme", "tina", t0)
	f.invite(t, s)
	// While the session exists nothing is released.
	if released, err := f.ReleaseOrphan(ctx(t), "acme", "tina", s.ID); err != nil || released {
		t.Fatalf("ReleaseOrphan of a live session = %v, %v", released, err)
	}
	if a := f.account(t, "acme"); a.Used != 1 {
		t.Fatalf("used %d after a refused release", a.Used)
	}
	// Storage's TTL removes the session item.
	if _, err := f.client.DeleteItem(ctx(t), &dynamodb.DeleteItemInput{TableName: &f.table,
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "SESSION#" + s.ID}, "sk": &types.AttributeValueMemberS{Value: "SESSION"}}}); err != nil {
		t.Fatal(err)
	}
	// A lock naming another session is not touched.
	if released, err := f.ReleaseOrphan(ctx(t), "acme", "tina", "someone-else"); err != nil || released {
		t.Fatalf("ReleaseOrphan naming another session = %v, %v", released, err)
	}
	// Racing releases: exactly one gives the slot back.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			released, err := f.ReleaseOrphan(context.Background(), "acme", "tina", s.ID)
			if err != nil {
				t.Error(err)
			}
			if released {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if a := f.account(t, "acme"); wins != 1 || a.Used != 0 || a.AdhocInUse != 0 {
		t.Fatalf("%d releases won, account %+v; want one and nothing used", wins, a)
	}
	if _, err := f.TechnicianSession(ctx(t), "acme", "tina"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("the technician lock is still there: %v", err)
	}
	f.invite(t, newSession("next", "acme", "tina", t0))
}

func TestTechnicianLocksAreListedApartFromSessions(t *testing.T) {
	f := newFixture(t)
	for i, tech := range []string{"tina", "tom#1"} {
		f.invite(t, newSession(fmt.Sprintf("s%d", i), "acme", tech, t0.Add(time.Duration(i)*time.Minute)))
	}
	f.invite(t, newSession("other", "elsewhere", "tina", t0))
	locks, err := f.TechnicianLocks(ctx(t), "acme")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range locks {
		got[l.Technician] = l.SessionID
	}
	if len(got) != 2 || got["tina"] != "s0" || got["tom#1"] != "s1" {
		t.Fatalf("TechnicianLocks(acme) = %v", locks)
	}
	list, err := f.ListSessions(ctx(t), "acme", support.ListFilter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "s1" || list[1].ID != "s0" {
		t.Fatalf("ListSessions lists %d items, newest first expected s1, s0", len(list))
	}
}

// TestMachineLockTakeOver: a lock left behind by an ended session (its best-effort release
// failed) is taken over by an activation that names that session, before the lock's own
// expiry.
func TestMachineLockTakeOver(t *testing.T) {
	t.Parallel()
	f, a, b := twoInvitations(t)
	a, actA := activate(a, "pc", t0)
	if err := f.Commit(ctx(t), actA); err != nil {
		t.Fatalf("activate a: %v", err)
	}
	ended := end(a, session.Ended, t0.Add(time.Hour))
	ended.ReleaseMachine = false // the release that failed
	if err := f.Commit(ctx(t), ended); err != nil {
		t.Fatalf("end a: %v", err)
	}
	if id, err := f.MachineSession(ctx(t), "pc"); err != nil || id != "a" {
		t.Fatalf("MachineSession = %q, %v; want the stale lock of a", id, err)
	}

	f.clock.Set(t0.Add(2 * time.Hour))
	_, actB := activate(b, "pc", t0.Add(2*time.Hour))
	wantErr(t, "activate b without naming the stale holder", f.Commit(ctx(t), actB), support.ErrMachineBusy)
	actB.MachineTakeOver = "a"
	if err := f.Commit(ctx(t), actB); err != nil {
		t.Fatalf("activate b, taking the lock over from a: %v", err)
	}
	if id, err := f.MachineSession(ctx(t), "pc"); err != nil || id != "b" {
		t.Fatalf("MachineSession = %q, %v; want b", id, err)
	}
}
