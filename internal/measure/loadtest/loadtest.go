// Package loadtest drives the local product (the stack of internal/local/devstack) with hundreds
// of technicians and thousands of Support Session apps over loopback for a bounded time.
// It measures the latency of every route, counts every answer the protocol does not allow,
// and afterwards scans the table for states that must never exist (CheckInvariants).
//
// The product allows one open session per technician, so no more apps can be alive at once
// than there are technicians: each technician runs its share of the apps one after another,
// and Config.Apps is the number of app lifecycles in the whole run.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Bounds of a run, so that a mistyped flag cannot turn into an endless or unbounded one.
const (
	MaxTechnicians = 5_000
	MaxApps        = 200_000
	MaxDuration    = time.Hour
)

// Config describes one run.
type Config struct {
	// BaseURL is the local gateway (devstack's Stack.URL); it must be a loopback address.
	BaseURL string
	// SESURL is aws-ses-v2-local, where the invitation mails (and their links) are read
	// back; loopback only as well.
	SESURL string
	// DynamoDB and Table are scanned after the run for CheckInvariants; nil skips it.
	DynamoDB *dynamodb.Client
	Table    string

	Technicians int
	Apps        int           // app lifecycles in total
	Duration    time.Duration // no new request starts after it
	// PollInterval is the stack's polling interval of active apps (support.Config's
	// ActiveInterval). The apps follow the interval the server answers; this one only sizes
	// how many polls an app makes so that the apps fill the duration.
	PollInterval time.Duration
	// SessionTTL is the stack's session length: the invariants check expiresAt against
	// it, and some apps stay until their session expires when it is short enough.
	SessionTTL time.Duration
	// TechniciansPerAccount groups technicians into accounts whose slots and ad-hoc caps
	// are set below the number of technicians, so that invitations compete for them.
	// 0 means 10.
	TechniciansPerAccount int
	Seed                  uint64 // 0: random
	// RequestTimeout bounds each request; 0 means 20 s.
	RequestTimeout time.Duration
}

func (c *Config) validate() error {
	if err := loopbackURL(c.BaseURL); err != nil {
		return fmt.Errorf("base URL: %w", err)
	}
	if err := loopbackURL(c.SESURL); err != nil {
		return fmt.Errorf("mail server URL: %w", err)
	}
	switch {
	case c.Technicians < 1 || c.Technicians > MaxTechnicians:
		return fmt.Errorf("technicians must be between 1 and %d", MaxTechnicians)
	case c.Apps < 1 || c.Apps > MaxApps:
		return fmt.Errorf("apps must be between 1 and %d", MaxApps)
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration must be positive and at most %s", MaxDuration)
	case c.PollInterval <= 0:
		return errors.New("poll interval must be positive")
	case c.DynamoDB != nil && c.Table == "":
		return errors.New("a DynamoDB client needs the table name")
	}
	if c.TechniciansPerAccount <= 0 {
		c.TechniciansPerAccount = 10
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 20 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	return nil
}

var errNotLoopback = errors.New("not a loopback address: the load driver only talks to the local stack")

// loopbackURL accepts http URLs whose host is localhost or a loopback IP.
func loopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return fmt.Errorf("%q: want an http URL", raw)
	}
	if h := u.Hostname(); h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%q: %w", raw, errNotLoopback)
		}
	}
	return nil
}

// loopbackClient refuses to connect anywhere but loopback, whatever a name resolves to.
func loopbackClient(conns int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("dial %s: %w", address, errNotLoopback)
			}
			return nil
		},
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: dialer.DialContext,
			// One kept-alive connection per busy client: without it every request would open
			// a new connection and the run would measure TCP set-up and run out of ports.
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// Run drives the stack as configured and returns what it measured. It returns an error
// only when the run could not be set up; what went wrong during the run is in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	d := &driver{
		cfg:    cfg,
		client: loopbackClient(2*cfg.Technicians+16, cfg.RequestTimeout),
		stats:  newStats(),
		runID:  fmt.Sprintf("%06x", cfg.Seed&0xffffff),
	}
	d.budget.Store(int64(cfg.Apps))
	d.mail = newMailbox(cfg.SESURL, d.client)

	techs, err := d.setUp(ctx)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}

	start := time.Now()
	d.deadline = start.Add(cfg.Duration)
	mailCtx, stopMail := context.WithCancel(ctx)
	mailDone := make(chan struct{})
	go func() {
		defer close(mailDone)
		d.mail.run(mailCtx, start.Add(-2*time.Second))
	}()

	var wg sync.WaitGroup
	for i, t := range techs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.technician(ctx, t, rand.New(rand.NewPCG(cfg.Seed, uint64(i))))
		}()
	}
	wg.Wait()
	stopMail()
	<-mailDone

	rep := d.stats.report()
	rep.Config = cfg
	rep.Config.DynamoDB = nil
	rep.Elapsed = time.Since(start)
	rep.AppsStarted = int(d.appsStarted.Load())
	rep.AppsFinished = int(d.appsFinished.Load())
	rep.PeakApps = int(d.peakApps.Load())
	rep.Endings = map[string]int{}
	for i := range d.endings {
		rep.Endings[endingNames[i]] = int(d.endings[i].Load())
	}
	if cfg.DynamoDB != nil {
		inv, err := CheckInvariants(ctx, cfg.DynamoDB, cfg.Table, cfg.SessionTTL)
		if err != nil {
			return rep, fmt.Errorf("load: %w", err)
		}
		rep.Invariants = &inv
	}
	return rep, nil
}

// driver is the state of one run.
type driver struct {
	cfg      Config
	client   *http.Client
	stats    *stats
	mail     *mailbox
	runID    string
	deadline time.Time

	budget       atomic.Int64 // app lifecycles still to start
	appsStarted  atomic.Int64
	appsFinished atomic.Int64
	appsAlive    atomic.Int64
	peakApps     atomic.Int64
	endings      [numEndings]atomic.Int64
}

// stopping reports whether the run is over: no new request starts after the deadline,
// but the ones in flight finish, so that stopping leaves nothing half done on purpose.
func (d *driver) stopping(ctx context.Context) bool {
	return ctx.Err() != nil || !time.Now().Before(d.deadline)
}

// sleep waits d, or less when the run ends first; it reports whether the run goes on.
func (d *driver) sleep(ctx context.Context, dur time.Duration) bool {
	if left := time.Until(d.deadline); dur > left {
		dur = left
	}
	if dur > 0 {
		t := time.NewTimer(dur)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return !d.stopping(ctx)
}

func (d *driver) appStarted() {
	d.appsStarted.Add(1)
	n := d.appsAlive.Add(1)
	for {
		peak := d.peakApps.Load()
		if n <= peak || d.peakApps.CompareAndSwap(peak, n) {
			return
		}
	}
}

func (d *driver) appDone() { d.appsAlive.Add(-1) }

// tech is one signed-in technician.
type tech struct {
	n       int
	account string
	email   string
	token   string
}

// accountLimits sets every other account's slots below its ad-hoc cap and the others the
// other way round, so that both refusals (no_free_slot, adhoc_cap_reached) are exercised.
func accountLimits(i, members int) (slots, adhocCap int) {
	tight := max(1, members*7/10)
	if i%2 == 0 {
		return tight, members
	}
	return members, tight
}

// setUp configures the accounts and signs every technician in.
func (d *driver) setUp(ctx context.Context) ([]*tech, error) {
	per := d.cfg.TechniciansPerAccount
	accounts := (d.cfg.Technicians + per - 1) / per
	for i := range accounts {
		members := min(per, d.cfg.Technicians-i*per)
		slots, adhocCap := accountLimits(i, members)
		r := d.do(ctx, routeDevAccount, http.MethodPut, "/v1/dev/accounts/"+d.account(i), "",
			map[string]int{"slots": slots, "adhocCap": adhocCap})
		if r.err != nil || r.status != http.StatusOK {
			return nil, fmt.Errorf("configure account %s: %s", d.account(i), r)
		}
	}
	techs := make([]*tech, d.cfg.Technicians)
	for i := range techs {
		t := &tech{n: i, account: d.account(i / per), email: fmt.Sprintf("tech%d-%s@load.example.com", i, d.runID)}
		r := d.do(ctx, routeDevToken, http.MethodPost, "/v1/dev/token", "",
			map[string]any{"email": t.email, "account": t.account, "admin": false})
		if r.err != nil || r.status != http.StatusOK || r.str("token") == "" {
			return nil, fmt.Errorf("sign in technician %d: %s", i, r)
		}
		t.token = r.str("token")
		techs[i] = t
	}
	return techs, nil
}

func (d *driver) account(i int) string { return fmt.Sprintf("load-%s-%d", d.runID, i) }

// ServiceConfig is the product configuration a load run wants: the defaults, with the
// polling interval of active apps and the session length shortened so that a run of
// seconds sees many polls and sessions that expire on their own.
func ServiceConfig(pollInterval, sessionTTL time.Duration) support.Config {
	c := support.Defaults()
	c.ActiveInterval = pollInterval
	c.PendingInterval = pollInterval
	c.SessionTTL = sessionTTL
	return c
}

// DisableTTLDeletion switches off the table's TTL. DynamoDB Local deletes items within
// seconds of their ttl, and a load run with sessions of seconds would then race storage
// against the expiry scheduler, a known fault with a test of its own in internal/testing/e2e
// (TestSessionRemovedByTTLGivesItsSlotBack). Load runs switch it off to measure
// concurrency alone; loadgen's -ttl-deletion keeps it.
func DisableTTLDeletion(ctx context.Context, db *dynamodb.Client, table string) error {
	_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(store.AttrTTL),
			Enabled:       aws.Bool(false),
		},
	})
	if err != nil {
		return fmt.Errorf("disable TTL on %s: %w", table, err)
	}
	return nil
}
