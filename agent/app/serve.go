package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

const (
	defaultInterval = 30 * time.Second
	// pollWithoutLive is the longest wait between polls while the live connection is not
	// open: DESIGN.md's active interval. A longer interval the server handed out was meant
	// for an open connection, which may have dropped since.
	pollWithoutLive = 30 * time.Second
	// slowDownStep is RFC 8628's answer to slow_down: poll 5 s less often.
	slowDownStep = 5 * time.Second
	// maxBackoff caps the wait between tries while the server cannot be reached, so the
	// app notices a technician's "end" soon after the network is back.
	maxBackoff = 5 * time.Minute
	// cleanupRetry is the pause before a failed clean-up is tried again.
	cleanupRetry = time.Minute
	// reportTimeout bounds telling the server "removed": an offline PC still cleans up.
	reportTimeout = 15 * time.Second
)

// Serve is the service's work for the session's lifetime: hold the live connection, poll
// the server as the safety net, and clean up when the session is over, the server no
// longer knows the app, or expiresAt has passed (whether or not the server can be
// reached). It returns nil once everything is removed, and ctx's error when the service
// is stopped (the session goes on after a restart).
func (a *App) Serve(ctx context.Context) error {
	st, err := a.cfg.Store.Load()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if st == nil {
		return ErrNoSession
	}
	p := poller{a: a, client: a.client(st.ServerURL), interval: seconds(st.Interval)}
	a.cfg.OS.Log(LogInfo, fmt.Sprintf("Support session %s: watching until %s.", st.SessionID, st.ExpiresAt.UTC().Format(time.RFC3339)))
	var live *liveLink // nil: none (it is only for an active session)
	if st.Phase == PhaseActive && a.now().Before(st.ExpiresAt) {
		live = a.openLive(ctx, st)
		defer live.stop()
	}
	next := a.now() // the next poll: the first one at once
	for {
		if st.Phase != PhaseActive {
			// The session is over: every remote connection ends first (DESIGN.md: within
			// 1 s), while the live connection can still carry the bye.
			live.closeRemote(protocol.RemoteSessionEnded)
			live.end()
			reason := st.EndReason
			if reason == "" {
				reason = ReasonSetupFailed
			}
			err := a.cleanup(ctx, st, reason)
			if err == nil {
				return nil
			}
			a.cfg.OS.Log(LogError, "Clean-up incomplete, retrying: "+err.Error())
			if err := a.cfg.Clock.Sleep(ctx, cleanupRetry); err != nil {
				return err
			}
			continue
		}
		if !a.now().Before(st.ExpiresAt) {
			a.beginCleanup(st, ReasonLocalExpiry)
			continue
		}
		if !a.now().Before(next) {
			wait, reason := p.poll(ctx, st, live)
			if reason != "" {
				a.beginCleanup(st, reason)
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			next = a.now().Add(wait)
		}
		// Sleep until the next poll, the end of the session, or news from the live
		// connection, whichever comes first.
		ev, err := a.sleepUntil(ctx, earlier(next, st.ExpiresAt), live.news())
		if err != nil {
			return err
		}
		switch ev.kind {
		case liveStatus:
			// A push is a poll's answer that came by itself.
			if reason := a.apply(st, ev.status.Status, ev.status.ExpiresAt); reason != "" {
				a.beginCleanup(st, reason)
			}
		case liveUp, liveRefused:
			// Catch up on what a drop may have lost; after a refusal, let the answer decide.
			next = a.now()
		case liveDown:
			next = earlier(next, p.last.Add(p.wait(false)))
		}
	}
}

// sleepUntil waits until the time until, or until the live connection has news, which it
// returns (the zero event when the time came). It waits through the Clock, so that tests
// run a day in milliseconds; news ends the wait early by ending the sleep's context.
func (a *App) sleepUntil(ctx context.Context, until time.Time, news <-chan liveEvent) (liveEvent, error) {
	select {
	case ev := <-news:
		return ev, nil
	default:
	}
	d := until.Sub(a.now())
	if d <= 0 {
		return liveEvent{}, nil
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan liveEvent, 1)
	go func() {
		select {
		case ev := <-news:
			got <- ev
			cancel()
		case <-sctx.Done():
			close(got)
		}
	}()
	err := a.cfg.Clock.Sleep(sctx, d)
	cancel()
	if ev, ok := <-got; ok {
		return ev, nil
	}
	if ctx.Err() != nil {
		return liveEvent{}, ctx.Err()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return liveEvent{}, err
	}
	return liveEvent{}, nil
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// beginCleanup moves the state to the clean-up phase; cleanup saves it.
func (a *App) beginCleanup(st *State, reason string) {
	if st.Phase != PhaseCleanup {
		st.Phase = PhaseCleanup
		st.EndReason = reason
	}
}

func seconds(n int) time.Duration {
	if n <= 0 {
		return defaultInterval
	}
	return time.Duration(n) * time.Second
}

type poller struct {
	a      *App
	client *protocol.Client
	// interval is the server's latest; slowed is what the latest slow_down asked for,
	// the least wait while the live connection is not open.
	interval, slowed time.Duration
	failures         int
	last             time.Time // when the latest poll was sent
}

// wait is how long to wait between polls: the server's interval while the live
// connection is open (long, as polls are only the safety net), and at most
// pollWithoutLive while it is not, yet never less than a slow_down asked for.
func (p *poller) wait(connected bool) time.Duration {
	if connected {
		return p.interval
	}
	return min(p.interval, max(pollWithoutLive, p.slowed))
}

// poll asks the server once. It returns how long to wait before the next poll, or the
// reason to clean up now.
func (p *poller) poll(ctx context.Context, st *State, live *liveLink) (time.Duration, string) {
	a := p.a
	now := a.now()
	// A poll sooner than the rate allows is the catch-up after a (re)connect.
	early := !p.last.IsZero() && now.Sub(p.last) < p.wait(false)
	p.last = now
	pr, err := p.client.Poll(ctx, st.AgentToken)
	var pe *protocol.ProblemError
	switch {
	case err == nil:
		if p.failures > 0 {
			a.cfg.OS.Log(LogInfo, "The support server can be reached again.")
		}
		p.failures = 0
		if pr.Interval > 0 {
			p.interval = seconds(pr.Interval)
		}
		if pr.LiveURL != st.LiveURL {
			st.LiveURL = pr.LiveURL
			a.save(st)
			live.setURL(pr.LiveURL)
		}
		if reason := a.apply(st, pr.Status, pr.ExpiresAt); reason != "" {
			return 0, reason
		}
		return p.wait(live.connected()), ""
	case ctx.Err() != nil:
		return 0, ""
	case errors.As(err, &pe) && pe.Code == protocol.CodeSlowDown:
		// Only an active session is told to slow down, so the answer says what a catch-up
		// wanted to know; and a catch-up is early on purpose, which is no reason to poll
		// less often.
		if !early {
			ask := p.wait(false) + slowDownStep
			if pe.Interval > 0 {
				ask = max(ask, seconds(pe.Interval))
			}
			p.slowed = max(p.slowed, ask)
			p.interval = max(p.interval, ask)
		}
		return p.wait(live.connected()), ""
	case errors.As(err, &pe) && (pe.HTTPStatus == http.StatusUnauthorized || pe.HTTPStatus == http.StatusGone):
		// The server no longer knows this app: the session is gone, so is the account.
		return 0, ReasonUnknown
	default:
		p.failures++
		if p.failures == 1 || p.failures%20 == 0 {
			a.cfg.OS.Log(LogWarning, fmt.Sprintf("Polling the support server failed (%d in a row): %v", p.failures, err))
		}
		if live.connected() {
			// The live connection still carries the news: no reason to poll harder.
			return p.interval, ""
		}
		return p.backoff(), ""
	}
}

// apply acts on the session's status as the server reports it, in a poll's answer or a
// push: it returns the reason to clean up now, or "".
func (a *App) apply(st *State, status string, expiresAt time.Time) string {
	// The server may shorten the session, never extend it beyond what pairing said.
	if !expiresAt.IsZero() && expiresAt.Before(st.ExpiresAt) {
		st.ExpiresAt = expiresAt
		a.save(st)
	}
	switch status {
	case protocol.StatusActive:
	case protocol.StatusExpired:
		return ReasonExpired
	case protocol.StatusEnded:
		return ReasonEnded
	default:
		a.cfg.OS.Log(LogWarning, "Unexpected session status from the server: "+status)
	}
	return ""
}

// save keeps the state; a failure is logged, as the state in memory goes on.
func (a *App) save(st *State) {
	if err := a.cfg.Store.Save(st); err != nil {
		a.cfg.OS.Log(LogWarning, "save state: "+err.Error())
	}
}

// backoff doubles the wait with every failure up to maxBackoff.
func (p *poller) backoff() time.Duration {
	return backoff(p.wait(false), maxBackoff, p.failures, p.a.cfg.Jitter)
}

// backoff is base doubled with every failure after the first, up to limit, and spread over
// its upper half so that many PCs behind one broken link do not return in step.
func backoff(base, limit time.Duration, failures int, jitter func() float64) time.Duration {
	d := base
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + time.Duration(jitter()*float64(d/2))
}

// cleanup removes everything the session put on the PC, in an order that a crash at any
// point can resume: the account first (what matters most), then telling the server, then
// the service and the files. It runs to the end even when ctx is cancelled.
func (a *App) cleanup(ctx context.Context, st *State, reason string) error {
	ctx = context.WithoutCancel(ctx)
	osys := a.cfg.OS
	if st.Phase != PhaseCleanup || st.EndReason == "" {
		st.Phase = PhaseCleanup
		st.EndReason = reason
	}
	if err := a.cfg.Store.Save(st); err != nil {
		return fmt.Errorf("clean-up: %w", err)
	}
	osys.Log(LogInfo, fmt.Sprintf("Support session %s is over (%s); removing the support account and the app.", st.SessionID, st.EndReason))
	var errs []error
	if st.AccountOwned && st.Account != "" {
		if err := osys.DeleteUser(st.Account, st.AccountSID); err != nil {
			errs = append(errs, fmt.Errorf("delete account: %w", err))
		}
		if err := osys.UnhideUser(st.Account); err != nil {
			errs = append(errs, fmt.Errorf("remove hiding entry: %w", err))
		}
	}
	if err := osys.RemoveUninstall(); err != nil {
		errs = append(errs, fmt.Errorf("remove uninstall entry: %w", err))
	}
	if err := osys.RestoreRemoteSettings(); err != nil {
		errs = append(errs, fmt.Errorf("restore the settings remote access changed: %w", err))
	}
	if len(errs) > 0 {
		// Keep the service and the state: the next run (or boot) tries again.
		return errors.Join(errs...)
	}
	a.reportRemoved(ctx, st)
	if err := osys.RemoveService(); err != nil {
		return fmt.Errorf("remove service: %w", err)
	}
	var files []string
	if st.Download != "" {
		files = append(files, st.Download)
	}
	// The program folder holds the state file too: until it is gone, a restart resumes.
	if err := osys.RemoveProgram(files); err != nil {
		osys.Log(LogError, "remove the app's files: "+err.Error())
		return fmt.Errorf("remove files: %w", err)
	}
	if err := a.cfg.Store.Delete(); err != nil {
		return err
	}
	osys.Log(LogInfo, fmt.Sprintf("Support session %s: the support account and the app have been removed.", st.SessionID))
	return nil
}

// reportRemoved tells the server that the PC is clean, once; an offline PC skips it.
func (a *App) reportRemoved(ctx context.Context, st *State) {
	if st.RemovedReported || st.AgentToken == "" {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	err := a.client(st.ServerURL).Removed(rctx, st.AgentToken)
	var pe *protocol.ProblemError
	if err != nil && !(errors.As(err, &pe) && pe.HTTPStatus >= 400 && pe.HTTPStatus < 500) {
		a.cfg.OS.Log(LogWarning, "Could not report the clean-up to the support server: "+err.Error())
		return
	}
	// A 4xx means the server has nothing more to hear about this session.
	st.RemovedReported = true
	if err := a.cfg.Store.Save(st); err != nil {
		a.cfg.OS.Log(LogWarning, "save state: "+err.Error())
	}
}
