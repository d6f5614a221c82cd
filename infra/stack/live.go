package stack

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/adhoc-support/adhoc-support/internal/liveapi"
)

// The live channel (DESIGN.md, "Live channel"): an API Gateway WebSocket API whose every
// route, and the $connect authorizer, is the live function. The functions push through
// the stage's @connections endpoint.
//
// Dependencies run one way only: every function's environment and role name the API (its
// id, in LIVE_ENDPOINT, LIVE_URL and the ManageConnections resource), and the routes,
// integration and authorizer name the live function. The API and its stage name no
// function, so the functions are created after the API and the routes after the live
// function.

// LiveStageName is the WebSocket API's one stage: wss://{api-id}.execute-api.{region}.amazonaws.com/live,
// the same path as the local gateway's ws://localhost:8080/live.
const LiveStageName = "live"

// liveRouteKeys are the WebSocket API's routes besides $connect: each one is the live
// function, which routes on the key itself.
func liveRouteKeys() []string {
	return append([]string{liveapi.RouteDisconnect, liveapi.RouteDefault}, liveapi.Routes...)
}

// liveAccessLogFormat is one JSON line per handshake and message. It never logs the
// request's query string, where a console's ticket travels (no WebSocket access log
// variable carries it, and none that could is used), nor any header, where the app's
// agent token travels.
func liveAccessLogFormat() string {
	f := map[string]string{
		"requestId":          "$context.requestId",
		"time":               "$context.requestTime",
		"ip":                 "$context.identity.sourceIp",
		"userAgent":          "$context.identity.userAgent",
		"routeKey":           "$context.routeKey",
		"eventType":          "$context.eventType",
		"connectionId":       "$context.connectionId",
		"messageId":          "$context.messageId",
		"status":             "$context.status",
		"error":              "$context.error.message",
		"integrationLatency": "$context.integrationLatency",
		"authorizerError":    "$context.authorizer.error",
		// The technician's id, or "app:<session id>": who held the connection.
		"principal": "$context.authorizer.principalId",
	}
	b, err := json.Marshal(f)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}

// newLiveAPI is the WebSocket API and its stage, without routes (liveRoutes adds them once
// the live function exists).
func newLiveAPI(st awscdk.Stack, cfg Config) (awsapigatewayv2.WebSocketApi, awsapigatewayv2.WebSocketStage) {
	api := awsapigatewayv2.NewWebSocketApi(st, jsii.String("LiveApi"), &awsapigatewayv2.WebSocketApiProps{
		Description: jsii.String("Ad-hoc Support: the live channel of the app and the console"),
		// The client's {"action": "ping"} picks the route; anything else is $default.
		RouteSelectionExpression: jsii.String("$request.body.action"),
	})
	logs := awslogs.NewLogGroup(st, jsii.String("LiveAccessLogs"), &awslogs.LogGroupProps{
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := awsapigatewayv2.NewWebSocketStage(st, jsii.String("LiveStage"), &awsapigatewayv2.WebSocketStageProps{
		WebSocketApi: api,
		StageName:    jsii.String(LiveStageName),
		AutoDeploy:   jsii.Bool(true),
		// Config.LiveRateLimit: it bounds the bill under a flood of handshakes or messages.
		Throttle: &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(cfg.LiveRateLimit), BurstLimit: jsii.Number(cfg.LiveBurstLimit)},
	})
	// As for the HTTP API's stage, access logs are set on the CloudFormation resource.
	cfn := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfn.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: st.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("logs"),
			Resource:     jsii.String("log-group"),
			ResourceName: logs.LogGroupName(),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}),
		Format: jsii.String(liveAccessLogFormat()),
	})
	// Unlike an HTTP API, a WebSocket API writes its logs with the role of the account's
	// API Gateway settings, and a stage with logging cannot be created until that role is
	// set ("CloudWatch Logs role ARN must be set in account settings to enable logging").
	stage.Node().AddDependency(newAPIGatewayLogsRole(st))
	return api, stage
}

// newAPIGatewayLogsRole sets the role API Gateway writes REST and WebSocket API logs with.
// It is a setting of the whole account and region, not of this API: every REST or
// WebSocket API there logs with it, so the role has AWS's policy for exactly that, and it
// is kept when the stack is deleted (the setting would otherwise point at a deleted role
// and break the logging of the account's other APIs).
func newAPIGatewayLogsRole(st awscdk.Stack) awsapigateway.CfnAccount {
	role := awsiam.NewRole(st, jsii.String("ApiGatewayLogsRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
		Description: jsii.String("API Gateway (account setting): writes the access logs of REST and WebSocket APIs"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AmazonAPIGatewayPushToCloudWatchLogs")),
		},
	})
	role.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	account := awsapigateway.NewCfnAccount(st, jsii.String("ApiGatewayAccount"), &awsapigateway.CfnAccountProps{
		CloudWatchRoleArn: role.RoleArn(),
	})
	account.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	return account
}

// liveRoutes makes every route of the WebSocket API the live function, and guards
// $connect with the live function as REQUEST authorizer; a WebSocket API authorizes only
// the handshake, and every later message arrives on a connection it let in.
func (s *AdhocSupportStack) liveRoutes(live awslambda.Function) {
	authorizer := awsapigatewayv2authorizers.NewWebSocketLambdaAuthorizer(jsii.String("LiveHandshake"), live,
		&awsapigatewayv2authorizers.WebSocketLambdaAuthorizerProps{
			// No identity source, on purpose. API Gateway calls the authorizer only when every
			// listed source is present and non-empty, and answers 401 itself otherwise. The
			// two clients carry two alternative credentials: the app an Authorization header,
			// a console tab ?ticket= (browsers cannot set headers on a WebSocket). Listing
			// both would refuse both clients; listing one would refuse the other. The
			// CloudFormation and API Gateway v2 references make the identity source optional
			// for REQUEST authorizers, and a WebSocket authorizer has no result cache it would
			// key, so the function is called for every handshake and refuses what carries
			// neither (support.AuthorizeLive). The CDK default (the Authorization header)
			// would lock out every console. Should a deployment ever refuse the empty list,
			// "context.connectionId" is a source every handshake carries.
			IdentitySource: &[]*string{},
		})
	integration := awsapigatewayv2integrations.NewWebSocketLambdaIntegration(jsii.String("LiveIntegration"), live, nil)
	s.LiveAPI.AddRoute(jsii.String(liveapi.RouteConnect), &awsapigatewayv2.WebSocketRouteOptions{
		Integration: integration,
		Authorizer:  authorizer,
	})
	for _, key := range liveRouteKeys() {
		s.liveMessageRoutes = append(s.liveMessageRoutes, s.LiveAPI.AddRoute(jsii.String(key), &awsapigatewayv2.WebSocketRouteOptions{
			Integration: integration,
		}))
	}
}
