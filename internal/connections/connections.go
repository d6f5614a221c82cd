// Package connections pushes messages down the live channel's WebSocket connections with
// API Gateway's @connections management API (support.Pusher). In AWS the client talks to
// the WebSocket API's stage endpoint; locally the same client talks to the local
// gateway's stand-in for it, so the requests the product sends are the same everywhere.
package connections

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Client is support.Pusher on the @connections API.
type Client struct {
	api *apigatewaymanagementapi.Client
}

var _ support.Pusher = (*Client)(nil)

// New returns a pusher on a management API client whose endpoint is the stage's
// https://{api-id}.execute-api.{region}.amazonaws.com/{stage} (NewFromConfig with
// BaseEndpoint).
func New(api *apigatewaymanagementapi.Client) *Client { return &Client{api: api} }

// NewForEndpoint returns a pusher for the stage endpoint with the given AWS configuration.
// An endpoint the configuration itself names for the service wins (the SDK's
// AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, or the configuration's BaseEndpoint): that
// is how a test points the real bootstraps at a fake while the stage endpoint stays what
// the stack would set.
func NewForEndpoint(cfg aws.Config, endpoint string) *Client {
	return New(apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		if o.BaseEndpoint == nil {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}))
}

// Push implements support.Pusher (POST /@connections/{id}). A connection that no longer
// exists answers 410 Gone, which becomes support.ErrGone.
func (c *Client) Push(ctx context.Context, connectionID string, message []byte) error {
	_, err := c.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(connectionID), Data: message,
	})
	var gone *types.GoneException
	if errors.As(err, &gone) {
		return fmt.Errorf("post to connection: %w", support.ErrGone)
	}
	if err != nil {
		return fmt.Errorf("post to connection: %w", err)
	}
	return nil
}

// Disconnect closes a connection (DELETE /@connections/{id}); one that is gone already is
// not an error.
func (c *Client) Disconnect(ctx context.Context, connectionID string) error {
	_, err := c.api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(connectionID)})
	var gone *types.GoneException
	if err != nil && !errors.As(err, &gone) {
		return fmt.Errorf("delete connection: %w", err)
	}
	return nil
}
