package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Store is support.Store on one DynamoDB table (see doc.go).
type Store struct {
	db    *dynamodb.Client
	table string
	clock clock.Clock
}

var _ support.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that decides whether a lookup or a machine lock has expired
// (nil: the real clock). Tests of expiry use it.
func WithClock(c clock.Clock) Option {
	return func(s *Store) { s.clock = clock.Or(c) }
}

// New is a store on an existing table (CreateTable makes one).
func New(client *dynamodb.Client, table string, opts ...Option) *Store {
	s := &Store{db: client, table: table, clock: clock.Real{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Cancellation reason codes of a cancelled transaction.
const (
	reasonConditionFailed = "ConditionalCheckFailed"
	reasonConflict        = "TransactionConflict"
	reasonThrottled       = "ThrottlingError"
)

// The non-terminal states, for conditions that must hold only while a session still holds
// its slot (so that a slot is never given back twice).
var holdingStates = []session.State{session.Invited, session.AppStarted, session.Active}

func holdingStateValues(v map[string]types.AttributeValue) {
	for i, st := range holdingStates {
		v[fmt.Sprintf(":hold%d", i)] = str(string(st))
	}
}

const holdingCondition = "#status IN (:hold0, :hold1, :hold2)"

// CreateInvitation implements support.Store (one transaction of five items).
func (s *Store) CreateInvitation(ctx context.Context, sess session.Session, lookupUntil time.Time, defaults support.Limits, audit session.AuditEntry) error {
	if err := validateSession(sess); err != nil {
		return fmt.Errorf("create invitation: %w", err)
	}
	if sess.Version != 1 {
		return fmt.Errorf("create invitation %s: version %d, want 1", sess.ID, sess.Version)
	}
	if sess.Status.Terminal() {
		return fmt.Errorf("create invitation %s: terminal status %s", sess.ID, sess.Status)
	}
	if len(sess.InviteTokenHash) == 0 {
		return fmt.Errorf("create invitation %s: no invite token hash", sess.ID)
	}
	item, err := marshalSession(sess)
	if err != nil {
		return fmt.Errorf("create invitation: %w", err)
	}
	invite, err := marshalLookup(lookupItem{PK: invitePK(sess.InviteTokenHash), SK: skInvite, Kind: "invite",
		SessionID: sess.ID, TTL: epochCeil(lookupUntil)})
	if err != nil {
		return fmt.Errorf("create invitation %s: %w", sess.ID, err)
	}
	lock, err := marshalLookup(lookupItem{PK: techPK(sess.Account, sess.Technician), SK: skLock, Kind: "techLock", SessionID: sess.ID,
		Technician: sess.Technician, AccountPK: accountPK(sess.Account), CreatedSK: lockSKPrefix + keyEscaper.Replace(sess.Technician)})
	if err != nil {
		return fmt.Errorf("create invitation %s: %w", sess.ID, err)
	}
	auditRec, err := marshalAudit(sess, audit)
	if err != nil {
		return fmt.Errorf("create invitation: %w", err)
	}

	// The account item may not exist yet: if_not_exists gives it the defaults. Comparisons
	// with a missing attribute are false, so a missing item passes only through the
	// attribute_not_exists branch, which exists only when the defaults allow a session.
	// The same rules as session.CheckReservation, as a condition.
	accountCond := "#used < #slots AND #inUse < #cap"
	accountNames := map[string]string{"#slots": "slots", "#cap": "adhocCap",
		"#used": "used", "#inUse": "adhocInUse", "#account": "account", "#kind": "kind"}
	if defaults.Slots >= 1 && defaults.AdhocCap >= 1 {
		accountCond = "attribute_not_exists(#pk) OR (" + accountCond + ")"
		accountNames["#pk"] = KeyPK
	}
	const (
		iSession = iota
		iInvite
		iLock
		iAccount
		iAudit
	)
	items := []types.TransactWriteItem{
		iSession: {Put: &types.Put{TableName: &s.table, Item: item,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": KeyPK}}},
		iInvite: {Put: &types.Put{TableName: &s.table, Item: invite,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": KeyPK}}},
		iLock: {Put: &types.Put{TableName: &s.table, Item: lock,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": KeyPK}}},
		iAccount: {Update: &types.Update{TableName: &s.table, Key: key(accountPK(sess.Account), skAccount),
			UpdateExpression: aws.String("SET #slots = if_not_exists(#slots, :defSlots), #cap = if_not_exists(#cap, :defCap), " +
				"#used = if_not_exists(#used, :zero) + :one, #inUse = if_not_exists(#inUse, :zero) + :one, " +
				"#account = :account, #kind = :kind"),
			ConditionExpression:      aws.String(accountCond),
			ExpressionAttributeNames: accountNames,
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":defSlots": num(int64(defaults.Slots)), ":defCap": num(int64(defaults.AdhocCap)),
				":zero": num(0), ":one": num(1), ":account": str(sess.Account), ":kind": str("account")},
			// On failure the old item tells which of the two limits was reached.
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		iAudit: {Put: &types.Put{TableName: &s.table, Item: auditRec}},
	}
	reasons, err := s.transact(ctx, items)
	switch {
	case err == nil:
		return nil
	case failed(reasons, iLock):
		return fmt.Errorf("create invitation %s: %w", sess.ID, support.ErrTechnicianBusy)
	case failed(reasons, iAccount):
		return fmt.Errorf("create invitation %s: %w", sess.ID, accountRefusal(reasons[iAccount].Item, defaults))
	case failed(reasons, iSession), failed(reasons, iInvite):
		// A session id or token already taken: both are random, so this is a caller that
		// retried a create that had succeeded.
		return fmt.Errorf("create invitation %s: session or invite token exists: %w", sess.ID, support.ErrConflict)
	}
	return fmt.Errorf("create invitation %s: %w", sess.ID, err)
}

// accountRefusal tells which limit refused an invitation, from the account item as it
// was (nil when it did not exist and the defaults applied).
func accountRefusal(old map[string]types.AttributeValue, defaults support.Limits) error {
	a := support.Account{Limits: defaults}
	if old != nil {
		var err error
		if a, err = unmarshalAccount(old); err != nil {
			return err
		}
	}
	if err := session.CheckReservation(false, a.Used, a.Limits.Slots, a.AdhocInUse, a.Limits.AdhocCap); err != nil {
		return err
	}
	// The condition failed on an item whose counts allow a session: not possible with the
	// item DynamoDB returns, but the cap is the safer thing to report than success.
	return support.ErrCapReached
}

// RollbackInvitation implements support.Store (a query for the audit keys, then one
// transaction of 4 + audit entries items).
func (s *Store) RollbackInvitation(ctx context.Context, sess session.Session) error {
	if err := validateSession(sess); err != nil {
		return fmt.Errorf("rollback invitation: %w", err)
	}
	auditKeys, err := s.auditKeys(ctx, sess.ID)
	if err != nil {
		return fmt.Errorf("rollback invitation %s: %w", sess.ID, err)
	}
	if len(auditKeys) > 90 {
		return fmt.Errorf("rollback invitation %s: %d audit entries, too many for one transaction", sess.ID, len(auditKeys))
	}
	cond := map[string]types.AttributeValue{":v": num(int64(sess.Version))}
	holdingStateValues(cond)
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: key(sessionPK(sess.ID), skSession),
			ConditionExpression:       aws.String("#version = :v AND " + holdingCondition),
			ExpressionAttributeNames:  map[string]string{"#version": "version", "#status": "status"},
			ExpressionAttributeValues: cond}},
		{Delete: &types.Delete{TableName: &s.table, Key: key(techPK(sess.Account, sess.Technician), skLock)}},
		releaseSlot(s.table, sess.Account),
	}
	if len(sess.InviteTokenHash) > 0 {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(invitePK(sess.InviteTokenHash), skInvite)}})
	}
	for _, k := range auditKeys {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: k}})
	}
	reasons, err := s.transact(ctx, items)
	switch {
	case err == nil:
		return nil
	case failed(reasons, 0):
		return fmt.Errorf("rollback invitation %s: %w", sess.ID, support.ErrConflict)
	}
	return fmt.Errorf("rollback invitation %s: %w", sess.ID, err)
}

// releaseSlot gives an account's slot and ad-hoc counter back.
func releaseSlot(table, account string) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{TableName: &table, Key: key(accountPK(account), skAccount),
		UpdateExpression:          aws.String("SET #used = #used - :one, #inUse = #inUse - :one"),
		ExpressionAttributeNames:  map[string]string{"#used": "used", "#inUse": "adhocInUse"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)}}}
}

// auditKeys lists the keys of a session's audit entries (strongly consistent).
func (s *Store) auditKeys(ctx context.Context, id string) ([]map[string]types.AttributeValue, error) {
	var keys []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, s.auditQuery(id, aws.String("#pk, #sk")))
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query audit keys: %w", err)
		}
		keys = append(keys, page.Items...)
	}
	return keys, nil
}

func (s *Store) auditQuery(id string, projection *string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:                &s.table,
		ConsistentRead:           aws.Bool(true),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :audit)"),
		ProjectionExpression:     projection,
		ExpressionAttributeNames: map[string]string{"#pk": KeyPK, "#sk": KeySK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(sessionPK(id)), ":audit": str(prefixAudit)},
	}
}

// Commit implements support.Store (one transaction of 1 to 6 items; one more call to
// delete the machine lock with ReleaseMachine).
func (s *Store) Commit(ctx context.Context, c support.Change) error {
	sess := c.Session
	if err := validateSession(sess); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if sess.Version < 2 {
		return fmt.Errorf("commit session %s: version %d, want at least 2", sess.ID, sess.Version)
	}
	if c.ReleaseSlot && !sess.Status.Terminal() {
		return fmt.Errorf("commit session %s: release slot in non-terminal status %s", sess.ID, sess.Status)
	}
	item, err := marshalSession(sess)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	cond := "#version = :prev"
	names := map[string]string{"#version": "version"}
	values := map[string]types.AttributeValue{":prev": num(int64(sess.Version - 1))}
	if c.ReleaseSlot {
		// Only a session still holding its slot may give it back, so a caller that sets
		// ReleaseSlot on a second terminal write cannot free someone else's slot.
		cond += " AND " + holdingCondition
		names["#status"] = "status"
		holdingStateValues(values)
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values}}}
	if c.Audit != nil {
		rec, err := marshalAudit(sess, *c.Audit)
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: rec}})
	}
	if c.ReleaseSlot {
		items = append(items, releaseSlot(s.table, sess.Account),
			types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(techPK(sess.Account, sess.Technician), skLock)}})
	}
	if l := c.AgentLookup; l != nil {
		if len(l.TokenHash) == 0 {
			return fmt.Errorf("commit session %s: agent lookup without token hash", sess.ID)
		}
		rec, err := marshalLookup(lookupItem{PK: agentPK(l.TokenHash), SK: skAgent, Kind: "agent", SessionID: sess.ID, TTL: epochCeil(l.Until)})
		if err != nil {
			return fmt.Errorf("commit session %s: %w", sess.ID, err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: rec}})
	}
	iMachine := -1
	if c.AcquireMachine {
		if sess.Computer.MachineHash == "" || sess.ExpiresAt.IsZero() {
			return fmt.Errorf("commit session %s: machine lock needs a machine hash and an expiry", sess.ID)
		}
		until := epochCeil(sess.ExpiresAt)
		rec, err := marshalLookup(lookupItem{PK: machinePK(sess.Computer.MachineHash), SK: skLock, Kind: "machineLock",
			SessionID: sess.ID, ExpiresAt: until, TTL: until})
		if err != nil {
			return fmt.Errorf("commit session %s: %w", sess.ID, err)
		}
		iMachine = len(items)
		// Free, or held by a session whose time is over, or already ours (a retry), or held
		// by the session the caller found ended (a release that failed).
		cond := "attribute_not_exists(#pk) OR #exp <= :now OR #sid = :id"
		values := map[string]types.AttributeValue{":now": num(s.clock.Now().Unix()), ":id": str(sess.ID)}
		if c.MachineTakeOver != "" {
			cond += " OR #sid = :stale"
			values[":stale"] = str(c.MachineTakeOver)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: rec,
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  map[string]string{"#pk": KeyPK, "#exp": "expiresAt", "#sid": "sessionId"},
			ExpressionAttributeValues: values}})
	}
	var reasons []types.CancellationReason
	if len(items) == 1 {
		// A transaction of one item costs twice the write capacity of the same conditional
		// PutItem and guarantees nothing more. The lastSeenAt write of a poll is such a
		// commit, and the most frequent write of a session.
		err = s.putOne(ctx, items[0].Put)
	} else {
		reasons, err = s.transact(ctx, items)
	}
	var condFailed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
	case errors.As(err, &condFailed), failed(reasons, 0):
		return fmt.Errorf("commit session %s version %d: %w", sess.ID, sess.Version, support.ErrConflict)
	case failed(reasons, iMachine):
		return fmt.Errorf("commit session %s: %w", sess.ID, support.ErrMachineBusy)
	default:
		return fmt.Errorf("commit session %s: %w", sess.ID, err)
	}
	if c.ReleaseMachine && sess.Computer.MachineHash != "" {
		// Best effort, after the state change: a lock left behind carries the session's
		// expiry and is taken over once that has passed. The change itself is stored, so
		// an error here must not make the caller believe it failed.
		_, _ = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table,
			Key:                       key(machinePK(sess.Computer.MachineHash), skLock),
			ConditionExpression:       aws.String("#sid = :id"),
			ExpressionAttributeNames:  map[string]string{"#sid": "sessionId"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(sess.ID)}})
	}
	return nil
}

// TechnicianLocks implements support.Store (Query on byAccount for the sort keys of
// technician locks; one call per 1 MB page; eventually consistent).
func (s *Store) TechnicianLocks(ctx context.Context, account string) ([]support.TechnicianLock, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(IndexByAccount),
		KeyConditionExpression:    aws.String("#apk = :apk AND begins_with(#csk, :lock)"),
		ExpressionAttributeNames:  map[string]string{"#apk": AttrAccountPK, "#csk": AttrCreatedSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":apk": str(accountPK(account)), ":lock": str(lockSKPrefix)},
	})
	var out []support.TechnicianLock
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("technician locks of %s: %w", account, err)
		}
		for _, item := range page.Items {
			var it lookupItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("technician locks of %s: %w", account, err)
			}
			out = append(out, support.TechnicianLock{Technician: it.Technician, SessionID: it.SessionID})
		}
	}
	return out, nil
}

// ReleaseOrphan implements support.Store (one TransactWriteItems of 3 items: a condition
// check that the session item is gone, Delete of the technician lock naming it, the
// account's counters -1).
func (s *Store) ReleaseOrphan(ctx context.Context, account, technician, sessionID string) (bool, error) {
	items := []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: &s.table, Key: key(sessionPK(sessionID), skSession),
			ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": KeyPK}}},
		{Delete: &types.Delete{TableName: &s.table, Key: key(techPK(account, technician), skLock),
			ConditionExpression:       aws.String("#sid = :id"),
			ExpressionAttributeNames:  map[string]string{"#sid": "sessionId"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(sessionID)}}},
		releaseSlot(s.table, account),
	}
	reasons, err := s.transact(ctx, items)
	switch {
	case err == nil:
		return true, nil
	case failed(reasons, 0), failed(reasons, 1):
		return false, nil // the session exists after all, or the lock is no longer its
	}
	return false, fmt.Errorf("release orphaned lock of %s: %w", sessionID, err)
}

// GetSession implements support.Store (one strongly consistent GetItem).
func (s *Store) GetSession(ctx context.Context, id string) (session.Session, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(sessionPK(id), skSession), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return session.Session{}, fmt.Errorf("get session %s: %w", id, err)
	}
	if out.Item == nil {
		return session.Session{}, fmt.Errorf("session %s: %w", id, support.ErrNotFound)
	}
	return unmarshalSession(out.Item)
}

// getLookup reads a lookup or lock item (strongly consistent). An item whose TTL has passed
// counts as absent: DynamoDB deletes such items only eventually.
func (s *Store) getLookup(ctx context.Context, pk, sk string) (lookupItem, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return lookupItem{}, false, err
	}
	if out.Item == nil {
		return lookupItem{}, false, nil
	}
	var it lookupItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return lookupItem{}, false, fmt.Errorf("unmarshal %s: %w", pk, err)
	}
	if it.TTL != 0 && it.TTL <= s.clock.Now().Unix() {
		return lookupItem{}, false, nil
	}
	return it, true, nil
}

// SessionIDByInviteToken implements support.Store (one strongly consistent GetItem).
func (s *Store) SessionIDByInviteToken(ctx context.Context, tokenHash []byte) (string, error) {
	it, ok, err := s.getLookup(ctx, invitePK(tokenHash), skInvite)
	if err != nil {
		return "", fmt.Errorf("invite lookup: %w", err)
	}
	if !ok {
		return "", fmt.Errorf("invite token: %w", support.ErrNotFound)
	}
	return it.SessionID, nil
}

// AgentTokenKnown implements support.Store (one strongly consistent GetItem).
func (s *Store) AgentTokenKnown(ctx context.Context, tokenHash []byte) (bool, error) {
	_, ok, err := s.getLookup(ctx, agentPK(tokenHash), skAgent)
	if err != nil {
		return false, fmt.Errorf("agent lookup: %w", err)
	}
	return ok, nil
}

// MachineSession implements support.Store (one strongly consistent GetItem). A lock whose
// session's time is over counts as absent, as the next activation may take it over.
func (s *Store) MachineSession(ctx context.Context, machineHash string) (string, error) {
	it, ok, err := s.getLookup(ctx, machinePK(machineHash), skLock)
	if err != nil {
		return "", fmt.Errorf("machine lock: %w", err)
	}
	if !ok || it.ExpiresAt <= s.clock.Now().Unix() {
		return "", fmt.Errorf("machine lock: %w", support.ErrNotFound)
	}
	return it.SessionID, nil
}

// TechnicianSession implements support.Store (one strongly consistent GetItem).
func (s *Store) TechnicianSession(ctx context.Context, account, technician string) (string, error) {
	it, ok, err := s.getLookup(ctx, techPK(account, technician), skLock)
	if err != nil {
		return "", fmt.Errorf("technician lock: %w", err)
	}
	if !ok {
		return "", fmt.Errorf("technician lock: %w", support.ErrNotFound)
	}
	return it.SessionID, nil
}

// ListSessions implements support.Store (Query on byAccount, newest first; one call per
// 1 MB page until limit). The index is eventually consistent: a session written a moment
// ago may be missing.
func (s *Store) ListSessions(ctx context.Context, account string, f support.ListFilter, limit int) ([]session.Session, error) {
	if limit < 1 {
		return nil, fmt.Errorf("list sessions: limit %d", limit)
	}
	names := map[string]string{"#apk": AttrAccountPK, "#csk": AttrCreatedSK}
	values := map[string]types.AttributeValue{":apk": str(accountPK(account)), ":lock": str(lockSKPrefix)}
	var filters []string
	if f.Technician != "" {
		filters = append(filters, "#tech = :tech")
		names["#tech"], values[":tech"] = "technician", str(f.Technician)
	}
	if len(f.Statuses) > 0 {
		var in []string
		for i, st := range f.Statuses {
			k := fmt.Sprintf(":st%d", i)
			in = append(in, k)
			values[k] = str(string(st))
		}
		filters = append(filters, "#status IN ("+strings.Join(in, ", ")+")")
		names["#status"] = "status"
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table,
		IndexName: aws.String(IndexByAccount),
		// Sessions only: the account's technician locks sort after them.
		KeyConditionExpression:    aws.String("#apk = :apk AND #csk < :lock"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
		// A page size: with a filter, a page may hold fewer matches, and paging goes on
		// until limit matches or the end.
		Limit: aws.Int32(int32(min(limit, 1000))),
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	var out []session.Session
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() && len(out) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list sessions of %s: %w", account, err)
		}
		for _, item := range page.Items {
			sess, err := unmarshalSession(item)
			if err != nil {
				return nil, fmt.Errorf("list sessions of %s: %w", account, err)
			}
			out = append(out, sess)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// DueSessions implements support.Store (Query on byDue, oldest due first; one call per
// 1 MB page until limit). The stored due time is rounded up to the second, so a session is
// never returned before it is due, and at most a second after.
func (s *Store) DueSessions(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, fmt.Errorf("due sessions: limit %d", limit)
	}
	in := &dynamodb.QueryInput{
		TableName:                &s.table,
		IndexName:                aws.String(IndexByDue),
		KeyConditionExpression:   aws.String("#dpk = :due AND #dat <= :now"),
		ExpressionAttributeNames: map[string]string{"#dpk": AttrDuePK, "#dat": AttrDueAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":due": str(DuePartition), ":now": num(now.Unix())},
		Limit: aws.Int32(int32(min(limit, 1000))),
	}
	var ids []string
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() && len(ids) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("due sessions: %w", err)
		}
		for _, item := range page.Items {
			pk, ok := item[KeyPK].(*types.AttributeValueMemberS)
			if !ok {
				return nil, fmt.Errorf("due sessions: index item without %s", KeyPK)
			}
			id, err := idFromSessionPK(pk.Value)
			if err != nil {
				return nil, fmt.Errorf("due sessions: %w", err)
			}
			ids = append(ids, id)
			if len(ids) == limit {
				break
			}
		}
	}
	return ids, nil
}

// Audit implements support.Store (strongly consistent Query in the session's partition;
// one call per 1 MB page).
func (s *Store) Audit(ctx context.Context, sessionID string) ([]session.AuditEntry, error) {
	var out []session.AuditEntry
	p := dynamodb.NewQueryPaginator(s.db, s.auditQuery(sessionID, nil))
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit of %s: %w", sessionID, err)
		}
		for _, item := range page.Items {
			e, err := unmarshalAudit(item)
			if err != nil {
				return nil, fmt.Errorf("audit of %s: %w", sessionID, err)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// Account implements support.Store (one strongly consistent GetItem).
func (s *Store) Account(ctx context.Context, account string, defaults support.Limits) (support.Account, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(accountPK(account), skAccount), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return support.Account{}, fmt.Errorf("get account %s: %w", account, err)
	}
	if out.Item == nil {
		return support.Account{ID: account, Limits: defaults}, nil
	}
	a, err := unmarshalAccount(out.Item)
	if err != nil {
		return support.Account{}, fmt.Errorf("account %s: %w", account, err)
	}
	a.ID = account
	return a, nil
}

// SetLimits implements support.Store (one UpdateItem). Limits below what is used are
// allowed: no new invitation succeeds until enough sessions have ended.
func (s *Store) SetLimits(ctx context.Context, account string, l support.Limits) error {
	if account == "" {
		return errors.New("set limits: no account")
	}
	if l.Slots < 0 || l.AdhocCap < 0 {
		return fmt.Errorf("set limits of %s: negative limits %+v", account, l)
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: key(accountPK(account), skAccount),
		UpdateExpression: aws.String("SET #slots = :slots, #cap = :cap, #used = if_not_exists(#used, :zero), " +
			"#inUse = if_not_exists(#inUse, :zero), #account = :account, #kind = :kind"),
		ExpressionAttributeNames: map[string]string{"#slots": "slots", "#cap": "adhocCap", "#used": "used",
			"#inUse": "adhocInUse", "#account": "account", "#kind": "kind"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":slots": num(int64(l.Slots)), ":cap": num(int64(l.AdhocCap)), ":zero": num(0),
			":account": str(account), ":kind": str("account")},
	})
	if err != nil {
		return fmt.Errorf("set limits of %s: %w", account, err)
	}
	return nil
}

// maxAttempts bounds the retries of a transaction that lost a race (TransactionConflict):
// with the backoff below that is several seconds of contention, far beyond what a burst
// of invitations to one account causes.
const maxAttempts = 15

// putOne runs a single conditional put, retrying like transact while the item is held by
// a transaction (TransactionConflict). A failed condition comes back as
// *types.ConditionalCheckFailedException.
func (s *Store) putOne(ctx context.Context, put *types.Put) error {
	return withBackoff(ctx, func() (bool, error) {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item,
			ConditionExpression: put.ConditionExpression, ExpressionAttributeNames: put.ExpressionAttributeNames,
			ExpressionAttributeValues: put.ExpressionAttributeValues})
		var conflict *types.TransactionConflictException
		return errors.As(err, &conflict), err
	})
}

// withBackoff calls op until it succeeds, fails for good (retry false), maxAttempts is
// reached or ctx ends, with full-jitter exponential backoff between attempts: racing
// writers spread out instead of colliding again in step.
func withBackoff(ctx context.Context, op func() (retry bool, err error)) error {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		retry, err := op()
		if err == nil || !retry || attempt == maxAttempts {
			return err
		}
		wait := time.Duration(rand.Int64N(int64(backoff))) + time.Millisecond
		select {
		case <-ctx.Done():
			return fmt.Errorf("retry write: %w", ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// transact runs a write transaction, retrying with jittered backoff while it is cancelled
// only because another transaction held one of its items. A request is thus refused only
// by a rule (a failed condition), never because it lost a race. On cancellation it returns
// the reasons, indexed like items.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) ([]types.CancellationReason, error) {
	var reasons []types.CancellationReason
	err := withBackoff(ctx, func() (bool, error) {
		// A new input each time: the SDK fills in a fresh idempotency token, which its own
		// retries of a lost answer reuse, and ours must not.
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		reasons = nil
		var canceled *types.TransactionCanceledException
		if errors.As(err, &canceled) {
			reasons = canceled.CancellationReasons
		}
		return err != nil && retryable(err, reasons), err
	})
	return reasons, err
}

// retryable reports whether a transaction failed only through contention: a conflict
// with another transaction or throttling, and no condition that refused it.
func retryable(err error, reasons []types.CancellationReason) bool {
	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return true
	}
	contended := false
	for _, r := range reasons {
		switch aws.ToString(r.Code) {
		case reasonConditionFailed:
			return false
		case reasonConflict, reasonThrottled:
			contended = true
		}
	}
	return contended
}

// failed reports whether item i of a cancelled transaction failed its condition.
func failed(reasons []types.CancellationReason, i int) bool {
	return i >= 0 && i < len(reasons) && aws.ToString(reasons[i].Code) == reasonConditionFailed
}
