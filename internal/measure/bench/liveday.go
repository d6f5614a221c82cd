package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/expiryapi"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Steps of the live day that the polling day does not have, or has in another form.
const (
	TicketStep  = "ticket for the set-up page"
	CatchUpPoll = "poll after (re)connecting"
	SafetyPoll  = "safety poll"
	pingMessage = `{"action":"ping"}`
)

// RenewEvery is how long the model's app keeps one connection: the middle of the app's
// jittered 90–100 % of protocol.LiveRenewAge (internal/protocol; agent/app uses it).
const RenewEvery = protocol.LiveRenewAge * 95 / 100

// LiveDayOptions describe the day of one session with the live channel.
type LiveDayOptions struct {
	// SetupWait is how long the technician's set-up page holds its live connection
	// while the user opens the mail and starts the app. Default 3 minutes, as the
	// polling day's page polls.
	SetupWait time.Duration
	// PingEvery is how often the app pings its connection; default
	// protocol.LivePingInterval.
	PingEvery time.Duration
	// Reconnect is how long the app keeps one connection before it opens the next;
	// default RenewEvery.
	Reconnect time.Duration
	MemoryMB  map[string]int
}

// LiveDay runs one session's day with the live channel, on a rig made with
// RigOptions.Live: the technician's set-up page takes a ticket and holds a console
// connection instead of polling, and is pushed the invitation, the app's start and the
// pairing; it closes once the session is active. The app opens its connection after
// pairing and polls once to catch up, then pings every PingEvery, polls at the interval
// the server answers (long while connected: the safety net), and reconnects every
// Reconnect (a new connection through the authorizer and $connect, the old one's
// $disconnect, a catch-up poll). At the end of the 24 hours the one-time schedule runs the
// expiry function, whose push tells the app; the app reports its removal and closes.
//
// It fails if a push the day relies on did not arrive: the console's invited, app_started
// and active, the app's expired, a pong for every ping.
func (r *Rig) LiveDay(ctx context.Context, o LiveDayOptions) (Lifecycle, error) {
	var l Lifecycle
	if r.Live == nil {
		return l, errors.New("live day: the rig has no live channel (RigOptions.Live)")
	}
	if o.SetupWait == 0 {
		o.SetupWait = 3 * time.Minute
	}
	if o.PingEvery == 0 {
		o.PingEvery = protocol.LivePingInterval
	}
	if o.Reconnect == 0 {
		o.Reconnect = RenewEvery
	}
	mem := o.MemoryMB
	if mem == nil {
		mem = DefaultMemoryMB
	}
	add := func(fs ...Figures) {
		for _, f := range fs {
			l.add(f.Name, f, mem)
		}
	}
	step := func(name string, q Request) (Figures, error) {
		f, _, err := r.Measure(ctx, name, q)
		if err == nil {
			l.add(name, f, mem)
		}
		return f, err
	}

	// The technician's set-up page: a ticket, then its live connection, then the
	// invitation, so that the page hears of the invitation too.
	tech := r.NewTechnician("liveday-" + r.run)
	f, res, err := r.Measure(ctx, TicketStep, r.TicketRequest(tech))
	if err != nil {
		return l, err
	}
	add(f)
	ticket, err := ticketOf(res)
	if err != nil {
		return l, err
	}
	console, fs, err := r.Connect(ctx, support.PeerConsole, "", ticket)
	if err != nil {
		return l, err
	}
	add(fs...)
	email := "user-" + tech.ID + "@example.org"
	f, res, err = r.Measure(ctx, "create session", r.CreateRequest(tech, email))
	if err != nil {
		return l, err
	}
	add(f)
	s, err := r.Created(tech, email, res)
	if err != nil {
		return l, err
	}
	r.Clock.Advance(o.SetupWait)
	for _, q := range []struct {
		name string
		req  Request
	}{{"join page", r.JoinRequest(s)}, {"app download (redirect)", r.DownloadRequest(s)}, {"hello", r.HelloRequest(s)}} {
		if _, err := step(q.name, q.req); err != nil {
			return l, err
		}
	}
	f, res, err = r.Measure(ctx, "pair", r.PairRequest(s, false))
	if err != nil {
		return l, err
	}
	add(f)
	if err := s.Paired(res); err != nil {
		return l, err
	}
	// The page has seen the session become active; the technician moves on.
	if f, err = r.Disconnect(ctx, console); err != nil {
		return l, err
	}
	add(f)
	seen := pushedTypes(r.Pusher.Received(console.ID), s.ID)
	for _, want := range []string{"session:invited", "session:app_started", "session:active"} {
		if !slices.Contains(seen, want) {
			return l, fmt.Errorf("live day: the set-up page was not pushed %s (it got %v)", want, seen)
		}
	}

	due, ok := r.Schedules.LastDue()
	if !ok {
		return l, errors.New("live day: no expiry scheduled after pairing")
	}
	var app *LiveConn
	var lastPing, lastPoll time.Time
	var interval time.Duration
	poll := func(name string) error {
		f, res, err := r.Measure(ctx, name, r.PollRequest(s))
		if err != nil {
			return err
		}
		add(f)
		l.Polls++
		if f.WRU > 0 {
			l.PollWrites++
		}
		var p protocol.PollResponse
		if err := json.Unmarshal([]byte(res.Body), &p); err != nil || p.Interval <= 0 {
			return fmt.Errorf("live day: unreadable poll answer (%v)", err)
		}
		lastPoll, interval = r.Clock.Now(), time.Duration(p.Interval)*time.Second
		return nil
	}
	connect := func() error {
		old := app
		c, fs, err := r.Connect(ctx, support.PeerApp, s.Agent, "")
		if err != nil {
			return err
		}
		add(fs...)
		l.Connections++
		app, lastPing = c, c.Since
		if old != nil {
			// Make before break: the old connection closes once the new one is open,
			// so no push falls between them.
			f, err := r.Disconnect(ctx, old)
			if err != nil {
				return err
			}
			add(f)
		}
		return poll(CatchUpPoll)
	}
	if err := connect(); err != nil {
		return l, err
	}
	if l.ActiveItemBytes, err = r.sessionItemBytes(ctx, s.ID); err != nil {
		return l, err
	}
	for {
		// The next of the three timers; on a tie the reconnect goes first (its catch-up
		// poll and fresh connection make the others moot), then the poll.
		next, what := app.Since.Add(o.Reconnect), "reconnect"
		if t := lastPoll.Add(interval); t.Before(next) {
			next, what = t, "poll"
		}
		if t := lastPing.Add(o.PingEvery); t.Before(next) {
			next, what = t, "ping"
		}
		if !next.Before(due) {
			break
		}
		r.advanceTo(next)
		switch what {
		case "reconnect":
			err = connect()
		case "poll":
			err = poll(SafetyPoll)
		default:
			err = r.ping(ctx, app, &l, mem)
			lastPing = r.Clock.Now()
		}
		if err != nil {
			return l, err
		}
	}
	r.advanceTo(due)
	for _, d := range r.Schedules.TakeDue(r.Clock.Now()) {
		f, err := r.MeasureExpiry(ctx, "expiry, one-time schedule", TriggerSchedule, expiryapi.DuePayload(d))
		if err != nil {
			return l, err
		}
		add(f)
	}
	if got := pushedTypes(r.Pusher.Received(app.ID), s.ID); !slices.Contains(got, "status:"+protocol.StatusExpired) {
		return l, fmt.Errorf("live day: the app was not pushed its expiry (it got %d messages, the last %v)", len(got), got[max(0, len(got)-3):])
	}
	if _, err := step("removed", r.RemovedRequest(s)); err != nil {
		return l, err
	}
	if f, err = r.Disconnect(ctx, app); err != nil {
		return l, err
	}
	add(f)
	return l, nil
}

// ping sends the app's ping and checks that the pong came back.
func (r *Rig) ping(ctx context.Context, c *LiveConn, l *Lifecycle, mem map[string]int) error {
	before := len(r.Pusher.Received(c.ID))
	f, err := r.Send(ctx, c, LivePing, pingMessage)
	if err != nil {
		return err
	}
	l.add(f.Name, f, mem)
	l.Pings++
	got := r.Pusher.Received(c.ID)
	if len(got) != before+1 || protocol.LiveType(got[len(got)-1]) != protocol.TypePong {
		return fmt.Errorf("live day: a ping got %d messages back, want one pong", len(got)-before)
	}
	return nil
}

// advanceTo moves the rig's clock on to t (never back).
func (r *Rig) advanceTo(t time.Time) {
	if d := t.Sub(r.Clock.Now()); d > 0 {
		r.Clock.Advance(d)
	}
}
