// Package views is how the API shows what the use cases of internal/support return: the
// JSON bodies of api/openapi.yaml (httpapi answers with them) and the messages of
// api/asyncapi.yaml that the live channel pushes (Presenter writes them). Both draw on the
// one SessionView, so a console pushed a session sees exactly what GET
// /v1/sessions/{id} answers.
//
// It is its own small package, not part of httpapi, because every function pushes after
// its commits: the live function's bootstrap links views and support but not httpapi's
// handlers and HTML templates.
package views

import (
	"time"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// SessionView is what a technician sees of a session: never a secret.
type SessionView struct {
	ID              string        `json:"id"`
	Status          string        `json:"status"`
	Technician      string        `json:"technician"`
	TechnicianName  string        `json:"technicianName,omitempty"`
	UserEmail       string        `json:"email"`
	Locale          string        `json:"locale"`
	Username        string        `json:"username"`
	CreatedAt       time.Time     `json:"createdAt"`
	InviteExpiresAt time.Time     `json:"inviteExpiresAt"`
	ActivatedAt     *time.Time    `json:"activatedAt,omitempty"`
	ExpiresAt       *time.Time    `json:"expiresAt,omitempty"`
	EndedAt         *time.Time    `json:"endedAt,omitempty"`
	EndReason       string        `json:"endReason,omitempty"`
	AttemptsLeft    int           `json:"attemptsLeft"`
	Computer        *ComputerView `json:"computer,omitempty"`
	Remote          *RemoteView   `json:"remote,omitempty"`
}

// RemoteView is the session's remote connection while one is pending or connected, so
// that every console that may see the session sees who is connecting.
type RemoteView struct {
	RemoteID   string `json:"remoteId"`
	Technician string `json:"technician"`
	State      string `json:"state"` // pending or connected
}

// StartedRemoteView is the answer to POST /v1/sessions/{id}/remote: what the console's
// RTCPeerConnection needs.
type StartedRemoteView struct {
	RemoteID   string               `json:"remoteId"`
	ICEServers []protocol.ICEServer `json:"iceServers"`
	ExpiresAt  time.Time            `json:"expiresAt"`
}

// StartedRemote is the view of a remote connection just started.
func StartedRemote(r support.RemoteStarted) StartedRemoteView {
	return StartedRemoteView{RemoteID: r.RemoteID, ICEServers: r.ICEServers, ExpiresAt: r.ExpiresAt}
}

// ComputerView is the PC a session runs on, as the technician sees it.
type ComputerView struct {
	Hostname     string     `json:"hostname"`
	OSVersion    string     `json:"osVersion"`
	AgentVersion string     `json:"agentVersion,omitempty"`
	Online       bool       `json:"online"`
	LastSeenAt   *time.Time `json:"lastSeenAt,omitempty"`
}

// Session is the view of one session.
func Session(v support.SessionInfo) SessionView {
	out := SessionView{
		ID: v.ID, Status: string(v.Status), Technician: v.TechnicianEmail, TechnicianName: v.TechnicianName,
		UserEmail: v.UserEmail, Locale: v.Locale, Username: v.Username,
		CreatedAt: v.CreatedAt, InviteExpiresAt: v.InviteExpiresAt,
		ActivatedAt: optTime(v.ActivatedAt), ExpiresAt: optTime(v.ExpiresAt), EndedAt: optTime(v.EndedAt),
		EndReason: string(v.EndReason), AttemptsLeft: v.AttemptsLeft,
	}
	if c := v.Computer; c != nil {
		out.Computer = &ComputerView{
			Hostname: c.Hostname, OSVersion: c.OSVersion, AgentVersion: c.AgentVersion,
			Online: c.Online, LastSeenAt: optTime(c.LastSeenAt),
		}
	}
	if r := v.Remote; r != nil {
		out.Remote = &RemoteView{RemoteID: r.ID, Technician: r.Technician, State: string(r.State)}
	}
	return out
}

// Sessions is the view of a listing, in its order.
func Sessions(list []support.SessionInfo) []SessionView {
	out := make([]SessionView, 0, len(list))
	for _, v := range list {
		out = append(out, Session(v))
	}
	return out
}

// InvitationView is the answer to a new invitation. SecurityCode is shown once and never
// again.
type InvitationView struct {
	ID              string    `json:"id"`
	SecurityCode    string    `json:"securityCode"`
	Status          string    `json:"status"`
	InviteExpiresAt time.Time `json:"inviteExpiresAt"`
	Username        string    `json:"username"`
}

// Invitation is the view of a new invitation.
func Invitation(inv support.Invitation) InvitationView {
	return InvitationView{
		ID: inv.ID, SecurityCode: inv.SecurityCode, Status: string(inv.Status),
		InviteExpiresAt: inv.InviteExpiresAt, Username: inv.Username,
	}
}

// AuditView is one audit entry as the technician sees it.
type AuditView struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Audit is the view of a session's trail, in its order.
func Audit(entries []session.AuditEntry) []AuditView {
	out := make([]AuditView, 0, len(entries))
	for _, e := range entries {
		out = append(out, AuditView{
			At: e.At, Action: e.Action, From: string(e.From), To: string(e.To),
			Actor: e.Actor.Kind, By: e.Actor.ID, Reason: string(e.Reason), Detail: e.Detail,
		})
	}
	return out
}

// ComputerEntry is one PC of the computer group "Ad-hoc support sessions".
type ComputerEntry struct {
	SessionID    string     `json:"sessionId"`
	Hostname     string     `json:"hostname"`
	OSVersion    string     `json:"osVersion"`
	Technician   string     `json:"technician"`
	Online       bool       `json:"online"`
	LastSeenAt   *time.Time `json:"lastSeenAt,omitempty"`
	ActivatedAt  time.Time  `json:"activatedAt"`
	ExpiresAt    time.Time  `json:"expiresAt"`
	SecondsLeft  int        `json:"secondsLeft"`
	AgentVersion string     `json:"agentVersion,omitempty"`
}

// Computers is the view of the computer group, in its order.
func Computers(list []support.Computer) []ComputerEntry {
	out := make([]ComputerEntry, 0, len(list))
	for _, c := range list {
		out = append(out, ComputerEntry{
			SessionID: c.SessionID, Hostname: c.Hostname, OSVersion: c.OSVersion,
			Technician: c.TechnicianEmail, Online: c.Online, LastSeenAt: optTime(c.LastSeenAt),
			ActivatedAt: c.ActivatedAt, ExpiresAt: c.ExpiresAt, SecondsLeft: int(c.Left / time.Second),
			AgentVersion: c.AgentVersion,
		})
	}
	return out
}

// AccountView is an account's slots and ad-hoc cap.
type AccountView struct {
	Account    string `json:"account"`
	Slots      int    `json:"slots"`
	Used       int    `json:"used"`
	Free       int    `json:"free"`
	AdhocCap   int    `json:"adhocCap"`
	AdhocInUse int    `json:"adhocInUse"`
}

// Account is the view of an account.
func Account(a support.Account) AccountView {
	return AccountView{
		Account: a.ID, Slots: a.Limits.Slots, Used: a.Used, Free: a.Free(),
		AdhocCap: a.Limits.AdhocCap, AdhocInUse: a.AdhocInUse,
	}
}

// TicketView is a console's one-use ticket for the live channel: URL is where to connect,
// the ticket already in its query.
type TicketView struct {
	Ticket    string    `json:"ticket"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Ticket is the view of a live ticket.
func Ticket(t support.LiveTicket) TicketView {
	return TicketView{Ticket: t.Ticket, URL: t.URL, ExpiresAt: t.ExpiresAt}
}

// AgentStatus is the status the app is told (protocol.Status*) for a session's state. The
// app's protocol uses the states' own names; this is the one place that says so.
func AgentStatus(st session.State) string {
	switch st {
	case session.Invited:
		return protocol.StatusInvited
	case session.AppStarted:
		return protocol.StatusAppStarted
	case session.Active:
		return protocol.StatusActive
	case session.Expired:
		return protocol.StatusExpired
	case session.Ended:
		return protocol.StatusEnded
	}
	return string(st)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
