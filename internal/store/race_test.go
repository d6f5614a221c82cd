package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// race runs fn(i) for i in [0, n) in n goroutines released at the same moment, and
// returns the errors by i.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts the errors by kind: nil, each of wants, and anything else (reported).
func tally(t *testing.T, errs []error, wants ...error) map[error]int {
	t.Helper()
	counts := map[error]int{}
next:
	for _, err := range errs {
		if err == nil {
			counts[nil]++
			continue
		}
		for _, w := range wants {
			if errors.Is(err, w) {
				counts[w]++
				continue next
			}
		}
		t.Errorf("unexpected error: %v", err)
	}
	return counts
}

func TestRaceSameTechnician(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 30
	errs := race(n, func(i int) error {
		s := newSession(fmt.Sprintf("s-%d", i), "acme", "tech-1", t0)
		return f.CreateInvitation(context.Background(), s, s.InviteExpiresAt, defaultLimits, inviteAudit(s))
	})
	counts := tally(t, errs, support.ErrTechnicianBusy)
	if counts[nil] != 1 || counts[support.ErrTechnicianBusy] != n-1 {
		t.Errorf("outcomes = %v, want 1 success and %d ErrTechnicianBusy", counts, n-1)
	}
	if a := f.account(t, "acme"); a.Used != 1 || a.AdhocInUse != 1 {
		t.Errorf("account = %+v, want 1 used", a)
	}
	winner := -1
	for i, err := range errs {
		if err == nil {
			winner = i
		}
	}
	if id, err := f.TechnicianSession(ctx(t), "acme", "tech-1"); err != nil || id != fmt.Sprintf("s-%d", winner) {
		t.Errorf("technician lock held by %q (%v), want the winner s-%d", id, err, winner)
	}
}

func TestRaceForSlots(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n, slots = 40, 7
	limits := support.Limits{Slots: slots, AdhocCap: n}
	errs := race(n, func(i int) error {
		s := newSession(fmt.Sprintf("s-%d", i), "acme", fmt.Sprintf("tech-%d", i), t0)
		return f.CreateInvitation(context.Background(), s, s.InviteExpiresAt, limits, inviteAudit(s))
	})
	counts := tally(t, errs, support.ErrNoFreeSlot)
	if counts[nil] != slots || counts[support.ErrNoFreeSlot] != n-slots {
		t.Errorf("outcomes = %v, want %d successes and %d ErrNoFreeSlot", counts, slots, n-slots)
	}
	a, err := f.Account(ctx(t), "acme", limits)
	if err != nil || a.Used != slots || a.AdhocInUse != slots {
		t.Errorf("account = %+v, %v; want %d used", a, err, slots)
	}
	// Every winner's session exists, no loser's does.
	for i, e := range errs {
		_, err := f.GetSession(ctx(t), fmt.Sprintf("s-%d", i))
		if (e == nil) != (err == nil) {
			t.Errorf("s-%d: invitation error %v, stored: %v", i, e, err)
		}
	}
}

// TestRaceCommitSameVersion: writers of the same version race; exactly one wins, both when
// the commit is a transaction (with an audit entry) and when it is the session item's
// conditional PutItem alone.
func TestRaceCommitSameVersion(t *testing.T) {
	t.Parallel()
	for _, withAudit := range []bool{true, false} {
		t.Run(fmt.Sprintf("audit=%v", withAudit), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := newSession("s-1", "acme", "tech-1", t0)
			f.invite(t, s)
			const n = 20
			errs := race(n, func(i int) error {
				next := s
				next.Version = 2
				next.FailedAttempts = i + 1 // tells the writers apart
				c := support.Change{Session: next}
				if withAudit {
					c.Audit = &session.AuditEntry{At: t0.Add(time.Second), Seq: 2, Action: "pair_failed", Detail: fmt.Sprint(i + 1)}
				}
				return f.Commit(context.Background(), c)
			})
			counts := tally(t, errs, support.ErrConflict)
			if counts[nil] != 1 || counts[support.ErrConflict] != n-1 {
				t.Fatalf("outcomes = %v, want 1 success and %d ErrConflict", counts, n-1)
			}
			got, err := f.GetSession(ctx(t), s.ID)
			if err != nil {
				t.Fatalf("GetSession: %v", err)
			}
			if got.Version != 2 || errs[got.FailedAttempts-1] != nil {
				t.Errorf("stored version %d written by writer %d, whose commit returned %v", got.Version, got.FailedAttempts-1, errs[got.FailedAttempts-1])
			}
			audit, _ := f.Audit(ctx(t), s.ID)
			if want := map[bool]int{true: 2, false: 1}[withAudit]; len(audit) != want {
				t.Fatalf("audit = %+v, want %d entries", audit, want)
			}
			if withAudit && audit[1].Detail != fmt.Sprint(got.FailedAttempts) {
				t.Errorf("audit = %+v, want the invitation and the winner's entry", audit)
			}
		})
	}
}

// TestLoneCommitIsAPutThatRetriesConflicts: a commit of the session item alone is one
// PutItem, not a transaction (half the write capacity), and a TransactionConflict on it
// (the item held by another transaction) is retried like a transaction's.
func TestLoneCommitIsAPutThatRetriesConflicts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ops := map[string]int{}
	conflicts := 2
	inject := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countAndConflict",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				mu.Lock()
				defer mu.Unlock()
				switch in.Parameters.(type) {
				case *dynamodb.PutItemInput:
					ops["PutItem"]++
					if conflicts > 0 {
						conflicts--
						return middleware.InitializeOutput{}, middleware.Metadata{}, &types.TransactionConflictException{Message: aws.String("injected")}
					}
				case *dynamodb.TransactWriteItemsInput:
					ops["TransactWriteItems"]++
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
	client, table := testenv.Table(t)
	injected := dynamodb.NewFromConfig(standins.AWSConfig(testenv.DynamoDBEndpoint(t)), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, inject)
	})
	st := store.New(injected, table, store.WithClock(clock.NewFake(t0)))
	s := newSession("s-1", "acme", "tech-1", t0)
	if err := st.CreateInvitation(ctx(t), s, s.InviteExpiresAt, defaultLimits, inviteAudit(s)); err != nil {
		t.Fatal(err)
	}
	next := s
	next.Version, next.LastSeenAt = 2, t0.Add(time.Minute)
	if err := st.Commit(ctx(t), support.Change{Session: next}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	mu.Lock()
	if ops["PutItem"] != 3 || ops["TransactWriteItems"] != 1 {
		t.Errorf("calls = %v, want the invitation's transaction and 3 PutItem (2 conflicts, then success)", ops)
	}
	mu.Unlock()
	got, err := store.New(client, table).GetSession(ctx(t), s.ID)
	if err != nil || got.Version != 2 || !got.LastSeenAt.Equal(next.LastSeenAt) {
		t.Errorf("stored %+v (err %v), want version 2 with the new lastSeenAt", got, err)
	}
	// A stale version is a conflict, as in a transaction.
	if err := st.Commit(ctx(t), support.Change{Session: next}); !errors.Is(err, support.ErrConflict) {
		t.Errorf("second commit of version 2: %v, want ErrConflict", err)
	}
}

// conflictInjector cancels the first TransactWriteItems calls as real DynamoDB does when
// transactions collide (DynamoDB Local never does), and records every call's idempotency
// token.
type conflictInjector struct {
	mu      sync.Mutex
	plan    []func(items int) error // one per call; calls beyond the plan go through
	forever func(items int) error   // if set, every call fails with it
	tokens  []string
}

func (c *conflictInjector) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tokens)
}

func (c *conflictInjector) register(stack *middleware.Stack) error {
	// After the SDK's Initialize middlewares, which fill in the idempotency token.
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("injectTransactionConflict",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			tx, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput)
			if !ok {
				return next.HandleInitialize(ctx, in)
			}
			c.mu.Lock()
			call := len(c.tokens)
			c.tokens = append(c.tokens, aws.ToString(tx.ClientRequestToken))
			fail := c.forever
			if call < len(c.plan) {
				fail = c.plan[call]
			}
			c.mu.Unlock()
			if fail != nil {
				return middleware.InitializeOutput{}, middleware.Metadata{}, fail(len(tx.TransactItems))
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// cancelled is a TransactionCanceledException with the given codes by item index, "None"
// for the others.
func cancelled(codes map[int]string) func(items int) error {
	return func(items int) error {
		reasons := make([]types.CancellationReason, items)
		for i := range reasons {
			reasons[i].Code = aws.String("None")
			if c, ok := codes[i]; ok {
				reasons[i].Code = aws.String(c)
			}
		}
		return &types.TransactionCanceledException{Message: aws.String("injected"), CancellationReasons: reasons}
	}
}

func TestTransactionConflictsAreRetried(t *testing.T) {
	t.Parallel()
	conflict := cancelled(map[int]string{3: "TransactionConflict"})
	tests := []struct {
		name      string
		inj       *conflictInjector
		timeout   time.Duration
		want      error
		wantCalls int // 0: don't check
		stored    bool
	}{
		{name: "conflicts then success", inj: &conflictInjector{plan: []func(int) error{conflict, conflict, conflict}},
			wantCalls: 4, stored: true},
		{name: "throttled then success", inj: &conflictInjector{plan: []func(int) error{cancelled(map[int]string{0: "ThrottlingError"})}},
			wantCalls: 2, stored: true},
		{name: "conflict exception then success", inj: &conflictInjector{plan: []func(int) error{
			func(int) error { return &types.TransactionConflictException{Message: aws.String("injected")} }}},
			wantCalls: 2, stored: true},
		{name: "a failed condition is a rule, not a race", inj: &conflictInjector{plan: []func(int) error{
			cancelled(map[int]string{2: "ConditionalCheckFailed", 3: "TransactionConflict"})}},
			want: support.ErrTechnicianBusy, wantCalls: 1},
		{name: "the context ends the retries", inj: &conflictInjector{forever: conflict},
			timeout: 300 * time.Millisecond, want: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, table := testenv.Table(t)
			injected := dynamodb.NewFromConfig(standins.AWSConfig(testenv.DynamoDBEndpoint(t)), func(o *dynamodb.Options) {
				o.APIOptions = append(o.APIOptions, tt.inj.register)
			})
			st := store.New(injected, table, store.WithClock(clock.NewFake(t0)))
			c := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				c, cancel = context.WithTimeout(c, tt.timeout)
				defer cancel()
			}
			s := newSession("s-1", "acme", "tech-1", t0)
			err := st.CreateInvitation(c, s, s.InviteExpiresAt, defaultLimits, inviteAudit(s))
			wantErr(t, "CreateInvitation", err, tt.want)
			if tt.wantCalls > 0 && tt.inj.calls() != tt.wantCalls {
				t.Errorf("TransactWriteItems calls = %d, want %d", tt.inj.calls(), tt.wantCalls)
			}
			seen := map[string]bool{}
			for _, tok := range tt.inj.tokens {
				if tok == "" || seen[tok] {
					t.Errorf("idempotency tokens %q: each attempt needs a new one", tt.inj.tokens)
					break
				}
				seen[tok] = true
			}
			_, err = store.New(client, table).GetSession(ctx(t), s.ID)
			if stored := err == nil; stored != tt.stored {
				t.Errorf("session stored = %v, want %v", stored, tt.stored)
			}
		})
	}
}
