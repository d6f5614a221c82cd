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

// Serve is the service's work for the session's lifetime: poll the server, and clean up
// when the session is over, the server no longer knows the app, or expiresAt has passed
// (whether or not the server can be reached). It returns nil once everything is removed,
// and ctx's error when the service is stopped (the session goes on after a restart).
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
	for {
		if st.Phase != PhaseActive {
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
		wait, reason := p.poll(ctx, st)
		if reason != "" {
			a.beginCleanup(st, reason)
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if left := st.ExpiresAt.Sub(a.now()); wait > left {
			wait = left
		}
		if err := a.cfg.Clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
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
	a        *App
	client   *protocol.Client
	interval time.Duration
	failures int
}

// poll asks the server once. It returns how long to wait before the next poll, or the
// reason to clean up now.
func (p *poller) poll(ctx context.Context, st *State) (time.Duration, string) {
	a := p.a
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
		// The server may shorten the session, never extend it beyond what pairing said.
		if !pr.ExpiresAt.IsZero() && pr.ExpiresAt.Before(st.ExpiresAt) {
			st.ExpiresAt = pr.ExpiresAt
			if err := a.cfg.Store.Save(st); err != nil {
				a.cfg.OS.Log(LogWarning, "save state: "+err.Error())
			}
		}
		switch pr.Status {
		case protocol.StatusActive:
		case protocol.StatusExpired:
			return 0, ReasonExpired
		case protocol.StatusEnded:
			return 0, ReasonEnded
		default:
			a.cfg.OS.Log(LogWarning, "Unexpected session status from the server: "+pr.Status)
		}
		return p.interval, ""
	case ctx.Err() != nil:
		return 0, ""
	case errors.As(err, &pe) && pe.Code == protocol.CodeSlowDown:
		p.interval = max(seconds(pe.Interval), p.interval+slowDownStep)
		return p.interval, ""
	case errors.As(err, &pe) && (pe.HTTPStatus == http.StatusUnauthorized || pe.HTTPStatus == http.StatusGone):
		// The server no longer knows this app: the session is gone, so is the account.
		return 0, ReasonUnknown
	default:
		p.failures++
		if p.failures == 1 || p.failures%20 == 0 {
			a.cfg.OS.Log(LogWarning, fmt.Sprintf("Polling the support server failed (%d in a row): %v", p.failures, err))
		}
		return p.backoff(), ""
	}
}

// backoff doubles the wait with every failure up to maxBackoff, and spreads it over its
// upper half so that many PCs behind one broken link do not return in step.
func (p *poller) backoff() time.Duration {
	d := p.interval
	for i := 1; i < p.failures && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + time.Duration(p.a.cfg.Jitter()*float64(d/2))
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
