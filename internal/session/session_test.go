package session

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

func TestTransitions(t *testing.T) {
	allowed := map[[2]State]bool{}
	for from, tos := range transitions {
		for _, to := range tos {
			allowed[[2]State{from, to}] = true
		}
	}
	for _, from := range AllStates {
		for _, to := range AllStates {
			got := CanMove(from, to)
			if got != allowed[[2]State{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
			if from.Terminal() && from != Expired && from != Ended && got {
				t.Errorf("terminal state %s may move to %s", from, to)
			}
		}
	}
	// The paths of DESIGN.md's diagram.
	for _, path := range [][]State{
		{Invited, AppStarted, Active, Expired, Removed},
		{Invited, Active, Ended, Removed},
		{Invited, Cancelled}, {AppStarted, Cancelled}, {Invited, InviteExpired}, {AppStarted, Locked},
	} {
		for i := 0; i+1 < len(path); i++ {
			if !CanMove(path[i], path[i+1]) {
				t.Errorf("%s → %s must be allowed", path[i], path[i+1])
			}
		}
	}
	for _, s := range []State{Cancelled, InviteExpired, Locked, Expired, Ended, Removed} {
		if !s.Terminal() {
			t.Errorf("%s must be terminal", s)
		}
	}
	for _, s := range []State{Invited, AppStarted, Active} {
		if s.Terminal() {
			t.Errorf("%s must not be terminal", s)
		}
	}
}

func TestMove(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := Session{ID: "s", Status: Active, SealedPassword: []byte("x"), SealedAgentToken: []byte("y"), CodeMAC: []byte("z")}
	if err := s.Move(Invited, "", now); err == nil {
		t.Fatal("active → invited must be refused")
	}
	if err := s.Move(Ended, ReasonEndedByUser, now); err != nil {
		t.Fatal(err)
	}
	if s.EndedAt != now || s.EndReason != ReasonEndedByUser || s.SealedPassword != nil || s.SealedAgentToken != nil || s.CodeMAC != nil {
		t.Fatalf("after ending: %+v", s)
	}
	if err := s.Move(Removed, "", now.Add(time.Minute)); err != nil || s.RemovedAt != now.Add(time.Minute) || s.EndReason != ReasonEndedByUser {
		t.Fatalf("removal: %v %+v", err, s)
	}
}

func TestEffectiveAtTheBoundary(t *testing.T) {
	act := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := Session{Status: Active, ActivatedAt: act, ExpiresAt: act.Add(24 * time.Hour)}
	cases := []struct {
		at   time.Time
		want State
	}{
		{act, Active},
		{act.Add(24*time.Hour - time.Second), Active},
		{act.Add(24*time.Hour - time.Nanosecond), Active},
		{act.Add(24 * time.Hour), Expired},
		{act.Add(48 * time.Hour), Expired},
	}
	for _, c := range cases {
		if got := s.Effective(c.at); got != c.want {
			t.Errorf("Effective(%s) = %s, want %s", c.at.Sub(act), got, c.want)
		}
	}
	inv := Session{Status: AppStarted, InviteExpiresAt: act}
	if inv.Effective(act.Add(-time.Second)) != AppStarted || inv.Effective(act) != InviteExpired {
		t.Fatal("an invitation expires exactly at its invite expiry")
	}
	ended := Session{Status: Ended, ExpiresAt: act}
	if ended.Effective(act.Add(time.Hour)) != Ended {
		t.Fatal("a terminal state stays what it is")
	}
	if s.DueAt() != s.ExpiresAt || inv.DueAt() != act || !ended.DueAt().IsZero() {
		t.Fatal("DueAt: active → expiresAt, pending → invite expiry, terminal → none")
	}
}

func TestPasswordPolicy(t *testing.T) {
	cases := []struct {
		password string
		ok       bool
	}{
		{"Corr3ct-Horse-Battery", true},
		{"abcdefGHIJKL1", true},             // three classes, 13 chars
		{"abcdefghij1!", true},              // lower, digit, symbol
		{"Abcdefghij1", false},              // 11 chars
		{"abcdefghijkl1", false},            // two classes
		{"ABCDEFGHIJKL!", false},            // two classes
		{"xxadhocremoteuser1A", false},      // contains the user name, any case
		{"Pässwörter-Sind-1", true},         // non-ASCII letters count as letters
		{"Tab\there-Pass1", false},          // control character
		{strings.Repeat("Aa1!", 32), false}, // 128 chars: more than Windows takes
		{"", false},
	}
	for _, c := range cases {
		problem := PasswordProblem(c.password, DefaultUsername)
		if (problem == "") != c.ok {
			t.Errorf("PasswordProblem(%q) = %q, want ok=%v", c.password, problem, c.ok)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"user@example.org", "user@example.org", true},
		{"  user@example.org ", "user@example.org", true},
		{"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk", true},
		{"Anna.Berg@Example.ORG", "Anna.Berg@example.org", true}, // the domain only
		{"User <user@example.org>", "", false},
		{"user@example.org\r\nBcc: x@example.org", "", false},
		{"a@example.org, b@example.org", "", false},
		{"user@localhost", "", false},
		{"user@example.", "", false},
		{"@example.org", "", false},
		{"user", "", false},
		{"", "", false},
		{strings.Repeat("a", 250) + "@example.org", "", false},
	}
	for _, c := range cases {
		got, err := NormalizeEmail(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestNormalizeLocale(t *testing.T) {
	for in, want := range map[string]string{"": "en", "en": "en", "EN-gb": "en", "de": "de", "de-AT": "de"} {
		if got, err := NormalizeLocale(in); err != nil || got != want {
			t.Errorf("NormalizeLocale(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"fr", "english", "de\r\nX: y", "en-GB\r\nBcc: x@example.org", "en-" + strings.Repeat("x", 20), "en_GB", "de-"} {
		if _, err := NormalizeLocale(in); err == nil {
			t.Errorf("NormalizeLocale(%q) must fail", in)
		}
	}
}

func TestSecurityCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c, err := NewSecurityCode()
		if err != nil || len(c) != 9 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("NewSecurityCode() = %q, %v", c, err)
		}
		seen[c] = true
	}
	if len(seen) < 195 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
	if FormatCode("123456789") != "123-456-789" {
		t.Fatal(FormatCode("123456789"))
	}
	for in, want := range map[string]string{
		"123-456-789": "123456789", "123 456 789": "123456789", "123456789": "123456789",
		" 123-456 789 ": "123456789", "1-2-3-4-5-6-7-8-9": "123456789",
	} {
		if got, err := ParseCode(in); err != nil || got != want {
			t.Errorf("ParseCode(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "12345678", "1234567890", "123-456-78a", "１２３４５６７８９", "123_456_789"} {
		if _, err := ParseCode(in); err == nil {
			t.Errorf("ParseCode(%q) must fail", in)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123-456-789", "123 456 789", "", "abc", "1234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		digits, err := ParseCode(in)
		if err != nil {
			return
		}
		if len(digits) != 9 || strings.Trim(digits, "0123456789") != "" {
			t.Fatalf("ParseCode(%q) = %q", in, digits)
		}
		if again, err := ParseCode(FormatCode(digits)); err != nil || again != digits {
			t.Fatalf("round trip of %q: %q %v", digits, again, err)
		}
	})
}

func TestCheckReservation(t *testing.T) {
	tests := []struct {
		name                     string
		busy                     bool
		used, slots, inUse, capN int
		want                     error
	}{
		{"free slot, under the cap", false, 0, 5, 0, 5, nil},
		{"last slot", false, 4, 5, 4, 5, nil},
		{"technician has an open session", true, 0, 5, 0, 5, ErrTechnicianBusy},
		{"technician busy beats a full account", true, 5, 5, 5, 5, ErrTechnicianBusy},
		{"all slots used", false, 5, 5, 1, 10, ErrNoFreeSlot},
		{"slots lowered below use", false, 3, 2, 0, 5, ErrNoFreeSlot},
		{"cap reached with slots free", false, 2, 5, 2, 2, ErrCapReached},
		{"both: the slots are reported", false, 5, 5, 5, 5, ErrNoFreeSlot},
		{"no slots at all", false, 0, 0, 0, 5, ErrNoFreeSlot},
		{"cap zero", false, 0, 5, 0, 0, ErrCapReached},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckReservation(tt.busy, tt.used, tt.slots, tt.inUse, tt.capN); got != tt.want {
				t.Errorf("CheckReservation = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidUsername(t *testing.T) {
	for name, want := range map[string]bool{
		DefaultUsername: true, "Support-1": true, "a": true, "Überprüfung": true, strings.Repeat("x", 20): true,
		"": false, strings.Repeat("x", 21): false, "name.": false, " name": false, "name ": false,
		"a/b": false, `a\b`: false, "a@b": false, "a:b": false, "a*b": false, `a"b`: false, "a\x01b": false,
	} {
		if got := ValidUsername(name); got != want {
			t.Errorf("ValidUsername(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCurrentRemote(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	active := func() Session {
		return Session{ID: "s", Status: Active, ActivatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	}
	pending := Remote{ID: "r-1", Technician: "tech-1", StartedAt: t0, PendingUntil: t0.Add(protocol.RemoteAnswerTimeout)}
	connected := pending
	connected.ConnectedAt = t0.Add(time.Second)
	tests := []struct {
		name   string
		status State
		remote *Remote
		at     time.Time
		want   RemoteState // "" = none counts
	}{
		{"none", Active, nil, t0, ""},
		{"pending", Active, &pending, t0.Add(protocol.RemoteAnswerTimeout - time.Nanosecond), RemotePending},
		{"pending, unanswered for 30 s", Active, &pending, t0.Add(protocol.RemoteAnswerTimeout), ""},
		{"connected long after", Active, &connected, t0.Add(time.Hour), RemoteConnected},
		{"connected, session over by time", Active, &connected, t0.Add(25 * time.Hour), ""},
		{"connected, session ended", Ended, &connected, t0.Add(time.Minute), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := active()
			s.Status, s.Remote = tt.status, tt.remote
			got := s.CurrentRemote(tt.at)
			switch {
			case tt.want == "" && got != nil:
				t.Errorf("counts %+v, want none", got)
			case tt.want != "" && (got == nil || got.State() != tt.want):
				t.Errorf("got %+v, want one %s", got, tt.want)
			}
		})
	}
}

func TestRemoteStartsAndReports(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	s := Session{ID: "s", Status: Active, ActivatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	for i := range MaxUnreported + 2 {
		copied := s
		s.StartRemote(Remote{ID: fmt.Sprintf("r-%d", i), Technician: "tech-1", StartedAt: t0.Add(time.Duration(i) * time.Second)})
		if len(copied.Unreported) == len(s.Unreported) && len(s.Unreported) < MaxUnreported {
			t.Fatal("StartRemote changed nothing")
		}
		if copied.Remote != nil && copied.Remote.ID == s.Remote.ID {
			t.Fatal("StartRemote changed the copy's remote connection")
		}
	}
	if len(s.Unreported) != MaxUnreported || s.Unreported[0].ID != "r-2" || s.Remote.ID != fmt.Sprintf("r-%d", MaxUnreported+1) {
		t.Fatalf("after %d starts: unreported %+v, current %+v", MaxUnreported+2, s.Unreported, s.Remote)
	}
	if _, ok := s.TakeReport("r-0"); ok {
		t.Error("the report of a start dropped for the bound was taken")
	}
	before := s
	start, ok := s.TakeReport("r-3")
	if !ok || start.ID != "r-3" || !start.StartedAt.Equal(t0.Add(3*time.Second)) || s.Remote == nil {
		t.Fatalf("take r-3: %+v %v, current %+v", start, ok, s.Remote)
	}
	if len(before.Unreported) != MaxUnreported || before.Unreported[1].ID != "r-3" {
		t.Error("TakeReport changed the copy's list")
	}
	if _, ok := s.TakeReport("r-3"); ok {
		t.Error("a second report of r-3 was taken")
	}
	current := s.Remote.ID
	if _, ok := s.TakeReport(current); !ok || s.Remote != nil {
		t.Errorf("the report of the current remote connection: taken %v, current now %+v", ok, s.Remote)
	}
	s.StartRemote(Remote{ID: "r-x", Technician: "tech-2", StartedAt: t0})
	if err := s.Move(Ended, ReasonEndedByTechnician, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s.Remote != nil {
		t.Error("the session's end left its remote connection")
	}
	if _, ok := s.TakeReport("r-x"); !ok {
		t.Error("the end of a remote connection the session's end ended cannot be reported")
	}
}
