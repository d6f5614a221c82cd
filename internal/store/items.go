package store

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Key prefixes and fixed sort keys of the item types (doc.go lists them).
const (
	prefixSession = "SESSION#"
	prefixAudit   = "AUDIT#"
	prefixInvite  = "INVITE#"
	prefixAgent   = "AGENT#"
	prefixTech    = "TECH#"
	prefixMachine = "MACHINE#"
	prefixAccount = "ACCOUNT#"

	skSession = "SESSION"
	skInvite  = "INVITE"
	skAgent   = "AGENT"
	skLock    = "LOCK"
	skAccount = "ACCOUNT"
)

// auditRetention is how long audit entries are kept.
const auditRetention = 90 * 24 * time.Hour

// fixedTime formats times in UTC with all nine fractional digits, so that the strings
// sort like the times they stand for (time.RFC3339Nano drops trailing zeros and does not).
const fixedTime = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(fixedTime)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// epochCeil is t in epoch seconds, rounded up: a stored deadline is never earlier than the
// real one, so "deadline <= now" in a query or condition never fires before its time.
func epochCeil(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}

// Key parts come from callers (account ids, technician ids, session ids). '#' separates
// the parts of a key, so it is escaped inside a part (and '%', the escape character),
// which keeps "a#b"+"c" and "a"+"b#c" apart.
var (
	keyEscaper   = strings.NewReplacer("%", "%25", "#", "%23")
	keyUnescaper = strings.NewReplacer("%23", "#", "%25", "%")
)

func sessionPK(id string) string          { return prefixSession + keyEscaper.Replace(id) }
func invitePK(hash []byte) string         { return prefixInvite + hex.EncodeToString(hash) }
func agentPK(hash []byte) string          { return prefixAgent + hex.EncodeToString(hash) }
func machinePK(machineHash string) string { return prefixMachine + keyEscaper.Replace(machineHash) }
func accountPK(account string) string     { return prefixAccount + keyEscaper.Replace(account) }
func techPK(account, technician string) string {
	return prefixTech + keyEscaper.Replace(account) + "#" + keyEscaper.Replace(technician)
}

// auditSK orders a session's audit entries by time, then by sequence number.
func auditSK(at time.Time, seq int) string {
	return fmt.Sprintf("%s%s#%010d", prefixAudit, at.UTC().Format(fixedTime), seq)
}

// idFromSessionPK is the session id of a session item's partition key.
func idFromSessionPK(pk string) (string, error) {
	rest, ok := strings.CutPrefix(pk, prefixSession)
	if !ok {
		return "", fmt.Errorf("not a session key: %q", pk)
	}
	return keyUnescaper.Replace(rest), nil
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		KeyPK: &types.AttributeValueMemberS{Value: pk},
		KeySK: &types.AttributeValueMemberS{Value: sk},
	}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// sessionItem is a session as stored. Times are fixed-width UTC strings (see fixedTime);
// the index and TTL attributes are numbers of epoch seconds.
type sessionItem struct {
	PK   string `dynamodbav:"pk"`
	SK   string `dynamodbav:"sk"`
	Kind string `dynamodbav:"kind"`

	ID              string `dynamodbav:"id"`
	Account         string `dynamodbav:"account"`
	Technician      string `dynamodbav:"technician"`
	TechnicianEmail string `dynamodbav:"technicianEmail,omitempty"`
	TechnicianName  string `dynamodbav:"technicianName,omitempty"`
	UserEmail       string `dynamodbav:"userEmail,omitempty"`
	Locale          string `dynamodbav:"locale,omitempty"`
	Username        string `dynamodbav:"username,omitempty"`
	Status          string `dynamodbav:"status"`
	Version         int    `dynamodbav:"version"`

	CreatedAt       string `dynamodbav:"createdAt,omitempty"`
	InviteExpiresAt string `dynamodbav:"inviteExpiresAt,omitempty"`
	ActivatedAt     string `dynamodbav:"activatedAt,omitempty"`
	ExpiresAt       string `dynamodbav:"expiresAt,omitempty"`
	EndedAt         string `dynamodbav:"endedAt,omitempty"`
	RemovedAt       string `dynamodbav:"removedAt,omitempty"`
	EndReason       string `dynamodbav:"endReason,omitempty"`

	InviteTokenHash  []byte `dynamodbav:"inviteTokenHash,omitempty"`
	CodeMAC          []byte `dynamodbav:"codeMac,omitempty"`
	FailedAttempts   int    `dynamodbav:"failedAttempts,omitempty"`
	Sealing          int    `dynamodbav:"sealing,omitempty"`
	SealedPassword   []byte `dynamodbav:"sealedPassword,omitempty"`
	SealedAgentToken []byte `dynamodbav:"sealedAgentToken,omitempty"`
	AgentTokenHash   []byte `dynamodbav:"agentTokenHash,omitempty"`
	PairNonce        string `dynamodbav:"pairNonce,omitempty"`
	SecretsUntil     string `dynamodbav:"secretsUntil,omitempty"`

	Platform     string `dynamodbav:"platform,omitempty"`
	OSVersion    string `dynamodbav:"osVersion,omitempty"`
	Hostname     string `dynamodbav:"hostname,omitempty"`
	AgentVersion string `dynamodbav:"agentVersion,omitempty"`
	MachineHash  string `dynamodbav:"machineHash,omitempty"`
	LastSeenAt   string `dynamodbav:"lastSeenAt,omitempty"`

	LiveConnection string `dynamodbav:"liveConnection,omitempty"`
	LiveSince      string `dynamodbav:"liveSince,omitempty"`

	Remote     *remoteItem       `dynamodbav:"remote,omitempty"`
	Unreported []remoteStartItem `dynamodbav:"unreported,omitempty"`

	TTL int64 `dynamodbav:"ttl,omitempty"`
	// DuePK and DueAt exist only while the session is not terminal: a Put of a terminal
	// session drops them, which takes it out of the sparse byDue index.
	DuePK     string `dynamodbav:"duePk,omitempty"`
	DueAt     int64  `dynamodbav:"dueAt,omitempty"`
	AccountPK string `dynamodbav:"accountPk"`
	CreatedSK string `dynamodbav:"createdSk"`
}

// remoteItem is a session's current remote connection (a map in the session item).
type remoteItem struct {
	ID             string `dynamodbav:"id"`
	Technician     string `dynamodbav:"technician"`
	TechnicianName string `dynamodbav:"technicianName,omitempty"`
	Console        string `dynamodbav:"console,omitempty"`
	StartedAt      string `dynamodbav:"startedAt"`
	PendingUntil   string `dynamodbav:"pendingUntil"`
	ConnectedAt    string `dynamodbav:"connectedAt,omitempty"`
}

// remoteStartItem is a remote connection whose end the app has not reported yet.
type remoteStartItem struct {
	ID         string `dynamodbav:"id"`
	Technician string `dynamodbav:"technician"`
	StartedAt  string `dynamodbav:"startedAt"`
}

func marshalRemote(s session.Session) (*remoteItem, []remoteStartItem) {
	var cur *remoteItem
	if r := s.Remote; r != nil {
		cur = &remoteItem{ID: r.ID, Technician: r.Technician, TechnicianName: r.TechnicianName, Console: r.Console,
			StartedAt: formatTime(r.StartedAt), PendingUntil: formatTime(r.PendingUntil), ConnectedAt: formatTime(r.ConnectedAt)}
	}
	var starts []remoteStartItem
	for _, u := range s.Unreported {
		starts = append(starts, remoteStartItem{ID: u.ID, Technician: u.Technician, StartedAt: formatTime(u.StartedAt)})
	}
	return cur, starts
}

func unmarshalRemote(it sessionItem, s *session.Session) error {
	if r := it.Remote; r != nil {
		cur := &session.Remote{ID: r.ID, Technician: r.Technician, TechnicianName: r.TechnicianName, Console: r.Console}
		for _, f := range []struct {
			dst *time.Time
			src string
		}{{&cur.StartedAt, r.StartedAt}, {&cur.PendingUntil, r.PendingUntil}, {&cur.ConnectedAt, r.ConnectedAt}} {
			t, err := parseTime(f.src)
			if err != nil {
				return fmt.Errorf("remote %s: %w", r.ID, err)
			}
			*f.dst = t
		}
		s.Remote = cur
	}
	for _, u := range it.Unreported {
		at, err := parseTime(u.StartedAt)
		if err != nil {
			return fmt.Errorf("remote %s: %w", u.ID, err)
		}
		s.Unreported = append(s.Unreported, session.RemoteStart{ID: u.ID, Technician: u.Technician, StartedAt: at})
	}
	return nil
}

func validateSession(s session.Session) error {
	switch {
	case s.ID == "":
		return fmt.Errorf("session without id")
	case s.Account == "":
		return fmt.Errorf("session %s without account", s.ID)
	case s.Technician == "":
		return fmt.Errorf("session %s without technician", s.ID)
	case !s.Status.Valid():
		return fmt.Errorf("session %s: unknown status %q", s.ID, s.Status)
	case s.CreatedAt.IsZero():
		return fmt.Errorf("session %s without creation time", s.ID)
	}
	return nil
}

func marshalSession(s session.Session) (map[string]types.AttributeValue, error) {
	it := sessionItem{
		PK: sessionPK(s.ID), SK: skSession, Kind: "session",
		ID: s.ID, Account: s.Account, Technician: s.Technician,
		TechnicianEmail: s.TechnicianEmail, TechnicianName: s.TechnicianName,
		UserEmail: s.UserEmail, Locale: s.Locale, Username: s.Username,
		Status: string(s.Status), Version: s.Version,
		CreatedAt:       formatTime(s.CreatedAt),
		InviteExpiresAt: formatTime(s.InviteExpiresAt),
		ActivatedAt:     formatTime(s.ActivatedAt),
		ExpiresAt:       formatTime(s.ExpiresAt),
		EndedAt:         formatTime(s.EndedAt),
		RemovedAt:       formatTime(s.RemovedAt),
		EndReason:       string(s.EndReason),
		InviteTokenHash: s.InviteTokenHash, CodeMAC: s.CodeMAC, FailedAttempts: s.FailedAttempts,
		Sealing: int(s.Sealing), SealedPassword: s.SealedPassword, SealedAgentToken: s.SealedAgentToken,
		AgentTokenHash: s.AgentTokenHash, PairNonce: s.PairNonce, SecretsUntil: formatTime(s.SecretsUntil),
		Platform: s.Computer.Platform, OSVersion: s.Computer.OSVersion, Hostname: s.Computer.Hostname,
		AgentVersion: s.Computer.AgentVersion, MachineHash: s.Computer.MachineHash,
		LastSeenAt:     formatTime(s.LastSeenAt),
		LiveConnection: s.LiveConnection, LiveSince: formatTime(s.LiveSince),
		AccountPK: accountPK(s.Account),
		CreatedSK: formatTime(s.CreatedAt) + "#" + s.ID,
	}
	it.Remote, it.Unreported = marshalRemote(s)
	if ttl := s.TTL(); !ttl.IsZero() {
		it.TTL = epochCeil(ttl)
	}
	if due := s.DueAt(); !s.Status.Terminal() && !due.IsZero() {
		it.DuePK = DuePartition
		it.DueAt = epochCeil(due)
	}
	m, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal session %s: %w", s.ID, err)
	}
	return m, nil
}

func unmarshalSession(m map[string]types.AttributeValue) (session.Session, error) {
	var it sessionItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return session.Session{}, fmt.Errorf("unmarshal session: %w", err)
	}
	s := session.Session{
		ID: it.ID, Account: it.Account, Technician: it.Technician,
		TechnicianEmail: it.TechnicianEmail, TechnicianName: it.TechnicianName,
		UserEmail: it.UserEmail, Locale: it.Locale, Username: it.Username,
		Status: session.State(it.Status), Version: it.Version,
		EndReason:       session.Reason(it.EndReason),
		InviteTokenHash: it.InviteTokenHash, CodeMAC: it.CodeMAC, FailedAttempts: it.FailedAttempts,
		Sealing: session.Sealing(it.Sealing), SealedPassword: it.SealedPassword, SealedAgentToken: it.SealedAgentToken,
		AgentTokenHash: it.AgentTokenHash, PairNonce: it.PairNonce,
		LiveConnection: it.LiveConnection,
		Computer: session.Computer{
			Platform: it.Platform, OSVersion: it.OSVersion, Hostname: it.Hostname,
			AgentVersion: it.AgentVersion, MachineHash: it.MachineHash,
		},
	}
	for _, f := range []struct {
		dst *time.Time
		src string
	}{
		{&s.CreatedAt, it.CreatedAt}, {&s.InviteExpiresAt, it.InviteExpiresAt},
		{&s.ActivatedAt, it.ActivatedAt}, {&s.ExpiresAt, it.ExpiresAt},
		{&s.EndedAt, it.EndedAt}, {&s.RemovedAt, it.RemovedAt}, {&s.LastSeenAt, it.LastSeenAt},
		{&s.LiveSince, it.LiveSince}, {&s.SecretsUntil, it.SecretsUntil},
	} {
		t, err := parseTime(f.src)
		if err != nil {
			return session.Session{}, fmt.Errorf("session %s: %w", it.ID, err)
		}
		*f.dst = t
	}
	if err := unmarshalRemote(it, &s); err != nil {
		return session.Session{}, fmt.Errorf("session %s: %w", it.ID, err)
	}
	return s, nil
}

// auditItem is one audit entry as stored, in its session's partition.
type auditItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Kind      string `dynamodbav:"kind"`
	SessionID string `dynamodbav:"sessionId"`
	At        string `dynamodbav:"at"`
	Seq       int    `dynamodbav:"seq"`
	Action    string `dynamodbav:"action"`
	From      string `dynamodbav:"from,omitempty"`
	To        string `dynamodbav:"to,omitempty"`
	ActorKind string `dynamodbav:"actorKind,omitempty"`
	ActorID   string `dynamodbav:"actorId,omitempty"`
	Reason    string `dynamodbav:"reason,omitempty"`
	Detail    string `dynamodbav:"detail,omitempty"`
	// The session's owner, so that the trail can be shown without the session item, which
	// storage drops long before the trail's 90 days are over.
	Account    string `dynamodbav:"account,omitempty"`
	Technician string `dynamodbav:"technician,omitempty"`
	TTL        int64  `dynamodbav:"ttl"`
}

// marshalAudit stores e under the session sess, whatever e.SessionID, e.Account and
// e.Technician say: an entry always belongs to the session written in the same transaction.
func marshalAudit(sess session.Session, e session.AuditEntry) (map[string]types.AttributeValue, error) {
	sessionID := sess.ID
	if e.At.IsZero() {
		return nil, fmt.Errorf("audit entry of session %s without time", sessionID)
	}
	it := auditItem{
		PK: sessionPK(sessionID), SK: auditSK(e.At, e.Seq), Kind: "audit",
		SessionID: sessionID, At: formatTime(e.At), Seq: e.Seq, Action: e.Action,
		From: string(e.From), To: string(e.To), ActorKind: e.Actor.Kind, ActorID: e.Actor.ID,
		Reason: string(e.Reason), Detail: e.Detail, Account: sess.Account, Technician: sess.Technician,
		TTL: epochCeil(e.At.Add(auditRetention)),
	}
	m, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal audit entry of session %s: %w", sessionID, err)
	}
	return m, nil
}

func unmarshalAudit(m map[string]types.AttributeValue) (session.AuditEntry, error) {
	var it auditItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return session.AuditEntry{}, fmt.Errorf("unmarshal audit entry: %w", err)
	}
	at, err := parseTime(it.At)
	if err != nil {
		return session.AuditEntry{}, fmt.Errorf("audit entry of session %s: %w", it.SessionID, err)
	}
	return session.AuditEntry{
		SessionID: it.SessionID, At: at, Seq: it.Seq, Action: it.Action,
		From: session.State(it.From), To: session.State(it.To),
		Actor:  session.Actor{Kind: it.ActorKind, ID: it.ActorID},
		Reason: session.Reason(it.Reason), Detail: it.Detail,
		Account: it.Account, Technician: it.Technician,
	}, nil
}

// lookupItem leads from a token hash, a technician or a machine to a session. ExpiresAt
// is set only on machine locks.
type lookupItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Kind      string `dynamodbav:"kind"`
	SessionID string `dynamodbav:"sessionId"`
	ExpiresAt int64  `dynamodbav:"expiresAt,omitempty"`
	TTL       int64  `dynamodbav:"ttl,omitempty"`
	// Technician locks only: they are listed per account through byAccount, after the
	// sessions (createdSk "LOCK#<technician>" sorts after every "<time>#<id>").
	Technician string `dynamodbav:"technician,omitempty"`
	AccountPK  string `dynamodbav:"accountPk,omitempty"`
	CreatedSK  string `dynamodbav:"createdSk,omitempty"`
}

// lockSKPrefix starts the byAccount sort key of a technician lock. Session sort keys start
// with a year's digits, which sort before it.
const lockSKPrefix = "LOCK#"

func marshalLookup(it lookupItem) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal %s item: %w", it.Kind, err)
	}
	return m, nil
}

// accountItem holds an account's limits and the counters the transactions keep.
type accountItem struct {
	Account    string `dynamodbav:"account"`
	Slots      int    `dynamodbav:"slots"`
	AdhocCap   int    `dynamodbav:"adhocCap"`
	Used       int    `dynamodbav:"used"`
	AdhocInUse int    `dynamodbav:"adhocInUse"`
}

func unmarshalAccount(m map[string]types.AttributeValue) (support.Account, error) {
	var it accountItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		return support.Account{}, fmt.Errorf("unmarshal account: %w", err)
	}
	return support.Account{
		ID:         it.Account,
		Limits:     support.Limits{Slots: it.Slots, AdhocCap: it.AdhocCap},
		Used:       it.Used,
		AdhocInUse: it.AdhocInUse,
	}, nil
}
