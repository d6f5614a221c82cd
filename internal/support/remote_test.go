package support_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/views"
)

// pushes stands in for @connections (which only API Gateway and the local gateway play):
// it records what each connection is sent, and answers ErrGone for connections that are
// gone, as API Gateway's 410 does.
type pushes struct {
	mu   sync.Mutex
	sent map[string][]string
	gone map[string]bool
}

func (p *pushes) Push(_ context.Context, id string, msg []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone[id] {
		return support.ErrGone
	}
	if p.sent == nil {
		p.sent = map[string][]string{}
	}
	p.sent[id] = append(p.sent[id], string(msg))
	return nil
}

// take returns and forgets what a connection was sent, decoded.
func (p *pushes) take(id string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, raw := range p.sent[id] {
		m := map[string]any{}
		_ = json.Unmarshal([]byte(raw), &m)
		out = append(out, m)
	}
	delete(p.sent, id)
	return out
}

func (p *pushes) setGone(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone == nil {
		p.gone = map[string]bool{}
	}
	p.gone[id] = true
}

// remoteFixture is the fixture with a live channel (both service instances push through
// one recorder) and the local TURN server as the ICE servers, with an active session of
// f.tech whose app holds its live connection "app-1".
type remoteFixture struct {
	*fixture
	pushes *pushes
	turn   *turn.Server
	id     string // the session
	agent  string // its agent token
	admin  support.Technician
	// peers of the live channel
	app support.LivePeer
}

const appConn = "app-1"

func newRemoteFixture(t *testing.T) *remoteFixture {
	t.Helper()
	f := &remoteFixture{fixture: newFixture(t), pushes: &pushes{}}
	srv, err := turn.Start(turn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f.turn = srv
	for _, svc := range []*support.Service{f.svc, f.other} {
		svc.Live, svc.ICE = views.Live(f.pushes), srv
		svc.Config.LiveURL = "wss://live.example.com/live"
	}
	inv := f.invite(f.tech, "user@example.org")
	f.id, f.agent = inv.id, f.activate(inv, nonceA).AgentToken
	f.admin = support.Technician{ID: "admin-1", Email: "ada@example.com", Name: "Ada Admin", Account: "acme", Admin: true}
	f.app = support.LivePeer{Kind: support.PeerApp, SessionID: f.id, Account: "acme", Technician: f.tech.ID}
	if err := f.svc.LiveConnected(ctx(), f.app, appConn); err != nil {
		t.Fatal(err)
	}
	f.pushes.take(appConn)
	return f
}

func console(tech support.Technician) support.LivePeer {
	return support.LivePeer{Kind: support.PeerConsole, Account: tech.Account, Technician: tech.ID, Admin: tech.Admin}
}

// connectConsole records a console tab's live connection, as its $connect does, so that
// it is pushed the session's changes.
func (f *remoteFixture) connectConsole(tech support.Technician, conn string) {
	f.t.Helper()
	if err := f.svc.LiveConnected(ctx(), console(tech), conn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *remoteFixture) start(tech support.Technician) support.RemoteStarted {
	f.t.Helper()
	r, err := f.svc.StartRemote(ctx(), tech, f.id)
	if err != nil {
		f.t.Fatalf("start remote as %s: %v", tech.ID, err)
	}
	return r
}

// remoteEvents lists the remote-access events of the session.
func (f *remoteFixture) remoteEvents() []events.Event {
	var out []events.Event
	for _, e := range f.bus.Events() {
		if e.Detail.SessionID == f.id && e.Detail.Remote != nil {
			out = append(out, e)
		}
	}
	return out
}

func (f *remoteFixture) lastAudit() session.AuditEntry {
	f.t.Helper()
	entries, err := f.store.Audit(ctx(), f.id)
	if err != nil || len(entries) == 0 {
		f.t.Fatalf("audit: %v", err)
	}
	return entries[len(entries)-1]
}

var offer = protocol.Signal{Kind: protocol.SignalOffer, SDP: "v=0\r\n"}
var answer = protocol.Signal{Kind: protocol.SignalAnswer, SDP: "v=0\r\n"}

// TestStartRemote: who may start a remote connection and when, what it records and
// whom it tells.
func TestStartRemote(t *testing.T) {
	t.Parallel()
	t.Run("started", func(t *testing.T) {
		t.Parallel()
		f := newRemoteFixture(t)
		f.connectConsole(f.tech, "console-1")
		r := f.start(f.tech)
		if !secrets.ValidRemoteID(r.RemoteID) || r.Technician != "Tina" {
			t.Errorf("started %+v", r)
		}
		if len(r.ICEServers) != 1 || len(r.ICEServers[0].URLs) != 2 || !strings.HasSuffix(r.ICEServers[0].Username, ":"+r.RemoteID) ||
			r.ICEServers[0].Credential == "" {
			t.Errorf("ICE servers %+v: want the local TURN server's, with credentials for the remote connection", r.ICEServers)
		}
		if left := time.Until(r.ExpiresAt); left > turn.CredentialLifetime || left < turn.CredentialLifetime-time.Minute {
			t.Errorf("the credentials expire in %v, want %v", left, turn.CredentialLifetime)
		}
		toApp := f.pushes.take(appConn)
		if len(toApp) != 1 || toApp[0]["type"] != protocol.TypeRemote || toApp[0]["remoteId"] != r.RemoteID || toApp[0]["technician"] != "Tina" {
			t.Errorf("pushed to the app %v, want one remote message", toApp)
		}
		toConsole := f.pushes.take("console-1")
		if len(toConsole) != 1 || toConsole[0]["type"] != protocol.TypeSession {
			t.Fatalf("pushed to the console %v, want the session", toConsole)
		}
		if rm, _ := toConsole[0]["remote"].(map[string]any); rm["remoteId"] != r.RemoteID || rm["state"] != "pending" || rm["technician"] != "Tina" {
			t.Errorf("the console sees the remote connection as %v", toConsole[0]["remote"])
		}
		v, err := f.svc.Get(ctx(), f.admin, f.id)
		if err != nil || v.Remote == nil || v.Remote.State != session.RemotePending {
			t.Errorf("an admin's view: %+v %v", v.Remote, err)
		}
		a := f.lastAudit()
		if a.Action != support.ActionRemoteStarted || a.Actor.ID != f.tech.ID || !strings.Contains(a.Detail, "remoteId="+r.RemoteID) {
			t.Errorf("audit %+v", a)
		}
		evs := f.remoteEvents()
		if len(evs) != 1 || evs[0].Type != events.RemoteAccessStarted || evs[0].Detail.Remote.RemoteID != r.RemoteID ||
			evs[0].Detail.Remote.Technician != f.tech.ID || !evs[0].Detail.Remote.StartedAt.Equal(t0) {
			t.Errorf("events %+v", evs)
		}
		for _, e := range evs {
			raw, _ := json.Marshal(e.Detail)
			if strings.Contains(string(raw), "@") || strings.Contains(string(raw), r.ICEServers[0].Credential) {
				t.Errorf("an event carries an address or a credential: %s", raw)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name string
			// prepare returns the technician who asks.
			prepare func(f *remoteFixture) support.Technician
			want    string
		}{
			{"another technician of the account", func(f *remoteFixture) support.Technician {
				return support.Technician{ID: "tech-2", Email: "tom@example.com", Account: "acme"}
			}, support.CodeNotFound},
			{"another account's admin", func(f *remoteFixture) support.Technician {
				return support.Technician{ID: "admin-9", Email: "x@example.com", Account: "other", Admin: true}
			}, support.CodeNotFound},
			{"an unknown session id", func(f *remoteFixture) support.Technician {
				f.id = secrets.NewSessionID()
				return f.tech
			}, support.CodeNotFound},
			{"the app holds no live connection", func(f *remoteFixture) support.Technician {
				if err := f.svc.LiveDisconnected(ctx(), f.app, appConn); err != nil {
					f.t.Fatal(err)
				}
				return f.tech
			}, support.CodePCOffline},
			{"the session has ended", func(f *remoteFixture) support.Technician {
				if _, err := f.svc.Cancel(ctx(), f.tech, f.id); err != nil {
					f.t.Fatal(err)
				}
				return f.tech
			}, support.CodeNotActive},
			{"time has ended the session", func(f *remoteFixture) support.Technician {
				f.clock.Advance(f.svc.Config.SessionTTL)
				return f.tech
			}, support.CodeNotActive},
			{"another technician's pending remote connection", func(f *remoteFixture) support.Technician {
				f.start(f.admin)
				return f.tech
			}, support.CodeRemoteBusy},
			{"another technician's connected remote connection, an hour on", func(f *remoteFixture) support.Technician {
				r := f.start(f.tech)
				if err := f.svc.Signal(ctx(), console(f.tech), "console-1", f.id, r.RemoteID, offer); err != nil {
					f.t.Fatal(err)
				}
				if err := f.svc.Signal(ctx(), f.app, appConn, "", r.RemoteID, answer); err != nil {
					f.t.Fatal(err)
				}
				f.clock.Advance(time.Hour)
				return f.admin
			}, support.CodeRemoteBusy},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				f := newRemoteFixture(t)
				tech := c.prepare(f)
				before := f.stored2()
				_, err := f.svc.StartRemote(ctx(), tech, f.id)
				if got := codeOf(err); got != c.want {
					t.Fatalf("answer %q, want %q", got, c.want)
				}
				if after := f.stored2(); after.Remote != nil && (before.Remote == nil || after.Remote.ID != before.Remote.ID) {
					t.Errorf("a refused start left a remote connection: %+v", after.Remote)
				}
			})
		}
	})

	t.Run("the same technician supersedes; an unanswered one ends after 30 s", func(t *testing.T) {
		t.Parallel()
		f := newRemoteFixture(t)
		first := f.start(f.tech)
		second := f.start(f.tech)
		if first.RemoteID == second.RemoteID {
			t.Fatal("the same remote id twice")
		}
		ss := f.stored(f.id)
		if ss.Remote.ID != second.RemoteID || len(ss.Unreported) != 2 {
			t.Fatalf("after superseding: current %+v, unreported %+v", ss.Remote, ss.Unreported)
		}
		if _, err := f.svc.StartRemote(ctx(), f.admin, f.id); codeOf(err) != support.CodeRemoteBusy {
			t.Fatalf("the admin while it is pending: %v", err)
		}
		f.clock.Advance(protocol.RemoteAnswerTimeout - time.Millisecond)
		if v, _ := f.svc.Get(ctx(), f.tech, f.id); v.Remote == nil {
			t.Fatal("the view lost the remote connection before its 30 s")
		}
		f.clock.Advance(time.Millisecond)
		if v, _ := f.svc.Get(ctx(), f.tech, f.id); v.Remote != nil {
			t.Errorf("the view still shows an unanswered remote connection after 30 s: %+v", v.Remote)
		}
		if err := f.svc.Signal(ctx(), console(f.tech), "console-1", f.id, second.RemoteID, offer); codeOf(err) != support.CodeNoRemote {
			t.Errorf("a signal after 30 s unanswered: %v, want no_remote", err)
		}
		third := f.start(f.admin)
		if ss := f.stored(f.id); ss.Remote.ID != third.RemoteID || ss.Remote.Technician != f.admin.ID {
			t.Errorf("the admin's start after the lapse: %+v", ss.Remote)
		}
	})

	t.Run("the app's connection turned out to be gone", func(t *testing.T) {
		t.Parallel()
		f := newRemoteFixture(t)
		f.pushes.setGone(appConn)
		if _, err := f.svc.StartRemote(ctx(), f.tech, f.id); codeOf(err) != support.CodePCOffline {
			t.Fatalf("answer %v, want pc_offline", err)
		}
		ss := f.stored(f.id)
		if ss.Remote != nil || len(ss.Unreported) != 0 || ss.LiveConnection != "" {
			t.Errorf("after the gone connection: remote %+v, unreported %+v, connection %q", ss.Remote, ss.Unreported, ss.LiveConnection)
		}
		if got := f.actions(f.id); !slices.Equal(got[len(got)-2:], []string{support.ActionRemoteStarted, support.ActionRemoteEnded}) {
			t.Errorf("audit %v", got)
		}
		if a := f.lastAudit(); !strings.Contains(a.Detail, "reason=failed") || a.Actor != session.ActorRemote {
			t.Errorf("the end's audit %+v", a)
		}
		if _, err := f.svc.StartRemote(ctx(), f.tech, f.id); codeOf(err) != support.CodePCOffline {
			t.Errorf("once more: %v, want pc_offline (no live connection any more)", err)
		}
	})
}

// stored2 is the session as stored, or the zero session when there is none (a test that
// asked about an unknown id).
func (f *remoteFixture) stored2() session.Session {
	ss, _ := f.store.GetSession(ctx(), f.id)
	return ss
}

// TestRacingStartsOneWins: two technicians press Connect on the same PC at once. Exactly
// one remote connection is started; the other is refused with remote_busy, never because
// it lost a race.
func TestRacingStartsOneWins(t *testing.T) {
	t.Parallel()
	t.Run("staged", func(t *testing.T) {
		t.Parallel()
		f := newRemoteFixture(t)
		var otherErr error
		var won support.RemoteStarted
		f.race.first(func(context.Context) { won, otherErr = f.other.StartRemote(ctx(), f.admin, f.id) })
		_, err := f.svc.StartRemote(ctx(), f.tech, f.id)
		if otherErr != nil {
			t.Fatalf("the admin's start: %v", otherErr)
		}
		if codeOf(err) != support.CodeRemoteBusy {
			t.Fatalf("the technician's start after losing the race: %v, want remote_busy", err)
		}
		if commits, conflicts := f.race.counts(); commits != 1 || conflicts != 1 {
			t.Errorf("%d commits, %d conflicts: want the one lost write, then a refusal on fresh data", commits, conflicts)
		}
		if ss := f.stored(f.id); ss.Remote.ID != won.RemoteID || len(ss.Unreported) != 1 {
			t.Errorf("stored %+v, %+v; want only the admin's", ss.Remote, ss.Unreported)
		}
		if got := f.actions(f.id); count(got, support.ActionRemoteStarted) != 1 {
			t.Errorf("audit %v: want one remote_started", got)
		}
		if n := len(f.pushes.take(appConn)); n != 1 {
			t.Errorf("the app was told of %d remote connections, want 1", n)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		t.Parallel()
		f := newRemoteFixture(t)
		techs := []support.Technician{f.tech, f.admin, {ID: "admin-2", Email: "al@example.com", Account: "acme", Admin: true}}
		errs := make([]error, len(techs))
		var wg sync.WaitGroup
		for i, tech := range techs {
			svc := f.svc
			if i%2 == 1 {
				svc = f.other
			}
			wg.Go(func() { _, errs[i] = svc.StartRemote(ctx(), tech, f.id) })
		}
		wg.Wait()
		var won, busy int
		for _, err := range errs {
			switch codeOf(err) {
			case "":
				won++
			case support.CodeRemoteBusy:
				busy++
			default:
				t.Errorf("a start answered %v", err)
			}
		}
		if won != 1 || busy != len(techs)-1 {
			t.Fatalf("%d started, %d busy; want exactly one started", won, busy)
		}
		if ss := f.stored(f.id); len(ss.Unreported) != 1 || ss.Remote == nil {
			t.Errorf("stored %+v, %+v", ss.Remote, ss.Unreported)
		}
	})
}

// TestSignalsAreRelayedBetweenTheTwoEndsOnly: the console tab of the technician who
// started the remote connection and the session's app reach each other; nobody else
// reaches either, and every refusal reads the same.
func TestSignalsAreRelayedBetweenTheTwoEndsOnly(t *testing.T) {
	t.Parallel()
	f := newRemoteFixture(t)
	r := f.start(f.tech)
	f.pushes.take(appConn)
	tina := console(f.tech)

	// Before the console's first signal, the app has nobody to talk to.
	if err := f.svc.Signal(ctx(), f.app, appConn, "", r.RemoteID, answer); codeOf(err) != support.CodeNoRemote {
		t.Fatalf("the app's answer before any offer: %v", err)
	}
	if err := f.svc.Signal(ctx(), tina, "tab-1", f.id, r.RemoteID, offer); err != nil {
		t.Fatal(err)
	}
	toApp := f.pushes.take(appConn)
	if len(toApp) != 1 || toApp[0]["type"] != protocol.TypeSignal || toApp[0]["remoteId"] != r.RemoteID || toApp[0]["sessionId"] != nil {
		t.Fatalf("relayed to the app %v", toApp)
	}
	if sig, _ := toApp[0]["signal"].(map[string]any); sig["kind"] != "offer" || sig["sdp"] != "v=0\r\n" {
		t.Errorf("the offer arrived as %v", toApp[0]["signal"])
	}
	if ss := f.stored(f.id); ss.Remote.Console != "tab-1" || ss.Remote.State() != session.RemotePending {
		t.Errorf("after the first signal: %+v", ss.Remote)
	}

	other := f.tech
	other.ID = "tech-2"
	stranger := support.Technician{ID: f.tech.ID, Account: "other"}
	ended, endedID := f.endedSessionWithRemote()
	refusals := []struct {
		name                 string
		peer                 support.LivePeer
		conn, sess, remoteID string
		sig                  protocol.Signal
	}{
		{"another technician of the account", console(other), "tab-9", f.id, r.RemoteID, offer},
		{"an admin of the account", console(f.admin), "tab-9", f.id, r.RemoteID, offer},
		{"the same technician id in another account", console(stranger), "tab-9", f.id, r.RemoteID, offer},
		{"a wrong remote id", tina, "tab-1", f.id, secrets.NewRemoteID(), offer},
		{"a remote id of the wrong form", tina, "tab-1", f.id, "r-1", offer},
		{"a session id of the wrong form", tina, "tab-1", "nope", r.RemoteID, offer},
		{"another session's id", tina, "tab-1", secrets.NewSessionID(), r.RemoteID, offer},
		{"a second console tab of the technician", tina, "tab-2", f.id, r.RemoteID, offer},
		{"an ended session", tina, "tab-1", ended, endedID, offer},
		{"the app with a wrong remote id", f.app, appConn, "", secrets.NewRemoteID(), answer},
		{"the app naming another session", f.app, appConn, ended, r.RemoteID, answer},
		{"the app of the ended session", support.LivePeer{Kind: support.PeerApp, SessionID: ended, Account: "acme"}, "app-9", "", endedID, answer},
	}
	var detail string
	for _, c := range refusals {
		err := f.svc.Signal(ctx(), c.peer, c.conn, c.sess, c.remoteID, c.sig)
		e, ok := support.AsError(err)
		if !ok || e.Code != support.CodeNoRemote {
			t.Errorf("%s: %v, want no_remote", c.name, err)
			continue
		}
		if detail == "" {
			detail = e.Detail
		}
		if e.Detail != detail {
			t.Errorf("%s: %q, want the same refusal as the others (%q)", c.name, e.Detail, detail)
		}
	}
	malformed := []struct {
		name string
		peer support.LivePeer
		sess string
		sig  protocol.Signal
	}{
		{"the console answers", tina, f.id, answer},
		{"the app offers", f.app, "", offer},
		{"an offer without SDP", tina, f.id, protocol.Signal{Kind: protocol.SignalOffer}},
		{"an unknown kind", tina, f.id, protocol.Signal{Kind: "hello"}},
		{"a bye with an unknown reason", f.app, "", protocol.Signal{Kind: protocol.SignalBye, Reason: "bored"}},
		{"a console's signal without its session", tina, "", offer},
	}
	for _, c := range malformed {
		if err := f.svc.Signal(ctx(), c.peer, "tab-1", c.sess, r.RemoteID, c.sig); codeOf(err) != support.CodeInvalidRequest {
			t.Errorf("%s: %v, want invalid_request", c.name, err)
		}
	}
	for _, id := range []string{appConn, "tab-1", "tab-2", "tab-9", "app-9"} {
		if got := f.pushes.take(id); len(got) != 0 {
			t.Errorf("refused signals reached %s: %v", id, got)
		}
	}

	// The app answers: relayed to the bound tab, with the session's id, and the remote
	// connection counts as connected.
	f.connectConsole(f.tech, "tab-1")
	if err := f.svc.Signal(ctx(), f.app, appConn, "", r.RemoteID, answer); err != nil {
		t.Fatal(err)
	}
	toTab := f.pushes.take("tab-1")
	var relayed, pushed bool
	for _, m := range toTab {
		switch m["type"] {
		case protocol.TypeSignal:
			relayed = m["sessionId"] == f.id && m["remoteId"] == r.RemoteID
		case protocol.TypeSession:
			rm, _ := m["remote"].(map[string]any)
			pushed = rm["state"] == "connected"
		}
	}
	if !relayed || !pushed {
		t.Errorf("the tab was pushed %v, want the answer and the session with its remote connection connected", toTab)
	}
	if ss := f.stored(f.id); ss.Remote.State() != session.RemoteConnected || !ss.Remote.ConnectedAt.Equal(t0) {
		t.Errorf("after the answer: %+v", ss.Remote)
	}
	mid := "0"
	candidate := protocol.Signal{Kind: protocol.SignalCandidate, Candidate: &protocol.ICECandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: &mid}}
	for _, c := range []struct {
		peer       support.LivePeer
		conn, sess string
		sig        protocol.Signal
		to         string
	}{
		{tina, "tab-1", f.id, candidate, appConn},
		{f.app, appConn, "", candidate, "tab-1"},
		{f.app, "app-2", f.id, protocol.Signal{Kind: protocol.SignalCandidate}, "tab-1"}, // a renewed connection of the app, naming its own session
		{tina, "tab-1", f.id, protocol.Signal{Kind: protocol.SignalBye, Reason: protocol.RemoteDisconnectedByTechnician}, appConn},
	} {
		if err := f.svc.Signal(ctx(), c.peer, c.conn, c.sess, r.RemoteID, c.sig); err != nil {
			t.Fatalf("%s %s: %v", c.peer.Kind, c.sig.Kind, err)
		}
		if got := f.pushes.take(c.to); len(got) != 1 || got[0]["type"] != protocol.TypeSignal {
			t.Errorf("%s's %s reached %s as %v", c.peer.Kind, c.sig.Kind, c.to, got)
		}
	}
	// A console tab that is gone: the app hears no_remote.
	f.pushes.setGone("tab-1")
	if err := f.svc.Signal(ctx(), f.app, appConn, "", r.RemoteID, candidate); codeOf(err) != support.CodeNoRemote {
		t.Errorf("a signal to a gone tab: %v", err)
	}
}

// endedSessionWithRemote makes a second active session of the account (another
// technician's) with a remote connection bound to "tab-1" of f.tech's console, and ends it.
func (f *remoteFixture) endedSessionWithRemote() (id, remoteID string) {
	f.t.Helper()
	tom := support.Technician{ID: f.tech.ID + "-x", Email: "tom@example.com", Account: "acme"}
	inv := f.invite(tom, "other@example.org")
	f.activate(inv, nonceB)
	app := support.LivePeer{Kind: support.PeerApp, SessionID: inv.id, Account: "acme", Technician: tom.ID}
	if err := f.svc.LiveConnected(ctx(), app, "app-9"); err != nil {
		f.t.Fatal(err)
	}
	r, err := f.svc.StartRemote(ctx(), tom, inv.id)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.svc.Signal(ctx(), console(tom), "tab-1", inv.id, r.RemoteID, offer); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.Cancel(ctx(), tom, inv.id); err != nil {
		f.t.Fatal(err)
	}
	if ss := f.stored(inv.id); ss.Remote != nil {
		f.t.Fatalf("the session's end left its remote connection: %+v", ss.Remote)
	}
	f.pushes.take("app-9")
	f.pushes.take(appConn)
	return inv.id, r.RemoteID
}

// TestTwoTabsRaceForTheFirstSignal: two console tabs of the technician send the first
// signal of the same remote connection at once; exactly one is bound, the other is
// refused from then on.
func TestTwoTabsRaceForTheFirstSignal(t *testing.T) {
	t.Parallel()
	f := newRemoteFixture(t)
	r := f.start(f.tech)
	var staged error
	f.race.first(func(context.Context) {
		staged = f.other.Signal(ctx(), console(f.tech), "tab-b", f.id, r.RemoteID, offer)
	})
	err := f.svc.Signal(ctx(), console(f.tech), "tab-a", f.id, r.RemoteID, offer)
	if staged != nil || codeOf(err) != support.CodeNoRemote {
		t.Fatalf("tab-b (first): %v; tab-a (lost the race): %v, want no_remote", staged, err)
	}
	if ss := f.stored(f.id); ss.Remote.Console != "tab-b" {
		t.Fatalf("bound to %q, want tab-b", ss.Remote.Console)
	}

	// Unstaged, many at once.
	r = f.start(f.tech)
	tabs := []string{"t1", "t2", "t3", "t4"}
	errs := make([]error, len(tabs))
	var wg sync.WaitGroup
	for i, tab := range tabs {
		svc := f.svc
		if i%2 == 1 {
			svc = f.other
		}
		wg.Go(func() { errs[i] = svc.Signal(ctx(), console(f.tech), tab, f.id, r.RemoteID, offer) })
	}
	wg.Wait()
	bound := f.stored(f.id).Remote.Console
	for i, err := range errs {
		switch {
		case tabs[i] == bound && err != nil:
			t.Errorf("the bound tab %s was refused: %v", bound, err)
		case tabs[i] != bound && codeOf(err) != support.CodeNoRemote:
			t.Errorf("tab %s (not bound; %s is): %v", tabs[i], bound, err)
		}
	}
	if !slices.Contains(tabs, bound) {
		t.Fatalf("bound to %q", bound)
	}
}

// TestRemoteEnded: the app's report becomes the audit entry remote_ended with its figures
// and the event RemoteAccessEnded, once; it frees the PC for the next technician, and it
// is taken after the session's end too.
func TestRemoteEnded(t *testing.T) {
	t.Parallel()
	f := newRemoteFixture(t)
	r := f.start(f.tech)
	report := support.RemoteReport{RemoteID: r.RemoteID, Reason: protocol.RemoteDisconnectedByTechnician,
		Channels: []string{protocol.ChannelTerminal, protocol.ChannelFiles}, Duration: 12345 * time.Millisecond, BytesToPC: 1, BytesFromPC: 2}

	bad := []struct {
		name   string
		token  string
		change func(*support.RemoteReport)
		want   string
	}{
		{"no token", "", nil, support.CodeInvalidToken},
		{"another session's token", f.id + "." + strings.Repeat("A", 43), nil, support.CodeInvalidToken},
		{"an unknown reason", f.agent, func(r *support.RemoteReport) { r.Reason = "bored" }, support.CodeInvalidRequest},
		{"a malformed remote id", f.agent, func(r *support.RemoteReport) { r.RemoteID = "r-1" }, support.CodeInvalidRequest},
		{"a channel label with a space", f.agent, func(r *support.RemoteReport) { r.Channels = []string{"a b"} }, support.CodeInvalidRequest},
		{"a negative figure", f.agent, func(r *support.RemoteReport) { r.BytesToPC = -1 }, support.CodeInvalidRequest},
	}
	for _, c := range bad {
		rep := report
		if c.change != nil {
			c.change(&rep)
		}
		if err := f.svc.RemoteEnded(ctx(), c.token, rep); codeOf(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if got := f.actions(f.id); count(got, support.ActionRemoteEnded) != 0 {
		t.Fatalf("refused reports were audited: %v", got)
	}

	f.clock.Advance(20 * time.Second)
	if err := f.svc.RemoteEnded(ctx(), f.agent, report); err != nil {
		t.Fatal(err)
	}
	a := f.lastAudit()
	want := "remoteId=" + r.RemoteID + " technician=tech-1 reason=disconnected_by_technician channels=terminal,files durationMs=12345 bytesToPc=1 bytesFromPc=2"
	if a.Action != support.ActionRemoteEnded || a.Detail != want || a.Actor.Kind != "app" {
		t.Errorf("audit %+v\nwant the detail %s", a, want)
	}
	evs := f.remoteEvents()
	if len(evs) != 2 || evs[1].Type != events.RemoteAccessEnded {
		t.Fatalf("events %+v", evs)
	}
	if d := evs[1].Detail.Remote; d.RemoteID != r.RemoteID || d.Reason != report.Reason || d.DurationMs != 12345 || d.BytesFromPC != 2 ||
		!d.StartedAt.Equal(t0) || d.EndedAt == nil || !d.EndedAt.Equal(t0.Add(20*time.Second)) || !slices.Equal(d.Channels, report.Channels) {
		t.Errorf("the end's detail %+v", d)
	}
	if ss := f.stored(f.id); ss.Remote != nil || len(ss.Unreported) != 0 {
		t.Errorf("after the report: %+v %+v", ss.Remote, ss.Unreported)
	}
	// Repeated, and a remote id never started: nothing more.
	for _, id := range []string{r.RemoteID, secrets.NewRemoteID()} {
		rep := report
		rep.RemoteID = id
		if err := f.svc.RemoteEnded(ctx(), f.agent, rep); err != nil {
			t.Errorf("report of %s: %v", id, err)
		}
	}
	if got := f.actions(f.id); count(got, support.ActionRemoteEnded) != 1 {
		t.Errorf("audit %v: want one remote_ended", got)
	}
	// The PC is free: the admin connects at once.
	next := f.start(f.admin)

	// The session's end ends the remote connection; the app's report after it is taken.
	if _, err := f.svc.Cancel(ctx(), f.tech, f.id); err != nil {
		t.Fatal(err)
	}
	if ss := f.stored(f.id); ss.Remote != nil || len(ss.Unreported) != 1 {
		t.Fatalf("after the session's end: %+v %+v", ss.Remote, ss.Unreported)
	}
	if err := f.svc.RemoteEnded(ctx(), f.agent, support.RemoteReport{RemoteID: next.RemoteID, Reason: protocol.RemoteSessionEnded}); err != nil {
		t.Fatal(err)
	}
	if a := f.lastAudit(); a.Action != support.ActionRemoteEnded || a.To != session.Ended ||
		!strings.Contains(a.Detail, "technician=admin-1 reason=session_ended channels=none durationMs=0") {
		t.Errorf("the report after the session's end: %+v", a)
	}
}
