package lambdatest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/adhoc-support/adhoc-support/internal/connections"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/grants"
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
