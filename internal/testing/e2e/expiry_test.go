package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/expiryapi"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// activeSession invites, pairs and confirms one session and returns its app.
func activeSession(t *testing.T, e *env, techToken, user string) (id string, a *app) {
	t.Helper()
	id, code := e.invite(techToken, user)
	a = e.app(e.inviteToken(user))
	want(t, a.hello(), http.StatusOK, "")
	want(t, a.pair(code), http.StatusOK, "")
	want(t, a.poll(), http.StatusOK, "")
	return id, a
}

func (e *env) expiry(payload string) expiryapi.Result {
	e.t.Helper()
	res, err := expiryapi.Handler(e.st.Service, slog.New(slog.NewJSONHandler(e.logs, nil)))(context.Background(), json.RawMessage(payload))
	if err != nil {
		e.t.Fatalf("expiry %s: %v", payload, err)
	}
	return res
}

func (e *env) status(tech, id string) string {
	e.t.Helper()
	r := e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil)
	want(e.t, r, http.StatusOK, "")
	return r.str("status")
}

func countEvents(e *env, id string, t events.DetailType) int {
	n := 0
	for _, ev := range e.st.Bus.Events() {
		if ev.Detail.SessionID == id && ev.Type == t {
			n++
		}
	}
	return n
}

func TestTimeIsAuthoritative(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "user@example.org")

	e.clock.Advance(24*time.Hour - time.Second)
	if s := e.status(tech, id); s != "active" {
		t.Fatalf("one second before 24 h: %s, want active", s)
	}
	e.clock.Advance(time.Second)
	// Expired for every reader before any handler has run.
	if s := e.status(tech, id); s != "expired" {
		t.Fatalf("at 24 h exactly: %s, want expired", s)
	}
	comp := e.do(http.MethodGet, "/v1/computers?group=adhoc", tech, nil)
	if n := len(comp.JSON["computers"].([]any)); n != 0 {
		t.Fatalf("an expired session is still in the computer group")
	}
	p := a.poll()
	want(t, p, http.StatusOK, "")
	if p.str("status") != "expired" {
		t.Fatalf("the app's poll at 24 h: %s", p.Raw)
	}
	// The poll wrote it down: the slot is free and the technician may invite again.
	acc := e.do(http.MethodGet, "/v1/account", tech, nil)
	if acc.num("used") != 0 {
		t.Fatalf("slot still used after expiry: %s", acc.Raw)
	}
	want(t, a.removed(), http.StatusNoContent, "")
	if s := e.status(tech, id); s != "removed" {
		t.Fatalf("after the app's report: %s, want removed", s)
	}
	e.invite(tech, "next@example.org")
}

// TestScheduleFiresAndDuplicatesAreHarmless: ten deliveries of a session's due schedule at
// once (and the local scheduler's own) make one transition, one event, one audit entry; a
// late one after removal changes nothing.
func TestScheduleFiresAndDuplicatesAreHarmless(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, _ := activeSession(t, e, tech, "user@example.org")
	e.clock.Advance(24 * time.Hour)

	due := `{"sessionId":"` + id + `"}`
	var wg sync.WaitGroup
	results := make([]int, 10)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = e.expiry(due).Expired
		}(i)
	}
	wg.Wait()
	total := 0
	for _, n := range results {
		total += n
	}
	// The stack's own scheduler runs on the same clock and may deliver first: it is an
	// eleventh delivery, and among all of them exactly one makes the transition.
	if total > 1 {
		t.Fatalf("ten deliveries made %d transitions, want at most 1", total)
	}
	if e.status(tech, id) != "expired" {
		t.Fatalf("after the deliveries the session is %s, want expired", e.status(tech, id))
	}
	// (The scheduler's delivery publishes just after its commit.)
	waitFor(t, 5*time.Second, "the SessionEnded event", func() bool { return countEvents(e, id, events.SessionEnded) > 0 })
	if n := countEvents(e, id, events.SessionEnded); n != 1 {
		t.Fatalf("%d SessionEnded events, want 1", n)
	}
	audit := e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil)
	if strings.Count(audit.Raw, `"to":"expired"`) != 1 {
		t.Fatalf("audit: %s", audit.Raw)
	}
	// A late delivery after removal changes nothing either.
	if e.expiry(due).Expired != 0 {
		t.Fatal("a late delivery changed the session")
	}
}

func TestEarlyDeliveryChangesNothing(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, _ := activeSession(t, e, tech, "user@example.org")
	if e.expiry(`{"sessionId":"`+id+`"}`).Expired != 0 || e.status(tech, id) != "active" {
		t.Fatal("a delivery before the end expired the session")
	}
}

func TestSweepCatchesLostSchedules(t *testing.T) {
	e := start(t)
	tech1 := e.technician("one@example.com", "acme", false)
	tech2 := e.technician("two@example.com", "acme", false)
	active, _ := activeSession(t, e, tech1, "u1@example.org")
	invited, _ := e.invite(tech2, "u2@example.org")
	// Lose every schedule.
	for _, name := range []string{"invite-" + invited, "session-" + active} {
		if err := e.st.Scheduler.DeleteExpiry(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(25 * time.Hour)
	if n := e.expiry(`{"sweep":true}`).Expired; n != 2 {
		t.Fatalf("the sweep expired %d sessions, want 2", n)
	}
	for id, tech := range map[string]string{active: tech1, invited: tech2} {
		r := e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil)
		if s := r.str("status"); s != "expired" && s != "invite_expired" {
			t.Fatalf("%s after the sweep: %s", id, s)
		}
	}
	if n := e.expiry(`{"detail-type":"Scheduled Event","source":"aws.events"}`).Expired; n != 0 {
		t.Fatalf("a second sweep changed %d sessions", n)
	}
	acc := e.do(http.MethodGet, "/v1/account", tech1, nil)
	if acc.num("used") != 0 {
		t.Fatalf("slots still used after the sweep: %s", acc.Raw)
	}
}

func TestItemRemovedByTTL(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "user@example.org")
	// DynamoDB's TTL deletes the session item (at a moment of its choosing: do it now).
	_, err := e.st.DynamoDB.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{
		TableName: &e.st.Table,
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "SESSION#" + id}, "sk": &types.AttributeValueMemberS{Value: "SESSION"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.expiry(`{"sessionId":"`+id+`"}`).Expired != 0 {
		t.Fatal("the handler acted on a removed item")
	}
	e.clock.Advance(time.Minute)
	want(t, a.poll(), http.StatusGone, "expired")
	want(t, e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil), http.StatusNotFound, "not_found")
}

func TestEndByTechnicianAndByUser(t *testing.T) {
	e := start(t)
	e.setLimits("acme", 1, 1)
	tech := e.technician("tina@example.com", "acme", false)

	id, a := activeSession(t, e, tech, "u1@example.org")
	r := e.do(http.MethodDelete, "/v1/sessions/"+id, tech, nil)
	want(t, r, http.StatusOK, "")
	if r.str("status") != "ended" || r.str("endReason") != "ended_by_technician" {
		t.Fatalf("DELETE of an active session: %s", r.Raw)
	}
	e.clock.Advance(time.Minute)
	p := a.poll()
	if p.str("status") != "ended" {
		t.Fatalf("the app's poll after the technician ended: %s", p.Raw)
	}
	want(t, a.removed(), http.StatusNoContent, "")
	want(t, a.removed(), http.StatusNoContent, "") // a retried report is harmless
	if s := e.status(tech, id); s != "removed" {
		t.Fatalf("after removal: %s", s)
	}
	e.clock.Advance(time.Minute)
	want(t, a.poll(), http.StatusGone, "expired")

	// The slot came back: the same technician invites again and the user ends it.
	id2, b := activeSession(t, e, tech, "u2@example.org")
	end := b.end()
	want(t, end, http.StatusOK, "")
	if end.str("status") != "ended" {
		t.Fatalf("end: %s", end.Raw)
	}
	s := e.do(http.MethodGet, "/v1/sessions/"+id2, tech, nil)
	if s.str("endReason") != "ended_by_user" {
		t.Fatalf("ended by user: %s", s.Raw)
	}
	// "removed" straight from active also ends it on the user's behalf.
	id3, c := activeSession(t, e, tech, "u3@example.org")
	want(t, c.removed(), http.StatusNoContent, "")
	s = e.do(http.MethodGet, "/v1/sessions/"+id3, tech, nil)
	if s.str("status") != "removed" || s.str("endReason") != "ended_by_user" {
		t.Fatalf("removed from active: %s", s.Raw)
	}
	if countEvents(e, id3, events.AppRemoved) != 1 || countEvents(e, id3, events.SessionEnded) != 1 {
		t.Fatal("removed from active must emit SessionEnded and AppRemoved once each")
	}
}

func TestAuditTrailInOrder(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, code := e.invite(tech, "user@example.org")
	a := e.app(e.inviteToken("user@example.org"))
	want(t, a.hello(), http.StatusOK, "")
	wrong := "111-111-111"
	if code == wrong {
		wrong = "111-111-112"
	}
	want(t, a.pair(wrong), http.StatusUnauthorized, "invalid_code")
	want(t, a.pair(code), http.StatusOK, "")
	want(t, a.poll(), http.StatusOK, "")
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, tech, nil), http.StatusOK, "")
	want(t, a.removed(), http.StatusNoContent, "")

	r := e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil)
	want(t, r, http.StatusOK, "")
	var got []string
	for _, x := range r.JSON["entries"].([]any) {
		m := x.(map[string]any)
		got = append(got, m["action"].(string)+":"+m["actor"].(string))
		if m["at"] == "" || m["by"] == "" {
			t.Fatalf("audit entry lacks when or who: %v", m)
		}
	}
	wantSeq := "invited:technician,app_started:app,pairing_failed:app,active:app,pairing_confirmed:app,ended:technician,removed:app"
	if strings.Join(got, ",") != wantSeq {
		t.Fatalf("audit trail\n got %s\nwant %s", strings.Join(got, ","), wantSeq)
	}
	// Audit entries are kept 90 days by TTL.
	out, err := e.st.DynamoDB.Query(context.Background(), &dynamodb.QueryInput{
		TableName:              &e.st.Table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :a)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "SESSION#" + id}, ":a": &types.AttributeValueMemberS{Value: "AUDIT#"},
		},
	})
	if err != nil || len(out.Items) == 0 {
		t.Fatalf("audit items: %v", err)
	}
	for _, item := range out.Items {
		n, ok := item["ttl"].(*types.AttributeValueMemberN)
		if !ok {
			t.Fatal("an audit item has no ttl")
		}
		var ttl int64
		_ = json.Unmarshal([]byte(n.Value), &ttl)
		if d := time.Unix(ttl, 0).Sub(e.clock.Now()); d < 89*24*time.Hour || d > 91*24*time.Hour {
			t.Fatalf("audit ttl is %s away, want 90 days", d)
		}
	}
}

func TestInvitationExpiresUnused(t *testing.T) {
	e := start(t)
	e.setLimits("acme", 1, 1)
	tech := e.technician("tina@example.com", "acme", false)
	id, code := e.invite(tech, "user@example.org")
	a := e.app(e.inviteToken("user@example.org"))
	e.clock.Advance(24 * time.Hour)
	if s := e.status(tech, id); s != "invite_expired" {
		t.Fatalf("after 24 h unused: %s", s)
	}
	want(t, a.hello(), http.StatusGone, "expired")
	want(t, a.pair(code), http.StatusGone, "expired")
	// Inviting again writes the overdue invitation down and reuses its slot.
	e.invite(tech, "again@example.org")
	if s := e.status(tech, id); s != "invite_expired" {
		t.Fatalf("the old invitation: %s", s)
	}
}

// TestRealSessionExpiresThroughTheLocalScheduler runs the stack as `make run` does, on the
// real clock with a short SESSION_TTL, and watches the one-time schedule end the session.
func TestRealSessionExpiresThroughTheLocalScheduler(t *testing.T) {
	const ttl = 3 * time.Second
	e := start(t, realClock(), withConfig(func(c *support.Config) {
		c.SessionTTL = ttl
		c.ActiveInterval = time.Second
	}))
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "user@example.org")
	r := e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil)
	expiresAt, err := time.Parse(time.RFC3339Nano, r.str("expiresAt"))
	if err != nil {
		t.Fatalf("expiresAt: %v", err)
	}
	// Only the scheduler may write the transition: the test reads the store directly, so
	// no time-authoritative read can do it first.
	deadline := expiresAt.Add(15 * time.Second)
	for {
		ss, err := e.st.Service.Store.GetSession(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ss.Status == "expired" {
			t.Logf("expiry fired %s after expiresAt", ss.EndedAt.Sub(expiresAt).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session was not expired by the scheduler 15 s after its end (status %s)", ss.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	expiredForAppAndSlot(t, e, a, tech)
}

// pendingSchedules lists the names of the local scheduler's pending schedules.
func pendingSchedules(e *env) map[string]time.Time {
	out := map[string]time.Time{}
	for _, p := range e.st.Scheduler.Pending() {
		out[p.Name] = p.At
	}
	return out
}

func TestSchedulesFollowTheSession(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, code := e.invite(tech, "user@example.org")
	s := e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil)
	inviteExpiry, _ := time.Parse(time.RFC3339Nano, s.str("inviteExpiresAt"))
	if at, ok := pendingSchedules(e)["invite-"+id]; !ok || !at.Equal(inviteExpiry) {
		t.Fatalf("after the invitation: schedules %v, want invite-%s at %s", pendingSchedules(e), id, inviteExpiry)
	}
	a := e.app(e.inviteToken("user@example.org"))
	r := a.pair(code)
	want(t, r, http.StatusOK, "")
	expires, _ := time.Parse(time.RFC3339Nano, r.str("expiresAt"))
	p := pendingSchedules(e)
	if _, ok := p["invite-"+id]; ok {
		t.Fatal("the invitation's schedule is still there after activation")
	}
	if at, ok := p["session-"+id]; !ok || !at.Equal(expires) {
		t.Fatalf("after activation: schedules %v, want session-%s at %s", p, id, expires)
	}
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, tech, nil), http.StatusOK, "")
	if p := pendingSchedules(e); len(p) != 0 {
		t.Fatalf("after ending: schedules %v are left", p)
	}
	// Cancelling an invitation deletes its schedule too.
	id2, _ := e.invite(tech, "user2@example.org")
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id2, tech, nil), http.StatusOK, "")
	if p := pendingSchedules(e); len(p) != 0 {
		t.Fatalf("after cancelling: schedules %v are left", p)
	}
}

// TestAuditOutlivesTheSessionItem: storage drops the session item at its TTL (the end of
// the 24 hours), but the audit trail is kept 90 days and must stay readable by whoever
// could read it before: the technician and the account's admins, nobody else.
func TestAuditOutlivesTheSessionItem(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "user@example.org")
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, tech, nil), http.StatusOK, "")
	want(t, a.removed(), http.StatusNoContent, "")
	before := e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil)
	want(t, before, http.StatusOK, "")

	// What DynamoDB's TTL does at the session's ttl: the item goes, the trail stays.
	_, err := e.st.DynamoDB.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: &e.st.Table,
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "SESSION#" + id}, "sk": &types.AttributeValueMemberS{Value: "SESSION"}}})
	if err != nil {
		t.Fatal(err)
	}
	want(t, e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil), http.StatusNotFound, "not_found")

	readers := []struct {
		who    string
		token  string
		status int
	}{
		{"the technician", tech, http.StatusOK},
		{"an admin of the account", e.technician("boss@example.com", "acme", true), http.StatusOK},
		{"a colleague", e.technician("tom@example.com", "acme", false), http.StatusNotFound},
		{"an admin of another account", e.technician("eve@example.com", "other", true), http.StatusNotFound},
	}
	for _, r := range readers {
		t.Run(r.who, func(t *testing.T) {
			got := e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", r.token, nil)
			if r.status != http.StatusOK {
				want(t, got, r.status, "not_found")
				return
			}
			want(t, got, http.StatusOK, "")
			if got.Raw != before.Raw {
				t.Fatalf("audit after the session item is gone:\n got %s\nwant %s", got.Raw, before.Raw)
			}
		})
	}
	want(t, e.do(http.MethodGet, "/v1/sessions/"+strings.Repeat("a", 26)+"/audit", tech, nil), http.StatusNotFound, "not_found")
}

// TestMakeRunSessionExpires runs the program `make run` runs (cmd/adhoc-local, built and
// started as a process) with SESSION_TTL=10s from the environment, and watches a real
// session end on its own: the transition is written by the expiry layers (the audit trail
// shows it; reads alone never write it), the app's poll then says expired, and the slot
// is free again.
func TestMakeRunSessionExpires(t *testing.T) {
	ports := freePorts(t, 3)
	runAdhocLocal(t, buildAdhocLocal(t), ports, t.TempDir(), "SESSION_TTL=10s")
	e := adhocLocalEnv(t, ports)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "user@example.org")
	r := e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil)
	activated, err1 := time.Parse(time.RFC3339Nano, r.str("activatedAt"))
	expiresAt, err2 := time.Parse(time.RFC3339Nano, r.str("expiresAt"))
	if err1 != nil || err2 != nil || expiresAt.Sub(activated) != 10*time.Second {
		t.Fatalf("activated %s, expires %s (%v, %v): want SESSION_TTL=10s to make a 10 s session", activated, expiresAt, err1, err2)
	}

	waitFor(t, 60*time.Second, "the expiry to be written", func() bool {
		return strings.Contains(e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil).Raw, `"to":"expired"`)
	})
	s := e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil)
	if endedAt, err := time.Parse(time.RFC3339Nano, s.str("endedAt")); err == nil {
		t.Logf("expiry written %s after expiresAt", endedAt.Sub(expiresAt).Round(time.Millisecond))
	}
	// Sooner than the 30 s interval after the last poll: an app whose session is over is
	// told at once, not asked to slow down.
	expiredForAppAndSlot(t, e, a, tech)
}

// expiredForAppAndSlot checks what an expired session means to the others: the app's poll
// says expired, and the technician's slot is free again.
func expiredForAppAndSlot(t *testing.T, e *env, a *app, tech string) {
	t.Helper()
	p := a.poll()
	want(t, p, http.StatusOK, "")
	if p.str("status") != "expired" {
		t.Fatalf("the app's poll after expiry: %s", p.Raw)
	}
	if acc := e.do(http.MethodGet, "/v1/account", tech, nil); acc.num("used") != 0 {
		t.Fatalf("the slot is still used after expiry: %s", acc.Raw)
	}
}
