package lambdatest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/kinesisvideo"

	"github.com/adhoc-support/adhoc-support/internal/connections"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/grants"
	"github.com/adhoc-support/adhoc-support/internal/iceservers"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// TestFakeConnections drives the fake's @connections with the product's own client
// (internal/connections), so the fake answers what the SDK decodes.
func TestFakeConnections(t *testing.T) {
	fake := NewFakeAWS()
	defer fake.Close()
	cfg := aws.Config{Region: "eu-central-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	client := func(f *FakeAWS) *apigatewaymanagementapi.Client {
		return apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) { o.BaseEndpoint = aws.String(f.Server.URL) })
	}
	const ungranted = "no-such-function" // internal/grants gives it nothing
	if grants.Allowed(ungranted, grants.ManageConnections) {
		t.Fatalf("%s is granted %s", ungranted, grants.ManageConnections)
	}
	fake.Gone("gone=")
	cases := []struct {
		name       string
		function   string
		connection string
		call       func(ctx context.Context, c *apigatewaymanagementapi.Client, conn string) error
		wantErr    string // "" for success
		wantGone   bool   // the pusher reports support.ErrGone
		action     string
		denied     bool
	}{
		{name: "a granted push", function: deploy.Live, connection: "abc=", call: push, action: ActionPostToConnection},
		{name: "a push to a gone connection", function: deploy.Live, connection: "gone=", call: push, wantGone: true, action: ActionPostToConnection},
		{name: "a push without the grant", function: ungranted, connection: "abc=", call: push, wantErr: "ForbiddenException", action: ActionPostToConnection, denied: true},
		{name: "describing a connection", function: deploy.Invitation, connection: "abc=", call: describe, action: ActionGetConnection},
		{name: "closing a connection", function: deploy.Pairing, connection: "closed=", call: closeConn, action: ActionDeleteConnection},
		{name: "a push to the closed connection", function: deploy.Pairing, connection: "closed=", call: push, wantGone: true, action: ActionPostToConnection},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a fake scoped to the function WHEN the SDK calls @connections THEN the
			// fake records the call and answers as API Gateway would.
			scoped := fake.Scoped(c.function)
			defer scoped.Close()
			before := len(fake.Calls("execute-api"))
			err := c.call(context.Background(), client(scoped), c.connection)
			switch {
			case c.wantGone:
				if !errors.Is(err, support.ErrGone) {
					t.Errorf("error %v, want support.ErrGone", err)
				}
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("error %v, want %s", err, c.wantErr)
				}
			case err != nil:
				t.Errorf("error %v", err)
			}
			calls := fake.Calls("execute-api")[before:]
			if len(calls) != 1 {
				t.Fatalf("recorded %+v, want one call", calls)
			}
			got := calls[0]
			if got.Action != c.action || got.Connection != c.connection || got.Function != c.function || got.Denied != c.denied || got.Gone != c.wantGone {
				t.Errorf("recorded %s %s by %s denied=%v gone=%v, want %s %s by %s denied=%v gone=%v",
					got.Action, got.Connection, got.Function, got.Denied, got.Gone, c.action, c.connection, c.function, c.denied, c.wantGone)
			}
			if c.action == ActionPostToConnection && !c.denied && string(got.Raw) != `{"type":"pong"}` {
				t.Errorf("recorded message %s", got.Raw)
			}
		})
	}
	if pushes := fake.Pushes("abc="); len(pushes) != 1 || pushes[0].Function != deploy.Live {
		t.Errorf("Pushes(abc=) = %+v, want only the granted, delivered one", pushes)
	}
	if unknown := fake.Calls("unknown"); len(unknown) > 0 {
		t.Errorf("requests the fake did not recognize: %+v", unknown)
	}
}

func push(ctx context.Context, c *apigatewaymanagementapi.Client, conn string) error {
	return connections.New(c).Push(ctx, conn, []byte(`{"type":"pong"}`))
}

func describe(ctx context.Context, c *apigatewaymanagementapi.Client, conn string) error {
	out, err := c.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(conn)})
	if err == nil && (out.ConnectedAt == nil || out.Identity == nil) {
		return errors.New("GetConnection answered without connectedAt or identity")
	}
	return err
}

func closeConn(ctx context.Context, c *apigatewaymanagementapi.Client, conn string) error {
	_, err := c.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(conn)})
	return err
}

// TestFakeKVS drives the fake's signalling channels with the product's own adapter
// (internal/iceservers), scoped to a function that may and one that may not.
func TestFakeKVS(t *testing.T) {
	fake := NewFakeAWS()
	defer fake.Close()
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	kvs := func(f *FakeAWS) *iceservers.KVS {
		api := kinesisvideo.New(kinesisvideo.Options{Region: "eu-central-1", Credentials: creds, BaseEndpoint: aws.String(f.Server.URL)})
		return &iceservers.KVS{API: api, Credentials: creds, Region: "eu-central-1", ChannelPrefix: "AdhocSupport"}
	}
	// GIVEN the invitation function's grants WHEN it asks for TURN servers twice THEN the
	// fake makes the account's channel once and hands out servers both times.
	invitation := fake.Scoped(deploy.Invitation)
	defer invitation.Close()
	k := kvs(invitation)
	for range 2 {
		servers, expires, err := k.Servers(context.Background(), "acme", "r-airjqervw6imh6nuv5y4fk3r2i")
		if err != nil {
			t.Fatal(err)
		}
		if len(servers) != 1 || len(servers[0].URLs) != 3 || !strings.HasSuffix(servers[0].Username, ":r-airjqervw6imh6nuv5y4fk3r2i") ||
			time.Until(expires) > 5*time.Minute || time.Until(expires) < 4*time.Minute {
			t.Errorf("servers %+v until %v", servers, expires)
		}
	}
	var actions []string
	for _, c := range fake.Calls("kinesisvideo") {
		actions = append(actions, c.Action)
	}
	want := "DescribeSignalingChannel CreateSignalingChannel DescribeSignalingChannel DescribeSignalingChannel GetSignalingChannelEndpoint GetIceServerConfig GetIceServerConfig"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("calls %s\nwant %s", got, want)
	}
	// ... and a function without the grants is refused as IAM would.
	pairing := fake.Scoped(deploy.Pairing)
	defer pairing.Close()
	if _, _, err := kvs(pairing).Servers(context.Background(), "acme", "r-airjqervw6imh6nuv5y4fk3r2i"); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("pairing's request: %v, want access denied", err)
	}
	if d := fake.Denied(); len(d) != 1 || d[0].Function != deploy.Pairing || d[0].Action != "DescribeSignalingChannel" {
		t.Errorf("denied %+v", d)
	}
	if u := fake.Calls("unknown"); len(u) != 0 {
		t.Errorf("calls the fake does not play: %+v", u)
	}
}
