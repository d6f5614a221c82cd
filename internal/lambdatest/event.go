package lambdatest

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"
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
