package support_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// The items as the store keeps them (internal/store, doc.go), for writes past the store.
func sessionKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		store.KeyPK: &types.AttributeValueMemberS{Value: "SESSION#" + id}, store.KeySK: &types.AttributeValueMemberS{Value: "SESSION"}}
}

func inviteKey(token string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		store.KeyPK: &types.AttributeValueMemberS{Value: "INVITE#" + hex.EncodeToString(secrets.HashToken(token))},
		store.KeySK: &types.AttributeValueMemberS{Value: "INVITE"}}
}

// write changes an item as someone able to write the table would: SET name = value for
// each value, REMOVE for each nil.
func (f *fixture) write(k map[string]types.AttributeValue, attrs map[string]types.AttributeValue) {
	f.t.Helper()
	var set, remove []string
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	i := 0
	for name, v := range attrs {
		n := "#a" + string(rune('a'+i))
		names[n] = name
		if v == nil {
			remove = append(remove, n)
		} else {
			values[":v"+string(rune('a'+i))] = v
			set = append(set, n+" = :v"+string(rune('a'+i)))
		}
		i++
	}
	expr := ""
	if len(set) > 0 {
		expr += "SET " + strings.Join(set, ", ")
	}
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	in := &dynamodb.UpdateItemInput{TableName: aws.String(f.table), Key: k, UpdateExpression: aws.String(expr), ExpressionAttributeNames: names,
		ConditionExpression: aws.String("attribute_exists(" + store.KeyPK + ")")}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	if _, err := f.client.UpdateItem(ctx(), in); err != nil {
		f.t.Fatalf("tampering: %v", err)
	}
}

func (f *fixture) rawAttr(id, name string) types.AttributeValue {
	f.t.Helper()
	out, err := f.client.GetItem(ctx(), &dynamodb.GetItemInput{TableName: aws.String(f.table), Key: sessionKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		f.t.Fatalf("read session item %s: %v", id, err)
	}
	return out.Item[name]
}

// TestTamperedItemsDoNotPair: someone able to write the table (but without the KMS keys'
// secrets, and without the victim's link or code) holds an invitation of their own, with
// its link and code, and edits items to make that pairing land on another account's
// session. None of it pairs a PC to the victim's session or yields its password or agent
// token; where the edits leave the victim's invitation recognisable as such, it is not
// even touched (no wrong code counted against it).
func TestTamperedItemsDoNotPair(t *testing.T) {
	t.Parallel()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	type fx struct {
		f               *fixture
		mine, victim    invitation
		victimActivated support.PairResult
	}
	cases := []struct {
		name string
		// active: the victim's app has paired (nonceB) and not polled yet, so its item still
		// holds the sealed password and the agent token's retry copy.
		active bool
		edit   func(x *fx)
		nonce  string
		// untouched: the victim's session must be exactly as before, wrong-code count too.
		untouched bool
	}{
		{name: "my lookup points at the victim's session", untouched: true,
			edit: func(x *fx) {
				x.f.write(inviteKey(x.mine.token), map[string]types.AttributeValue{"sessionId": s(x.victim.id)})
			}},
		{name: "and my code's MAC copied into it", untouched: true,
			edit: func(x *fx) {
				x.f.write(inviteKey(x.mine.token), map[string]types.AttributeValue{"sessionId": s(x.victim.id)})
				x.f.write(sessionKey(x.victim.id), map[string]types.AttributeValue{"codeMac": x.f.rawAttr(x.mine.id, "codeMac")})
			}},
		{name: "and my invite-token hash copied into it",
			edit: func(x *fx) {
				x.f.write(inviteKey(x.mine.token), map[string]types.AttributeValue{"sessionId": s(x.victim.id)})
				x.f.write(sessionKey(x.victim.id), map[string]types.AttributeValue{
					"codeMac": x.f.rawAttr(x.mine.id, "codeMac"), "inviteTokenHash": x.f.rawAttr(x.mine.id, "inviteTokenHash")})
			}},
		{name: "and my sealed password copied into it",
			edit: func(x *fx) {
				x.f.write(inviteKey(x.mine.token), map[string]types.AttributeValue{"sessionId": s(x.victim.id)})
				x.f.write(sessionKey(x.victim.id), map[string]types.AttributeValue{
					"codeMac": x.f.rawAttr(x.mine.id, "codeMac"), "inviteTokenHash": x.f.rawAttr(x.mine.id, "inviteTokenHash"),
					"sealedPassword": x.f.rawAttr(x.mine.id, "sealedPassword")})
			}},
		{name: "and the victim's item marked as written before the binding",
			edit: func(x *fx) {
				x.f.write(inviteKey(x.mine.token), map[string]types.AttributeValue{"sessionId": s(x.victim.id)})
				x.f.write(sessionKey(x.victim.id), map[string]types.AttributeValue{
					"codeMac": x.f.rawAttr(x.mine.id, "codeMac"), "inviteTokenHash": x.f.rawAttr(x.mine.id, "inviteTokenHash"),
					"sealing": nil})
			}},
		// The retry path: the nonce stands in for the code, so a writer who sets the nonce
		// and points the link gets past every comparison; what it would hand out still
		// opens only with the victim's own link.
		{name: "a retry of the victim's pairing with my link and a nonce I wrote", active: true, nonce: nonceA,
			edit: func(x *fx) {
				x.f.write(inviteKey(x.mine.token), map[string]types.AttributeValue{"sessionId": s(x.victim.id)})
				x.f.write(sessionKey(x.victim.id), map[string]types.AttributeValue{
					"inviteTokenHash": x.f.rawAttr(x.mine.id, "inviteTokenHash"), "pairNonce": s(nonceA)})
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			evil := support.Technician{ID: "mallory", Email: "mallory@example.net", Account: "evil"}
			x := &fx{f: f, mine: f.invite(evil, "accomplice@example.net"), victim: f.invite(f.tech, "user@example.org")}
			if c.active {
				x.victimActivated = f.activate(x.victim, nonceB)
			}
			c.edit(x)
			before := f.stored(x.victim.id)
			nonce := c.nonce
			if nonce == "" {
				nonce = nonceA
			}
			res, err := f.svc.Pair(ctx(), support.PairRequest{InviteToken: x.mine.token, SecurityCode: x.mine.code, Nonce: nonce, PC: pc("m-attacker")})
			if err == nil {
				t.Fatalf("paired: %+v", res)
			}
			if len(res.Password) != 0 || res.AgentToken != "" {
				t.Fatalf("a refused pairing handed out secrets: %+v", res)
			}
			if strings.Contains(err.Error(), password) {
				t.Fatal("the error carries the password")
			}
			after := f.stored(x.victim.id)
			if after.Status != before.Status || after.Computer.MachineHash != before.Computer.MachineHash {
				t.Errorf("victim's session went from %s (%s) to %s (%s)", before.Status, before.Computer.Hostname, after.Status, after.Computer.Hostname)
			}
			if c.untouched && after.Version != before.Version {
				t.Errorf("victim's session was written (version %d → %d, %d wrong codes): %q", before.Version, after.Version, after.FailedAttempts, codeOf(err))
			}
			// My own invitation is unharmed: its link still leads to its session.
			if c.untouched && codeOf(err) != support.CodeNotFound {
				t.Errorf("answer %q, want not_found for a link whose lookup leads elsewhere", codeOf(err))
			}
		})
	}
}

// legacyInvite rewrites a fresh invitation as Invite wrote it before the binding: the
// code's MAC over the digits alone, the password sealed with the session id alone, no
// version marker.
func (f *fixture) legacyInvite(inv invitation) {
	f.t.Helper()
	digits, err := session.ParseCode(inv.code)
	if err != nil {
		f.t.Fatal(err)
	}
	mac, err := f.codes.MAC(ctx(), digits)
	if err != nil {
		f.t.Fatal(err)
	}
	sealed, err := f.sealer.Seal(ctx(), []byte(password), []byte(inv.id))
	if err != nil {
		f.t.Fatal(err)
	}
	f.write(sessionKey(inv.id), map[string]types.AttributeValue{
		"codeMac": &types.AttributeValueMemberB{Value: mac}, "sealedPassword": &types.AttributeValueMemberB{Value: sealed}, "sealing": nil})
}

// TestItemsSealedBeforeKeepWorking: an invitation stored before the binding (no version
// marker) still pairs with its code, hands out its password, answers a retry with the
// same nonce, and erases its secrets at the first poll; a wrong code is still counted;
// and its link still cannot be pointed at another session.
func TestItemsSealedBeforeKeepWorking(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.invite(f.tech, "user@example.org")
	f.legacyInvite(inv)
	if ss := f.stored(inv.id); ss.Sealing != session.SealedForSession {
		t.Fatalf("rewritten item reads as sealing %d", ss.Sealing)
	}
	if _, err := f.svc.Pair(ctx(), pairReq(inv, wrong(inv.code), nonceA)); codeOf(err) != support.CodeInvalidCode {
		t.Fatalf("wrong code: %q", codeOf(err))
	}
	first := f.activate(inv, nonceA)
	if string(first.Password) != password {
		t.Fatalf("password %q", first.Password)
	}
	again, err := f.svc.Pair(ctx(), pairReq(inv, inv.code, nonceA))
	if err != nil || again.AgentToken != first.AgentToken || string(again.Password) != password {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	if ss := f.stored(inv.id); ss.Sealing != session.SealedForSession {
		t.Errorf("activation changed the item's sealing to %d: its agent token would not match its marker", ss.Sealing)
	}
	if _, err := f.svc.Poll(ctx(), first.AgentToken); err != nil {
		t.Fatal(err)
	}
	if ss := f.stored(inv.id); ss.SealedPassword != nil || ss.SealedAgentToken != nil || ss.CodeMAC != nil {
		t.Errorf("secrets kept after the first poll: %+v", ss)
	}

	// An old invitation's lookup pointed at another session: refused as well.
	other := f.invite(support.Technician{ID: "tech-2", Email: "t2@example.com", Account: "acme"}, "second@example.org")
	old := f.invite(support.Technician{ID: "tech-3", Email: "t3@example.com", Account: "evil"}, "third@example.org")
	f.legacyInvite(old)
	f.write(inviteKey(old.token), map[string]types.AttributeValue{"sessionId": &types.AttributeValueMemberS{Value: other.id}})
	if _, err := f.svc.Pair(ctx(), pairReq(old, old.code, nonceB)); codeOf(err) != support.CodeNotFound {
		t.Errorf("redirected old link: %q, want not_found", codeOf(err))
	}
}

// TestNewItemsAreBound: what Invite writes now is bound (the version marker set, a MAC
// that is not the digits' alone, a password that the session id alone does not open), and
// an activation keeps the code's MAC until the sealed secrets go.
func TestNewItemsAreBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.invite(f.tech, "user@example.org")
	ss := f.stored(inv.id)
	digits, _ := session.ParseCode(inv.code)
	digitsOnly, _ := f.codes.MAC(ctx(), digits)
	switch {
	case ss.Sealing != session.SealedForInvitation:
		t.Errorf("sealing %d", ss.Sealing)
	case secrets.Equal(ss.CodeMAC, digitsOnly):
		t.Error("the code's MAC covers the digits alone")
	}
	if pt, err := f.sealer.Open(ctx(), ss.SealedPassword, []byte(inv.id)); err == nil {
		t.Errorf("the password opens with the session id alone: %q", pt)
	}
	f.activate(inv, nonceA)
	if ss := f.stored(inv.id); ss.CodeMAC == nil || ss.SealedAgentToken == nil {
		t.Error("activation dropped the code's MAC that the sealed secrets are bound to")
	}
}
