// Package store keeps sessions, their lookups and locks, accounts and audit entries in one
// DynamoDB table; it implements support.Store. CreateTable (and CreateTableInput) is the
// schema; the CDK stack builds the same table from the exported names in schema.go.
//
// # Table
//
// Keys: partition KeyPK "pk" (S), sort KeySK "sk" (S). Billing on demand. TTL attribute
// "ttl" (N, epoch seconds). DynamoDB deletes expired items only eventually (DynamoDB
// Local 1.25 within seconds, DynamoDB itself within days), so every read of a lookup or
// lock treats an item past its ttl as absent.
//
// Items ("#" separates key parts; a "#" or "%" inside a caller's id is escaped as %23 and
// %25, so that ids containing "#" cannot collide):
//
//	item                pk                              sk                            other attributes
//	session             SESSION#<id>                    SESSION                       every field of session.Session (below), version, ttl, duePk, dueAt, accountPk, createdSk; remote (a map: the current remote connection) and unreported (a list of at most 8 maps: remote connections whose end the app has not reported)
//	audit entry         SESSION#<id>                    AUDIT#<at>#<seq, 10 digits>   sessionId, at, seq, action, from, to, actorKind, actorId, reason, detail, account, technician (the owner: the trail outlives the session item), ttl = at + 90 days
//	invite lookup       INVITE#<hex SHA-256 of token>   INVITE                        sessionId, ttl = the lookupUntil given at invitation
//	agent lookup        AGENT#<hex SHA-256 of token>    AGENT                         sessionId, ttl = Lookup.Until
//	technician lock     TECH#<account>#<technician>     LOCK                          sessionId, technician, accountPk, createdSk = "LOCK#<technician>" (listed per account through byAccount); no ttl: the terminal write frees it, or ReleaseOrphan once TTL removed the session
//	machine lock        MACHINE#<machine hash>          LOCK                          sessionId, expiresAt (N) = ttl = the session's ExpiresAt
//	account             ACCOUNT#<account>               ACCOUNT                       account, slots, adhocCap, used, adhocInUse (N)
//	live ticket         TICKET#<hex SHA-256 of ticket>  TICKET                        account, technician, email, name, admin, expiresAt (N, epoch ms), ttl = expiresAt: one use, taken by a conditional DeleteItem
//	console connection  LIVE#<account>                  CONSOLE#<connection id>       technician, admin, since, ttl = since + 2 h (API Gateway's cap on a connection)
//
// The app's live connection is no item of its own: the session item carries it
// (liveConnection, liveSince), so the poll that decides the interval, the listings that
// show who is online and the push after a transition all find it in the item they read
// anyway. A console's connections sit in its account's partition, so the push after a
// change reads one partition and never another account's.
//
// Every item also has "kind" (session, audit, invite, agent, techLock, machineLock,
// account, ticket, console), for people reading the table. A session's "sealing" (N) is
// its secrets' version marker (session.Sealing): absent in items written before the secrets
// were bound to the invitation, 1 since. Times are UTC strings with nine fractional
// digits ("2006-01-02T15:04:05.000000000Z"), so that they sort as text; byte fields
// (hashes, MAC, sealed secrets) are binary (B). A session's ttl is session.TTL() (invite
// expiry, or the end of the 24 hours once active).
//
// # Indexes
//
// IndexByDue "byDue": partition duePk (S, always "DUE"), sort dueAt (N, session.DueAt() in
// epoch seconds rounded up), KEYS_ONLY. Only non-terminal sessions carry duePk and dueAt:
// every write replaces the whole session item, and a terminal one is written without
// them, so the index holds exactly the sessions the expiry sweep still has to look at. One
// partition value suits the volume of this product (a sweep every 5 minutes); spread it
// over several values if writes ever approach a partition's limit.
//
// IndexByAccount "byAccount": partition accountPk (S, "ACCOUNT#<account>"), sort createdSk
// (S, "<createdAt>#<id>"), projection INCLUDE ByAccountAttributes(): every attribute of a
// session and a technician lock except the sealed password and agent token, the invite
// token and agent token hashes, the code MAC and the pairing nonce (and ttl, duePk, dueAt),
// so that no listing reads a secret and the index keeps no copy of one. CreateTable
// rebuilds the index of a table made when it projected ALL (local mode keeps its table).
// In AWS the projection of an index cannot change in place: a stack deployed with the ALL
// index needs the index removed in one deployment and added in the next (CloudFormation
// refuses both in one update). Global indexes are eventually consistent.
//
// # Access patterns and round trips
//
//	method                  DynamoDB calls                                                 items
//	CreateInvitation        1 TransactWriteItems (+ retries on TransactionConflict)        5: Put session (must not exist), Put invite lookup, Put technician lock (must not exist), Update account (counters +1, defaults if absent, condition on both limits), Put audit
//	RollbackInvitation      1 Query (audit keys, consistent) + 1 TransactWriteItems         4 + audit entries: Delete session (version and non-terminal), Delete technician lock, Update account (counters -1), Delete invite lookup, Delete each audit entry
//	Commit                  1 TransactWriteItems or PutItem¹ (+ DeleteItem, ReleaseMachine) 1 to 6: Put session (version = Version-1), [Put audit], [Update account -1 and Delete technician lock], [Put agent lookup], [Put machine lock]
//	TechnicianLocks         1 Query on byAccount per page (createdSk begins_with LOCK#), eventually consistent
//	ReleaseOrphan           1 TransactWriteItems                                           3: ConditionCheck session absent, Delete technician lock naming it, Update account (counters -1)
//	GetSession              1 GetItem, consistent
//	SessionIDByInviteToken  1 GetItem, consistent
//	AgentTokenKnown         1 GetItem, consistent
//	MachineSession          1 GetItem, consistent
//	TechnicianSession       1 GetItem, consistent
//	ListSessions            1 Query on byAccount per page (createdSk < "LOCK#": sessions only, newest first; technician and status as a filter before the limit), eventually consistent
//	DueSessions             1 Query on byDue per page (dueAt <= now), eventually consistent
//	Audit                   1 Query per page (pk = SESSION#<id>, sk begins_with AUDIT#), consistent
//	Account                 1 GetItem, consistent
//	SetLimits               1 UpdateItem (used and adhocInUse kept, 0 when new)
//	PutTicket               1 PutItem (must not exist)
//	TakeTicket              1 DeleteItem (exists and expiresAt > now; returns the old item)
//	PutConsole              1 PutItem
//	DeleteConsole           1 DeleteItem
//	Consoles                1 Query per page (pk = LIVE#<account>, sk begins_with CONSOLE#), consistent
//
// ¹ A commit of the session item alone (the lastSeenAt write of a poll) is a conditional
// PutItem: a one-item transaction would bill twice the write capacity for the same effect.
//
// A page is 1 MB; a session item is a few hundred bytes, so lists up to a few thousand
// entries take one call.
//
// Per API call (the methods above as the use cases in internal/support combine them):
//
//	call                      round trips                                       capacity (make bench, docs/cost.md §2)
//	create session            1: TransactWriteItems(5)                          13 WRU
//	get session, account      1: GetItem                                        1 RRU
//	list sessions, computers  1: Query on byAccount                             0.5 RRU
//	audit                     2: GetItem, Query                                 2 RRU
//	hello, pair (either way)  4: GetItem ×3 (invite lookup, session, machine),  3 RRU; 5 WRU (hello, wrong code),
//	                             TransactWriteItems                             13 WRU (right code)
//	poll, idle                1: GetItem (agent token id → session)             1 RRU
//	poll, writes lastSeenAt   2: GetItem, PutItem                               1 RRU, 2 WRU
//	poll, first               2: GetItem, TransactWriteItems(2)                 1 RRU, 9 WRU
//	end, expiry               3: GetItem, TransactWriteItems(4), DeleteItem     1 RRU, 12 WRU
//	removed                   2: GetItem, TransactWriteItems(2)                 1 RRU, 5 WRU
//	sweep, nothing due        1: Query on byDue                                 0.5 RRU
//	remote start              2: GetItem, TransactWriteItems(2: session,        1 RRU; the session's and the audit entry's
//	                             audit remote_started)                          writes (and the KVS calls in AWS, below)
//	remote ended              2: GetItem (agent token → session),               1 RRU; the same two writes
//	                             TransactWriteItems(2: session, audit)
//
// Remote access keeps its state on the session item, so its rules are decided on the item
// every caller reads anyway and enforced by the version condition of its write: a start
// adds the remote connection (one technician at a time), the console's first signal binds
// its tab and the app's answer marks it connected (each a conditional PutItem of the item
// alone), the app's report of the end removes it. POST /v1/sessions/{id}/remote and a
// report of the current remote connection change what a console sees, so each adds the
// push's Query below; a report after the session's end (whose terminal write already
// cleared the remote connection) does not. In AWS the start also asks KVS for the TURN
// servers: 1 HTTPS call (GetIceServerConfig) on a warm instance, plus
// DescribeSignalingChannel and GetSignalingChannelEndpoint once per account and instance,
// plus CreateSignalingChannel and the describes until it is active once per account ever.
//
// The live channel adds, after the commit of every change a console can see (all the
// rows above that change a session, except the polls), one Query of the account's console
// connections (Consoles: 1 RRU for a few connections) to push the change; the app's own
// connection needs no read. The hot path is untouched: an idle poll is still one GetItem,
// and a poll's interval (long while the app's live connection is open) comes from the
// session item it reads anyway. The live function's own calls:
//
//	call                      round trips
//	authorizer, app           1: GetItem (session by the agent token's id)
//	authorizer, console       1: DeleteItem (the ticket, one use)
//	$connect / $disconnect    2: GetItem, PutItem (the app: the session item; + the push's Query)
//	                          1: PutItem / DeleteItem (a console)
//	ping                      none (an @connections POST)
//	signal, most              1: GetItem (the session: whose remote connection, which tab), and one @connections POST to the other end
//	signal, console's first   2: GetItem, PutItem (binds the tab), and the POST
//	signal, app's answer      2: GetItem, PutItem (connected), + the push's Query, and the POSTs (the session to the consoles, the answer)
//
// A refused signal costs its GetItem (none when its ids are malformed) and the POST of the
// error answer.
//
// internal/testing/e2e's TestRoundTrips holds the round trips to this budget against DynamoDB
// Local.
//
// # Rules enforced by conditions
//
//   - One session per technician: the technician lock is Put with attribute_not_exists(pk)
//     in the invitation's transaction and Deleted in the terminal write's transaction.
//   - Free slot and ad-hoc cap: the account Update's condition is
//     attribute_not_exists(pk) OR (used < slots AND adhocInUse < adhocCap); the first branch
//     is left out when the defaults allow no session, so an unconfigured account with 0
//     default slots is refused. The old item (ReturnValuesOnConditionCheckFailure ALL_OLD)
//     tells ErrNoFreeSlot from ErrCapReached.
//   - Optimistic concurrency: every session write is conditional on the stored version;
//     a write that gives the slot back additionally requires a non-terminal stored status,
//     so a slot is never released twice.
//   - One active session per PC: the machine lock is Put with attribute_not_exists(pk) OR
//     expiresAt <= now OR sessionId = the session (a retry) OR sessionId = the ended
//     session the caller found still holding it (MachineTakeOver), and deleted, best
//     effort, after the session's terminal write. A terminal session never becomes active
//     again, so taking its lock over cannot put two sessions on one PC.
//
// Real DynamoDB cancels a transaction that touches an item another transaction holds
// (TransactionConflict); such transactions are retried with jittered backoff, so a request
// is refused only by a rule, never because it lost a race. DynamoDB Local serialises
// transactions and never reports a conflict; the tests inject one through SDK middleware.
package store
