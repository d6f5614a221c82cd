package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// StartOptions says how the person started the app.
type StartOptions struct {
	// InviteToken, when set, is used instead of the one in the file name.
	InviteToken string
	// Interactive: once set up, wait for the person to type END or for the session to end.
	Interactive bool
}

// Start is what happens when a person runs the app: it finishes or shows an earlier
// session, or pairs this PC and sets up the session. Every refusal has been explained to
// the person when it returns; in interactive mode the window stays open until they press
// Enter.
func (a *App) Start(ctx context.Context, opt StartOptions) error {
	closed, err := a.start(ctx, opt)
	if opt.Interactive && !closed {
		a.Pause()
	}
	return err
}

func (a *App) start(ctx context.Context, opt StartOptions) (closed bool, err error) {
	a.say(msgTitle, a.cfg.Version)
	st, err := a.cfg.Store.Load()
	if err != nil {
		return false, fmt.Errorf("start: %w", err)
	}
	if st != nil {
		return a.resume(ctx, st, opt)
	}
	if err := checkServerURL(a.cfg.ServerURL, a.cfg.Development); err != nil {
		a.say(msgInsecureServer, a.cfg.ServerURL)
		return false, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	// A copy that is not the publisher's pairs nothing: checked before the server hears of
	// it, and again on the installed copy, which the service runs (install).
	if err := a.verifySigner(a.cfg.ExePath); err != nil {
		a.say(msgBadSignature, err)
		return false, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	token, err := a.inviteToken(opt)
	if err != nil {
		return false, err
	}
	info, err := a.cfg.OS.MachineInfo()
	if err != nil {
		return false, fmt.Errorf("machine info: %w", err)
	}
	client := a.client(a.cfg.ServerURL)
	if err := a.hello(ctx, client, token, info); err != nil {
		return false, err
	}
	pr, err := a.pair(ctx, client, token, info)
	if err != nil {
		return false, err
	}
	a.say(msgPaired)
	st, err = a.install(ctx, pr)
	if err != nil {
		return false, err
	}
	a.say(msgActive, a.cfg.Lang.formatTime(st.ExpiresAt))
	if !opt.Interactive {
		return false, nil
	}
	a.say(msgEndHint)
	return a.waitForEnd(ctx)
}

// Pause keeps the window open until the person has read it.
func (a *App) Pause() { a.ask(msgPressEnter) }

// NeedsAdmin tells the person that the app must run elevated.
func (a *App) NeedsAdmin() { a.say(msgNeedsAdmin) }

// verifySigner checks a release build's signature; a development build has none to check.
func (a *App) verifySigner(path string) error {
	if a.cfg.Development {
		return nil
	}
	if a.cfg.Signer == "" {
		return errors.New("this release build names no signer to check its signature against")
	}
	if err := a.cfg.OS.VerifySigner(path, a.cfg.Signer); err != nil {
		return fmt.Errorf("signature of %s: %w", path, err)
	}
	return nil
}

// capExpiry is the session's end as this PC keeps it: the server's, but never later than
// MaxSession (plus ExpirySlack) from now, whatever the server says. A server that
// answered a later time (a fault, or someone who can write its table) would otherwise
// keep an administrator account on the PC for as long as it liked.
func (a *App) capExpiry(serverSays time.Time) time.Time {
	limit := a.now().Add(a.cfg.MaxSession + ExpirySlack)
	if serverSays.After(limit) {
		a.cfg.OS.Log(LogWarning, fmt.Sprintf("The server's session end %s is more than %s away; the session ends on this PC at %s.",
			serverSays.UTC().Format(time.RFC3339), a.cfg.MaxSession, limit.UTC().Format(time.RFC3339)))
		return limit
	}
	return serverSays
}

// checkServerURL refuses plain HTTP except to this machine: the pair answer carries the
// account's password.
func checkServerURL(raw string, development bool) error {
	return checkURL("server", raw, "https", "http", development)
}

// checkURL allows the secure scheme everywhere and the plain one only to this machine in a
// development build, where the local stack runs.
func checkURL(what, raw, secure, plain string, development bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s URL %q is not an absolute URL", what, raw)
	}
	if u.Scheme == secure {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); development && u.Scheme == plain && (host == "localhost" || (ip != nil && ip.IsLoopback())) {
		return nil
	}
	return fmt.Errorf("%s URL %q is not %s", what, raw, strings.ToUpper(secure))
}

func (a *App) inviteToken(opt StartOptions) (string, error) {
	if protocol.ValidToken(opt.InviteToken) {
		return opt.InviteToken, nil
	}
	if t, ok := protocol.InviteTokenFromFileName(a.cfg.ExePath); ok {
		return t, nil
	}
	for {
		line, err := a.ask(msgAskLink)
		if err != nil {
			return "", fmt.Errorf("%w: invitation link: %w", ErrNoAnswer, err)
		}
		if t, ok := protocol.InviteTokenFromLink(line); ok {
			return t, nil
		}
		a.say(msgBadLink)
	}
}

func (a *App) hello(ctx context.Context, client *protocol.Client, token string, info MachineInfo) error {
	req := protocol.HelloRequest{
		InviteToken: token, Platform: protocol.PlatformWindows, OSVersion: info.OSVersion,
		Hostname: info.Hostname, AgentVersion: a.cfg.Version, MachineID: info.MachineID,
	}
	for {
		a.say(msgConnecting)
		resp, err := client.Hello(ctx, req)
		switch {
		case err == nil && (resp.Status == protocol.StatusInvited || resp.Status == protocol.StatusAppStarted):
			return nil
		case err == nil:
			a.say(msgAlreadyPaired)
			return fmt.Errorf("%w: invitation is %s", ErrRefused, resp.Status)
		case ctx.Err() != nil:
			return ctx.Err()
		case transient(err):
			if err := a.explainTransient(err); err != nil {
				return err
			}
		default:
			a.explain(err)
			return fmt.Errorf("%w: hello: %w", ErrRefused, err)
		}
	}
}

// transient errors are worth another try: no answer, or the server or a proxy failing.
func transient(err error) bool {
	var pe *protocol.ProblemError
	if errors.As(err, &pe) {
		return pe.HTTPStatus >= 500 || pe.HTTPStatus == http.StatusTooManyRequests
	}
	return protocol.IsOffline(err)
}

// explainTransient tells the person and waits until they want another try.
func (a *App) explainTransient(err error) error {
	if protocol.IsOffline(err) {
		a.say(msgOffline)
	} else {
		a.say(msgServerError, problemLabel(err))
	}
	if _, err := a.ask(msgRetry); err != nil {
		return fmt.Errorf("%w: retry: %w", ErrNoAnswer, err)
	}
	return nil
}

func problemLabel(err error) string {
	var pe *protocol.ProblemError
	if errors.As(err, &pe) {
		if pe.Code != "" {
			return pe.Code
		}
		return fmt.Sprintf("HTTP %d", pe.HTTPStatus)
	}
	return "error"
}

// explain tells the person why the server said no, and what to do next.
func (a *App) explain(err error) {
	switch protocol.ProblemCode(err) {
	case protocol.CodeLocked:
		a.say(msgLocked)
	case protocol.CodeExpired:
		a.say(msgExpired)
	case protocol.CodeAlreadySupported:
		a.say(msgAlreadySupported)
	case protocol.CodeUnsupportedPlatform:
		a.say(msgUnsupported)
	case protocol.CodeNotFound:
		a.say(msgNotFound)
	case protocol.CodeAlreadyPaired:
		a.say(msgAlreadyPaired)
	default:
		a.say(msgServerError, problemLabel(err))
	}
}

func (a *App) pair(ctx context.Context, client *protocol.Client, token string, info MachineInfo) (*protocol.PairResponse, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("pairing nonce: %w", err)
	}
	req := protocol.PairRequest{
		InviteToken: token, Platform: protocol.PlatformWindows, OSVersion: info.OSVersion,
		Hostname: info.Hostname, AgentVersion: a.cfg.Version, MachineID: info.MachineID,
		Nonce: hex.EncodeToString(nonce),
	}
	for {
		typed, err := a.ask(msgAskCode)
		if err != nil {
			return nil, fmt.Errorf("%w: security code: %w", ErrNoAnswer, err)
		}
		code, err := session.ParseCode(typed)
		if err != nil {
			a.say(msgCodeFormat)
			continue
		}
		req.SecurityCode = code
		pr, err := a.pairOnce(ctx, client, req)
		if err == nil {
			if err := validPair(pr, a.now()); err != nil {
				pr.Account.Password.Wipe()
				a.say(msgServerError, "pair")
				return nil, fmt.Errorf("%w: %w", ErrRefused, err)
			}
			return pr, nil
		}
		var pe *protocol.ProblemError
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.As(err, &pe) && pe.Code == protocol.CodeInvalidCode:
			if pe.AttemptsLeft != nil && *pe.AttemptsLeft == 1 {
				a.say(msgWrongCodeLast)
			} else if pe.AttemptsLeft != nil {
				a.say(msgWrongCode, *pe.AttemptsLeft)
			} else {
				a.say(msgCodeFormat)
			}
		case errors.Is(err, ErrNoAnswer):
			return nil, err
		default:
			a.explain(err)
			return nil, fmt.Errorf("%w: pair: %w", ErrRefused, err)
		}
	}
}

// pairOnce sends one code. A lost answer is retried with the same nonce, so the server
// hands the same activation out again instead of refusing the second try.
func (a *App) pairOnce(ctx context.Context, client *protocol.Client, req protocol.PairRequest) (*protocol.PairResponse, error) {
	for attempt := 0; ; attempt++ {
		pr, err := client.Pair(ctx, req)
		if err == nil || !transient(err) || ctx.Err() != nil {
			return pr, err
		}
		if attempt < 3 {
			if err := a.cfg.Clock.Sleep(ctx, time.Duration(1<<attempt)*time.Second); err != nil {
				return nil, err
			}
			continue
		}
		if err := a.explainTransient(err); err != nil {
			return nil, err
		}
		attempt = -1
	}
}

func validPair(pr *protocol.PairResponse, now time.Time) error {
	switch {
	case pr.AgentToken == "":
		return errors.New("pair answer without agent token")
	case !session.ValidUsername(pr.Account.Username):
		return errors.New("pair answer with an unusable account name")
	case len(pr.Account.Password) == 0:
		return errors.New("pair answer without password")
	case !pr.ExpiresAt.After(now):
		return errors.New("pair answer with a past expiry")
	}
	return nil
}

// install sets the PC up for the session. The state is saved before each step acts, so a
// crash leaves enough on disk to remove what was made. The password is only passed on to
// the OS, never stored or logged, and wiped as soon as the account is made (or, should
// the set-up fail before, when install returns).
func (a *App) install(ctx context.Context, pr *protocol.PairResponse) (*State, error) {
	defer pr.Account.Password.Wipe()
	osys := a.cfg.OS
	st := &State{
		Phase: PhaseSetup, ServerURL: a.cfg.ServerURL, SessionID: pr.SessionID, AgentToken: pr.AgentToken,
		ExpiresAt: a.capExpiry(pr.ExpiresAt), Interval: pr.Interval, LiveURL: pr.LiveURL, Account: pr.Account.Username, Proxy: a.cfg.Proxy,
	}
	if _, ok := protocol.InviteTokenFromFileName(a.cfg.ExePath); ok {
		st.Download = a.cfg.ExePath
	}
	if err := osys.PrepareProgramDir(); err != nil {
		return nil, a.abortUnsaved(ctx, st, fmt.Errorf("program folder: %w", err))
	}
	if err := a.cfg.Store.Save(st); err != nil {
		return nil, a.abortUnsaved(ctx, st, err)
	}
	exists, err := osys.UserExists(st.Account)
	if err != nil {
		return nil, a.abort(ctx, st, fmt.Errorf("look up account: %w", err))
	}
	if exists {
		// Someone else's account: never take it over, never delete it.
		a.say(msgAccountExists, st.Account)
		return nil, a.abort(ctx, st, fmt.Errorf("account %q already exists", st.Account))
	}
	steps := []struct {
		name string
		do   func() error
	}{
		// The app's copy and its service come first: a service registered while the state
		// still says setup cleans up at the next boot. So a crash or power cut at any later
		// step, even right after the account is made, is undone without the user's help.
		{"copy app", func() error {
			exe, err := osys.InstallExe()
			if err != nil {
				return err
			}
			st.Exe = exe
			return a.cfg.Store.Save(st)
		}},
		// The installed copy is what the service runs as SYSTEM, and it lies in a folder
		// only administrators can write: checked there, nothing can swap it afterwards (the
		// download the person started lies in a folder they can write).
		{"check signature", func() error { return a.verifySigner(st.Exe) }},
		{"uninstall entry", func() error { return osys.RegisterUninstall(st.Exe) }},
		{"register service", func() error { return osys.InstallService(st.Exe) }},
		{"own account", func() error { st.AccountOwned = true; return a.cfg.Store.Save(st) }},
		{"create account", func() error {
			defer pr.Account.Password.Wipe()
			return osys.CreateUser(st.Account, pr.Account.Password, AccountComment)
		}},
		{"account SID", func() error {
			sid, err := osys.UserSID(st.Account)
			if err != nil {
				// Only the profile's removal needs it; the account itself goes by name.
				osys.Log(LogWarning, fmt.Sprintf("SID of %s unknown: %v", st.Account, err))
				return nil
			}
			st.AccountSID = sid
			return a.cfg.Store.Save(st)
		}},
		// Hidden from the sign-in screen before it becomes an administrator.
		{"hide account", func() error { return osys.HideUser(st.Account) }},
		{"add to Administrators", func() error { return osys.AddToGroup(st.Account, AdministratorsSID) }},
		{"activate", func() error { st.Phase = PhaseActive; return a.cfg.Store.Save(st) }},
		{"start service", osys.StartService},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return nil, a.abort(ctx, st, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	osys.Log(LogInfo, fmt.Sprintf("Support session %s active until %s; hidden administrator account %s created.",
		st.SessionID, st.ExpiresAt.UTC().Format(time.RFC3339), st.Account))
	return st, nil
}

// abort undoes a failed setup and ends the session on the server.
func (a *App) abort(ctx context.Context, st *State, cause error) error {
	a.cfg.OS.Log(LogError, "Setting up the support session failed: "+cause.Error())
	a.say(msgSetupFailed, cause)
	if err := a.cleanup(ctx, st, ReasonSetupFailed); err != nil {
		a.say(msgCleanupIncomplete, err)
		return fmt.Errorf("%w: %w (clean-up: %w)", ErrSetupFailed, cause, err)
	}
	return fmt.Errorf("%w: %w", ErrSetupFailed, cause)
}

// abortUnsaved is abort before anything was made on the PC: only the server needs to
// know.
func (a *App) abortUnsaved(ctx context.Context, st *State, cause error) error {
	a.cfg.OS.Log(LogError, "Setting up the support session failed: "+cause.Error())
	a.say(msgSetupFailed, cause)
	a.reportRemoved(ctx, st)
	return fmt.Errorf("%w: %w", ErrSetupFailed, cause)
}

func (a *App) resume(ctx context.Context, st *State, opt StartOptions) (closed bool, err error) {
	if st.Phase == PhaseActive && a.now().Before(st.ExpiresAt) {
		// The service may have failed to start after a crash; it must run to end the
		// session on time.
		if err := a.cfg.OS.StartService(); err != nil {
			a.cfg.OS.Log(LogError, "start service: "+err.Error())
		}
		a.say(msgActive, a.cfg.Lang.formatTime(st.ExpiresAt))
		if !opt.Interactive {
			return false, nil
		}
		a.say(msgEndHint)
		return a.waitForEnd(ctx)
	}
	a.say(msgResumeCleanup)
	reason := st.EndReason
	if st.Phase == PhaseActive {
		reason = ReasonLocalExpiry
	} else if reason == "" {
		reason = ReasonSetupFailed
	}
	// The service may be at the same work; one worker at a time.
	if err := a.cfg.OS.StopService(); err != nil {
		a.cfg.OS.Log(LogWarning, "stop service: "+err.Error())
	}
	return false, a.cleanupAndTell(ctx, st, reason)
}

// waitForEnd waits until the person types END, or the service has ended the session.
// closed reports that the person has already pressed Enter to close the window. Only one
// read of the console is outstanding at any time, so no typed line is lost to a reader
// nobody waits for.
func (a *App) waitForEnd(ctx context.Context) (closed bool, err error) {
	type answer struct {
		line string
		err  error
	}
	read := func() <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			line, err := a.ask(msgAskEnd)
			ch <- answer{strings.TrimSpace(line), err}
		}()
		return ch
	}
	pending := read()
	watch := a.afterWatch(ctx)
	for {
		select {
		case ans := <-pending:
			if ans.err != nil {
				// Nobody can type: the service carries on alone.
				return true, nil
			}
			if a.cfg.Lang.isEndWord(ans.line) {
				return false, a.EndByUser(ctx, false)
			}
			pending = read()
		case <-ctx.Done():
			return true, ctx.Err()
		case <-watch:
			if st, err := a.cfg.Store.Load(); err == nil && st == nil {
				a.say(msgRemoved)
				a.say(msgPressEnter)
				<-pending
				return true, nil
			}
			watch = a.afterWatch(ctx)
		}
	}
}

// afterWatch is how often the window checks whether the service has ended the session.
func (a *App) afterWatch(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		if a.cfg.Clock.Sleep(ctx, 5*time.Second) == nil {
			close(ch)
		}
	}()
	return ch
}

// EndByUser is "end session and remove app": it tells the server and removes everything.
// With confirm, the person is asked first.
func (a *App) EndByUser(ctx context.Context, confirm bool) error {
	st, err := a.cfg.Store.Load()
	if err != nil {
		return fmt.Errorf("end: %w", err)
	}
	if st == nil {
		a.say(msgNoSession)
		return ErrNoSession
	}
	if confirm {
		answer, err := a.ask(msgConfirmEnd)
		if err != nil || !a.cfg.Lang.isYes(strings.TrimSpace(answer)) {
			return nil
		}
	}
	a.say(msgEnding)
	if err := a.cfg.OS.StopService(); err != nil {
		a.cfg.OS.Log(LogWarning, "stop service: "+err.Error())
	}
	if st.Phase == PhaseActive {
		ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := a.client(st.ServerURL).End(ectx, st.AgentToken)
		cancel()
		if err != nil {
			// The clean-up goes ahead: the person asked for it, and removed tells the
			// server the same when it can be reached.
			a.cfg.OS.Log(LogWarning, "end session on the server: "+err.Error())
		}
	}
	return a.cleanupAndTell(ctx, st, ReasonEndedByUser)
}

func (a *App) cleanupAndTell(ctx context.Context, st *State, reason string) error {
	if err := a.cleanup(ctx, st, reason); err != nil {
		a.say(msgCleanupIncomplete, err)
		// Let the service retry; it also runs at the next boot.
		if serr := a.cfg.OS.StartService(); serr != nil {
			a.cfg.OS.Log(LogError, "restart service for the clean-up: "+serr.Error())
		}
		return err
	}
	if st.RemovedReported {
		a.say(msgRemoved)
	} else {
		a.say(msgRemovedUnreported)
	}
	return nil
}
