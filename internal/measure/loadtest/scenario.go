package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ending is how an app's session comes to an end; every way the product knows is used.
type ending int

const (
	endByUser         ending = iota // the user: "end session and remove app"
	endByTechnician                 // the technician ends it; the app learns it by polling
	removedFromActive               // the app reports removal straight from active
	expiresOnItsOwn                 // the app polls until the server says expired
	appVanishes                     // the app stops polling; the technician ends it
	cancelledEarly                  // the technician cancels after hello, before pairing
	numEndings
)

var endingNames = [numEndings]string{"ended by user", "ended by technician", "removed from active", "expired", "app vanished", "cancelled before pairing"}

// plan is what one app lifecycle does.
type plan struct {
	ending     ending
	wrongFirst bool // the user mistypes the code once
	twin       bool // the app runs twice on two PCs and both pair at once
	polls      int  // polls while active (expiresOnItsOwn: until expired)
}

func (d *driver) plan(rng *rand.Rand) plan {
	p := plan{ending: ending(rng.IntN(int(numEndings))), wrongFirst: rng.IntN(10) == 0, twin: rng.IntN(10) == 0}
	if p.ending == expiresOnItsOwn && (d.cfg.SessionTTL <= 0 || d.cfg.SessionTTL > d.cfg.Duration/2) {
		p.ending = endByUser // waiting for the end would outlast the run
	}
	// Spread the apps over the run: each technician has Apps/Technicians lifecycles in
	// Duration, of which about a second goes to inviting and pairing.
	share := d.cfg.Duration * time.Duration(d.cfg.Technicians) / time.Duration(d.cfg.Apps)
	avg := max(1, int((share-time.Second)/d.cfg.PollInterval))
	p.polls = 1 + rng.IntN(2*avg)
	return p
}

// technician runs lifecycles until the run ends or the apps are used up.
func (d *driver) technician(ctx context.Context, t *tech, rng *rand.Rand) {
	const maxLifecycles = MaxApps
	for n := 0; n < maxLifecycles && !d.stopping(ctx); n++ {
		if d.budget.Add(-1) < 0 {
			return
		}
		d.lifecycle(ctx, t, n, rng)
		if n%5 == 0 && !d.stopping(ctx) {
			// Now and then the console's other pages.
			d.expect(d.do(ctx, routeList, http.MethodGet, "/v1/sessions", t.token, nil), "200")
			d.expect(d.do(ctx, routeAccount, http.MethodGet, "/v1/account", t.token, nil), "200")
		}
	}
}

// invitation is an open invitation as the technician has it.
type invitation struct {
	id, code, token string
}

// invite creates an invitation, waiting while the account has no free slot, and reads the
// link from the mail. ok is false when the run ended first or something failed.
func (d *driver) invite(ctx context.Context, t *tech, n int, rng *rand.Rand) (invitation, bool) {
	to := fmt.Sprintf("user-%s-%d-%d@load.example.org", d.runID, t.n, n)
	d.mail.expect(to)
	const maxTries = 1_000
	for try := 0; try < maxTries && !d.stopping(ctx); try++ {
		r := d.do(ctx, routeCreate, http.MethodPost, "/v1/sessions", t.token,
			map[string]string{"email": to, "password": "Load-Test-Passw0rd", "locale": []string{"en", "de"}[rng.IntN(2)]})
		if !d.expect(r, "201", "409 no_free_slot", "409 adhoc_cap_reached") {
			d.mail.forget(to)
			return invitation{}, false
		}
		if r.status != http.StatusCreated {
			// The account is full: a colleague's session ends soon.
			d.sleep(ctx, time.Duration(100+rng.IntN(400))*time.Millisecond)
			continue
		}
		inv := invitation{id: r.str("id"), code: r.str("securityCode")}
		began := time.Now()
		tok, err := d.mail.wait(ctx, to, 15*time.Second)
		if err != nil {
			d.stats.fail(routeMail, err.Error())
			return inv, false
		}
		d.stats.observe(routeMail, time.Since(began))
		inv.token = tok
		return inv, true
	}
	d.mail.forget(to)
	return invitation{}, false
}

// lifecycle is one invitation from the technician's click to the app's removal. While the
// app runs, the technician watches the session the way the console does.
func (d *driver) lifecycle(ctx context.Context, t *tech, n int, rng *rand.Rand) {
	inv, ok := d.invite(ctx, t, n, rng)
	if !ok {
		if inv.id != "" {
			d.cancel(ctx, t, inv.id) // the mail never came: give the slot back
		}
		return
	}
	p := d.plan(rng)
	done := make(chan struct{})
	d.appStarted()
	go func() {
		defer close(done)
		defer d.appDone()
		if end, ok := d.app(ctx, t, inv, p, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))); ok {
			d.appsFinished.Add(1)
			d.endings[end].Add(1)
		}
	}()
	watch := time.NewTicker(2 * time.Second)
	defer watch.Stop()
	// The app is bounded in time; so is the watch, by the app and by its count.
	for i := 0; i < 100_000; i++ {
		select {
		case <-done:
			return
		case <-watch.C:
			if d.stopping(ctx) {
				<-done
				return
			}
			d.expect(d.do(ctx, routeGet, http.MethodGet, "/v1/sessions/"+inv.id, t.token, nil), "200")
			if i%3 == 0 {
				d.expect(d.do(ctx, routeComputers, http.MethodGet, "/v1/computers?group=adhoc", t.token, nil), "200")
			}
		}
	}
	<-done
}

func (d *driver) cancel(ctx context.Context, t *tech, id string) bool {
	return d.expect(d.do(ctx, routeCancel, http.MethodDelete, "/v1/sessions/"+id, t.token, nil), "200")
}

// appClient is one Support Session app on one PC.
type appClient struct {
	d              *driver
	invite         string
	machine, nonce string
	hostname       string
	agent          string
}

func (d *driver) newApp(inv invitation, rng *rand.Rand) *appClient {
	id := rng.Uint64()
	return &appClient{
		d: d, invite: inv.token, machine: fmt.Sprintf("load-machine-%s-%016x", d.runID, id),
		nonce: fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()), hostname: fmt.Sprintf("PC-%04X", id&0xffff),
	}
}

func (a *appClient) hello(ctx context.Context) result {
	return a.d.do(ctx, routeHello, http.MethodPost, "/v1/agent/hello", "", map[string]string{
		"inviteToken": a.invite, "platform": "windows", "osVersion": "Windows 11 Pro 23H2",
		"hostname": a.hostname, "agentVersion": "1.0.0", "machineId": a.machine,
	})
}

func (a *appClient) pair(ctx context.Context, code string) result {
	r := a.d.do(ctx, routePair, http.MethodPost, "/v1/agent/pair", "", map[string]string{
		"inviteToken": a.invite, "securityCode": code, "platform": "windows", "osVersion": "Windows 11 Pro 23H2",
		"hostname": a.hostname, "agentVersion": "1.0.0", "machineId": a.machine, "nonce": a.nonce,
	})
	if r.status == http.StatusOK {
		a.agent = r.str("agentToken")
	}
	return r
}

func (a *appClient) call(ctx context.Context, route, path string) result {
	return a.d.do(ctx, route, http.MethodPost, path, a.agent, nil)
}

// wrongCode is a well-formed code that differs from the right one in its last digit.
func wrongCode(code string) string {
	if code == "" {
		return "000-000-000"
	}
	last := code[len(code)-1]
	return code[:len(code)-1] + string('0'+(last-'0'+1)%10)
}

// app runs one app lifecycle by its plan and reports how the session ended, or false when
// the run ended first or an answer was not one the protocol allows.
func (d *driver) app(ctx context.Context, t *tech, inv invitation, p plan, rng *rand.Rand) (ending, bool) {
	a := d.newApp(inv, rng)
	if !d.expect(a.hello(ctx), "200") || d.stopping(ctx) {
		return 0, false
	}
	if p.ending == cancelledEarly {
		if !d.cancel(ctx, t, inv.id) {
			return 0, false
		}
		// The user types the code after all: the invitation is over.
		return cancelledEarly, d.expect(a.pair(ctx, inv.code), "410 expired")
	}
	expired, ok := d.active(ctx, t, inv, p, a, rng)
	if expired {
		return expiresOnItsOwn, ok
	}
	return p.ending, ok
}

// active pairs the app and runs it until its planned end. expired says that time ended
// the session first.
func (d *driver) active(ctx context.Context, t *tech, inv invitation, p plan, a *appClient, rng *rand.Rand) (expired, ok bool) {
	if p.wrongFirst {
		r := a.pair(ctx, wrongCode(inv.code))
		if !d.expect(r, "401 invalid_code") {
			return false, false
		}
		if r.num("attemptsLeft") != 4 {
			d.stats.fail(routePair, fmt.Sprintf("attemptsLeft %d after one wrong code", r.num("attemptsLeft")))
		}
	}
	var r result
	if p.twin {
		var ok bool
		if a, r, ok = d.pairTwins(ctx, a, inv, rng); !ok {
			return false, false
		}
	} else if r = a.pair(ctx, inv.code); !d.expect(r, "200") {
		return false, false
	}
	interval := time.Duration(max(1, r.num("interval"))) * time.Second

	status := "active"
	limit := p.polls
	if p.ending == expiresOnItsOwn {
		// Until the server says expired, with a few polls to spare for the scheduler.
		limit = int((d.cfg.SessionTTL+5*interval)/interval) + 1
	}
	for i := 0; i < limit && status == "active"; i++ {
		if !d.sleep(ctx, interval) {
			return false, false
		}
		pr := a.call(ctx, routePoll, "/v1/agent/poll")
		if !d.expect(pr, "200") {
			return false, false
		}
		status = pr.str("status")
		if next := pr.num("interval"); next > 0 {
			interval = time.Duration(next) * time.Second
		}
	}
	if p.ending == expiresOnItsOwn && status == "active" {
		d.stats.fail(routePoll, "still active after its session's end")
		return false, false
	}
	if status != "active" && status != "expired" {
		d.stats.fail(routePoll, "status "+status+" while nobody ended the session")
		return false, false
	}
	if status == "active" {
		switch p.ending {
		case endByUser:
			er := a.call(ctx, routeEnd, "/v1/agent/end")
			if !d.expect(er, "200") {
				return false, false
			}
			status = er.str("status") // "expired" if time ended it first
		case endByTechnician:
			if !d.cancel(ctx, t, inv.id) || !d.sleep(ctx, interval) {
				return false, false
			}
			pr := a.call(ctx, routePoll, "/v1/agent/poll")
			if !d.expect(pr, "200") {
				return false, false
			}
			status = pr.str("status")
		case appVanishes:
			// The technician notices the PC went quiet and ends the session from the console.
			d.sleep(ctx, 2*interval)
			return false, d.cancel(ctx, t, inv.id)
		}
		if status != "active" && status != "ended" && status != "expired" {
			d.stats.fail(routePoll, "status "+status+" after the session was ended")
			return false, false
		}
	}
	// The app has removed the hidden account and itself, and says so.
	return status == "expired", d.expect(a.call(ctx, routeRemoved, "/v1/agent/removed"), "204")
}

// pairTwins runs a second copy of the app on another PC; both pair with the right code at
// once and exactly one of them must win. It returns the winner and its answer.
func (d *driver) pairTwins(ctx context.Context, a *appClient, inv invitation, rng *rand.Rand) (*appClient, result, bool) {
	b := d.newApp(inv, rng)
	if !d.expect(b.hello(ctx), "200") {
		return nil, result{}, false
	}
	apps := []*appClient{a, b}
	answers := make([]result, 2)
	var wg sync.WaitGroup
	for i := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = apps[i].pair(ctx, inv.code)
		}()
	}
	wg.Wait()
	winner := -1
	for i, r := range answers {
		if !d.expect(r, "200", "409 already_paired") {
			return nil, result{}, false
		}
		if r.status == http.StatusOK {
			if winner >= 0 {
				d.stats.fail(routePair, "two apps paired the same invitation")
				return nil, result{}, false
			}
			winner = i
		}
	}
	if winner < 0 {
		d.stats.fail(routePair, "neither of two apps with the right code paired")
		return nil, result{}, false
	}
	if strings.Contains(fmt.Sprint(answers[1-winner].body), "password") {
		d.stats.fail(routePair, "the losing app got secrets")
	}
	return apps[winner], answers[winner], true
}
