package lambdatest

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/adhoc-support/adhoc-support/internal/liveapi"
)

// APIRequest is an API Gateway HTTP API event (payload format 2.0) as the gateway sends it,
// with the authorizer's claims when claims is not nil.
func APIRequest(method, path, body string, claims map[string]string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " " + routeOf(path), RawPath: path, Body: body,
		Headers: map[string]string{"content-type": "application/json", "user-agent": "SupportSession/1.0.0"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			Stage: "$default", RequestID: "test", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
	for k, v := range headers {
		req.Headers[k] = v
	}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

// routeOf is the route key's path: the HTTP API's route with its parameters in braces.
func routeOf(path string) string {
	parts := strings.Split(path, "/")
	switch {
	case len(parts) >= 3 && parts[1] == "join":
		parts[2] = "{inviteToken}"
	case len(parts) >= 4 && parts[1] == "v1" && parts[2] == "sessions":
		parts[3] = "{id}"
	}
	return strings.Join(parts, "/")
}

// LiveMethodArn is the methodArn API Gateway hands the authorizer of a WebSocket API's
// $connect: arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/$connect.
const LiveMethodArn = "arn:aws:execute-api:eu-central-1:000000000000:abc123/live/" + liveapi.RouteConnect

// LiveAuthorizerRequest is the REQUEST authorizer's event for a WebSocket handshake with
// these headers and query parameters.
func LiveAuthorizerRequest(connectionID string, headers, query map[string]string) liveapi.AuthorizerRequest {
	h := map[string]string{"Host": "abc123.execute-api.eu-central-1.amazonaws.com", "Sec-WebSocket-Version": "13", "Upgrade": "websocket"}
	for k, v := range headers {
		h[k] = v
	}
	return liveapi.AuthorizerRequest{
		Type: "REQUEST", MethodArn: LiveMethodArn, Headers: h, QueryStringParameters: query,
		RequestContext: liveContext(liveapi.RouteConnect, connectionID, nil),
	}
}

// LiveRequest is a WebSocket API proxy event of a route, on a connection that the
// authorizer let in with this context (API Gateway hands the context, with the
// principalId, to every later event of the connection).
func LiveRequest(routeKey, connectionID string, authorizer map[string]any, body string) events.APIGatewayWebsocketProxyRequest {
	return events.APIGatewayWebsocketProxyRequest{Body: body, RequestContext: liveContext(routeKey, connectionID, authorizer)}
}

func liveContext(routeKey, connectionID string, authorizer map[string]any) events.APIGatewayWebsocketProxyRequestContext {
	eventType := "MESSAGE"
	switch routeKey {
	case liveapi.RouteConnect:
		eventType = "CONNECT"
	case liveapi.RouteDisconnect:
		eventType = "DISCONNECT"
	}
	rc := events.APIGatewayWebsocketProxyRequestContext{
		RouteKey: routeKey, EventType: eventType, ConnectionID: connectionID, Stage: "live", APIID: "abc123",
		DomainName: "abc123.execute-api.eu-central-1.amazonaws.com", RequestID: "test",
	}
	if authorizer != nil {
		rc.Authorizer = authorizer
	}
	return rc
}
