package views_test

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/apidoc"
	"github.com/adhoc-support/adhoc-support/internal/views"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// infos are sessions at the points of their life where the view changes shape.
var infos = []struct {
	name string
	info support.SessionInfo
	// absent are members the view must leave out; present must be there.
	absent, present []string
}{
	{
		name: "invited",
		info: support.SessionInfo{ID: secrets.NewSessionID(), Status: session.Invited, TechnicianEmail: "tina@example.com",
			UserEmail: "user@example.org", Locale: "en", Username: session.DefaultUsername,
			CreatedAt: t0, InviteExpiresAt: t0.Add(24 * time.Hour), AttemptsLeft: 5},
		absent:  []string{"activatedAt", "expiresAt", "endedAt", "endReason", "computer", "technicianName"},
		present: []string{"attemptsLeft", "inviteExpiresAt", "email", "technician"},
	},
	{
		name: "active and online",
		info: support.SessionInfo{ID: secrets.NewSessionID(), Status: session.Active, TechnicianEmail: "tina@example.com", TechnicianName: "Tina",
			UserEmail: "user@example.org", Locale: "de", Username: session.DefaultUsername,
			CreatedAt: t0, InviteExpiresAt: t0.Add(24 * time.Hour), ActivatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(24*time.Hour + time.Minute),
			AttemptsLeft: 4, Computer: &support.ComputerInfo{Hostname: "PC-1", OSVersion: "Windows 11", AgentVersion: "1.2.3", Online: true, LastSeenAt: t0.Add(2 * time.Minute)}},
		absent:  []string{"endedAt", "endReason", "remote"},
		present: []string{"activatedAt", "expiresAt", "computer", "technicianName"},
	},
	{
		name: "active, a technician connected",
		info: support.SessionInfo{ID: secrets.NewSessionID(), Status: session.Active, TechnicianEmail: "tina@example.com",
			UserEmail: "user@example.org", Locale: "en", Username: session.DefaultUsername,
			CreatedAt: t0, InviteExpiresAt: t0.Add(24 * time.Hour), ActivatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(24*time.Hour + time.Minute),
			Computer: &support.ComputerInfo{Hostname: "PC-1", OSVersion: "Windows 11", Online: true},
			Remote:   &support.RemoteInfo{ID: secrets.NewRemoteID(), Technician: "Tina Example", State: session.RemoteConnected}},
		absent:  []string{"endedAt"},
		present: []string{"remote", "computer"},
	},
	{
		name: "expired by time, app never seen",
		info: support.SessionInfo{ID: secrets.NewSessionID(), Status: session.InviteExpired, TechnicianEmail: "tina@example.com",
			UserEmail: "user@example.org", Locale: "en", Username: session.DefaultUsername,
			CreatedAt: t0, InviteExpiresAt: t0.Add(time.Hour), EndReason: session.ReasonInviteExpired,
			Computer: &support.ComputerInfo{Hostname: "PC-1", OSVersion: "Windows 10"}},
		absent:  []string{"activatedAt", "expiresAt", "endedAt"},
		present: []string{"endReason", "computer"},
	},
}

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return m
}

// TestSessionMessageIsTheSessionView: a console is pushed exactly what GET
// /v1/sessions/{id} answers, with the message's type, and the message is what
// api/asyncapi.yaml describes.
func TestSessionMessageIsTheSessionView(t *testing.T) {
	live, err := apidoc.LoadLive()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range infos {
		t.Run(c.name, func(t *testing.T) {
			raw, err := views.Presenter{}.SessionMessage(c.info)
			if err != nil {
				t.Fatal(err)
			}
			if err := live.ValidateServerMessage(raw); err != nil {
				t.Errorf("%s: %v", raw, err)
			}
			view, err := json.Marshal(views.Session(c.info))
			if err != nil {
				t.Fatal(err)
			}
			want := decode(t, view)
			want["type"] = protocol.TypeSession
			if got := decode(t, raw); !maps.EqualFunc(got, want, func(a, b any) bool { return jsonEqual(t, a, b) }) {
				t.Errorf("pushed %s\nwant the view %s with its type", raw, view)
			}
			for _, k := range c.absent {
				if _, ok := want[k]; ok {
					t.Errorf("the view has %q: %s", k, view)
				}
			}
			for _, k := range c.present {
				if _, ok := want[k]; !ok {
					t.Errorf("the view lacks %q: %s", k, view)
				}
			}
			if want["status"] != string(c.info.Status) || want["id"] != c.info.ID {
				t.Errorf("the view says %v/%v, want %s/%s", want["id"], want["status"], c.info.ID, c.info.Status)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return string(x) == string(y)
}

// TestStatusMessage: the app is pushed what a poll would answer, in the document's form.
func TestStatusMessage(t *testing.T) {
	live, err := apidoc.LoadLive()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []session.State{session.Active, session.Expired, session.Ended} {
		raw, err := views.Presenter{}.StatusMessage(st, t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := live.ValidateServerMessage(raw); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
		var m protocol.LiveStatus
		if err := json.Unmarshal(raw, &m); err != nil || m.Type != protocol.TypeStatus || m.Status != string(st) || !m.ExpiresAt.Equal(t0) {
			t.Errorf("%s: %+v (%v), want status %s at %v", st, m, err, st, t0)
		}
	}
}

// TestAgentStatusNamesTheProtocolsStatuses: the app's protocol has its own constants for
// the states it is told; they must stay the states' names.
func TestAgentStatusNamesTheProtocolsStatuses(t *testing.T) {
	for st, want := range map[session.State]string{
		session.Invited: protocol.StatusInvited, session.AppStarted: protocol.StatusAppStarted,
		session.Active: protocol.StatusActive, session.Expired: protocol.StatusExpired, session.Ended: protocol.StatusEnded,
	} {
		if got := views.AgentStatus(st); got != want || got != string(st) {
			t.Errorf("AgentStatus(%s) = %q, want %q", st, got, want)
		}
	}
}

// TestComputerEntry: secondsLeft counts whole seconds down, and a PC never seen has no
// lastSeenAt.
func TestComputerEntry(t *testing.T) {
	got := views.Computers([]support.Computer{
		{SessionID: "s1", Hostname: "PC-1", Left: 90*time.Second + 900*time.Millisecond, LastSeenAt: t0},
		{SessionID: "s2", Hostname: "PC-2", Left: 0},
	})
	if len(got) != 2 || got[0].SecondsLeft != 90 || got[1].SecondsLeft != 0 {
		t.Fatalf("entries %+v, want 90 and 0 seconds left", got)
	}
	if got[0].LastSeenAt == nil || !got[0].LastSeenAt.Equal(t0) || got[1].LastSeenAt != nil {
		t.Errorf("lastSeenAt %v / %v, want %v / none", got[0].LastSeenAt, got[1].LastSeenAt, t0)
	}
	if a := views.Account(support.Account{ID: "acme", Limits: support.Limits{Slots: 2, AdhocCap: 5}, Used: 3}); a.Free != 0 || a.Account != "acme" {
		t.Errorf("account view %+v, want none free (more used than licensed never shows negative)", a)
	}
}

// TestRemoteMessages: the app's remote message and the signals both ways are what
// api/asyncapi.yaml and remote-protocol describe, and the signal reaches a console with
// the session's id and the app without.
func TestRemoteMessages(t *testing.T) {
	live, err := apidoc.LoadLive()
	if err != nil {
		t.Fatal(err)
	}
	servers := []protocol.ICEServer{{URLs: []string{"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"}, Username: "1700000000:r-x", Credential: "c2VjcmV0"}}
	remoteID, sessionID := secrets.NewRemoteID(), secrets.NewSessionID()
	raw, err := views.Presenter{}.RemoteMessage(support.RemoteStarted{RemoteID: remoteID, ICEServers: servers, ExpiresAt: t0, Technician: "Tina Example"})
	if err != nil {
		t.Fatal(err)
	}
	if err := live.ValidateServerMessage(raw); err != nil {
		t.Errorf("%s: %v", raw, err)
	}
	var m protocol.LiveRemote
	if err := json.Unmarshal(raw, &m); err != nil || m.Type != protocol.TypeRemote || m.RemoteID != remoteID || m.Technician != "Tina Example" ||
		len(m.ICEServers) != 1 || m.ICEServers[0].Credential != "c2VjcmV0" || !m.ExpiresAt.Equal(t0) {
		t.Errorf("remote message %s (%v)", raw, err)
	}
	mid := "0"
	for _, sig := range []protocol.Signal{{Kind: protocol.SignalOffer, SDP: "v=0\r\n"}, {Kind: protocol.SignalCandidate},
		{Kind: protocol.SignalCandidate, Candidate: &protocol.ICECandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SDPMid: &mid}},
		{Kind: protocol.SignalBye, Reason: protocol.RemoteSessionEnded}} {
		for _, to := range []string{"", sessionID} {
			raw, err := views.Presenter{}.SignalMessage(to, remoteID, sig)
			if err != nil {
				t.Fatal(err)
			}
			if err := live.ValidateServerMessage(raw); err != nil {
				t.Errorf("%s: %v", raw, err)
			}
			got := decode(t, raw)
			if _, has := got["sessionId"]; has != (to != "") || got["remoteId"] != remoteID || got["type"] != protocol.TypeSignal {
				t.Errorf("signal to %q: %s", to, raw)
			}
		}
	}
}
