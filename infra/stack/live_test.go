package stack_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/adhoc-support/adhoc-support/infra/stack"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/liveapi"
)

func TestLiveAPI(t *testing.T) {
	live := fx.s.Functions[deploy.Live]
	liveArn := js(getAtt(live, "Arn"))
	t.Run("WebSocket API", func(t *testing.T) {
		// GIVEN the stack WHEN the live channel's API is read THEN it is a WebSocket API
		// that routes on the message's action.
		must(t, "api", func() {
			fx.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{
				"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action",
			})
		})
		must(t, "one WebSocket API", func() {
			fx.template.ResourcePropertiesCountIs(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"ProtocolType": "WEBSOCKET"}, jsii.Number(1))
		})
		if r := fx.resources[logicalID(fx.s.LiveAPI)]; r.Properties["ProtocolType"] != "WEBSOCKET" {
			t.Errorf("LiveAPI is %v, want the WebSocket API", r.Properties)
		}
	})

	authorizers := ofAPI("AWS::ApiGatewayV2::Authorizer", fx.s.LiveAPI)
	authorizer := ""
	for id, r := range authorizers {
		authorizer = id
		t.Run("authorizer", func(t *testing.T) {
			// GIVEN the WebSocket API's authorizer WHEN read THEN it is the live function as
			// a REQUEST authorizer that requires no identity source: the app's header and
			// the console's ?ticket= are alternatives, and API Gateway would refuse any
			// handshake lacking a listed source before the function sees it.
			if r.Properties["AuthorizerType"] != "REQUEST" || !strings.Contains(js(r.Properties["AuthorizerUri"]), liveArn) {
				t.Errorf("authorizer %v, want REQUEST on the live function", r.Properties)
			}
			if src, ok := r.Properties["IdentitySource"]; ok && len(list(src)) > 0 {
				t.Errorf("identity source %v, want none", src)
			}
		})
	}
	if len(authorizers) != 1 {
		t.Fatalf("%d authorizers on the WebSocket API, want 1", len(authorizers))
	}

	integrations := ofAPI("AWS::ApiGatewayV2::Integration", fx.s.LiveAPI)
	routes := map[string]resource{}
	for _, r := range ofAPI("AWS::ApiGatewayV2::Route", fx.s.LiveAPI) {
		routes[r.Properties["RouteKey"].(string)] = r
	}
	keys := append([]string{liveapi.RouteConnect, liveapi.RouteDisconnect, liveapi.RouteDefault}, liveapi.Routes...)
	if len(routes) != len(keys) {
		t.Errorf("WebSocket routes %v, want exactly %v", slices.Sorted(maps.Keys(routes)), keys)
	}
	permissions := ofType("AWS::Lambda::Permission")
	for _, key := range keys {
		t.Run("route "+key, func(t *testing.T) {
			// GIVEN the route WHEN read THEN it is a Lambda proxy integration of the live
			// function, API Gateway may invoke the function for it, and only $connect has
			// the authorizer.
			r, ok := routes[key]
			if !ok {
				t.Fatalf("no route %s", key)
			}
			target := js(r.Properties["Target"])
			integrated := false
			for id, in := range integrations {
				if strings.Contains(target, `"`+id+`"`) {
					integrated = in.Properties["IntegrationType"] == "AWS_PROXY" && strings.Contains(js(in.Properties["IntegrationUri"]), liveArn)
				}
			}
			if !integrated {
				t.Errorf("%s targets %s, want the live function's proxy integration", key, target)
			}
			auth, _ := r.Properties["AuthorizationType"].(string)
			if key == liveapi.RouteConnect {
				if auth != "CUSTOM" || js(r.Properties["AuthorizerId"]) != js(map[string]any{"Ref": authorizer}) {
					t.Errorf("$connect authorization %q %v, want the REQUEST authorizer", auth, r.Properties["AuthorizerId"])
				}
			} else if (auth != "" && auth != "NONE") || r.Properties["AuthorizerId"] != nil {
				t.Errorf("%s authorization %q %v, want none (WebSocket APIs authorize $connect only)", key, auth, r.Properties["AuthorizerId"])
			}
			invokable := false
			for _, p := range permissions {
				source := js(p.Properties["SourceArn"])
				invokable = invokable || (js(p.Properties["FunctionName"]) == liveArn && p.Properties["Principal"] == "apigateway.amazonaws.com" &&
					strings.Contains(source, js(ref(fx.s.LiveAPI))) && strings.HasSuffix(source, `"/*`+key+`"]]}`))
			}
			if !invokable {
				t.Errorf("no permission for API Gateway to invoke the live function on %s", key)
			}
		})
	}

	t.Run("stage", func(t *testing.T) {
		// GIVEN the WebSocket API's stage WHEN read THEN it deploys itself, throttles, and
		// logs one JSON line per event with the route, event type, connection and status,
		// never the query string (a console's ticket) nor a header (the app's token).
		stages := ofAPI("AWS::ApiGatewayV2::Stage", fx.s.LiveAPI)
		if len(stages) != 1 {
			t.Fatalf("%d stages on the WebSocket API, want 1", len(stages))
		}
		must(t, "stage", func() {
			fx.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
				"ApiId":                ref(fx.s.LiveAPI),
				"StageName":            stack.LiveStageName,
				"AutoDeploy":           true,
				"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": fx.cfg.LiveRateLimit, "ThrottlingBurstLimit": fx.cfg.LiveBurstLimit},
			})
		})
		for id, st := range stages {
			settings := st.Properties["AccessLogSettings"].(map[string]any)
			if !strings.Contains(js(settings["DestinationArn"]), logicalID(fx.s.Stack.Node().FindChild(jsii.String("LiveAccessLogs")))) {
				t.Errorf("access logs go to %s, want the LiveAccessLogs group", js(settings["DestinationArn"]))
			}
			format, _ := settings["Format"].(string)
			for _, want := range []string{"$context.routeKey", "$context.eventType", "$context.connectionId", "$context.status", "$context.requestId"} {
				if !strings.Contains(format, want) {
					t.Errorf("access log format %s lacks %s", format, want)
				}
			}
			for _, leak := range []string{"querystring", "queryString", "$request", "$input", "$context.path", "requestPath", "header", "$context.authorizer.claims"} {
				if strings.Contains(format, leak) {
					t.Errorf("access log format logs %s: %s", leak, format)
				}
			}
			// Logging needs the account's API Gateway role to be set first.
			if !slices.ContainsFunc(list(st.DependsOn), func(d any) bool { s, _ := d.(string); return strings.HasPrefix(s, "ApiGatewayAccount") }) {
				t.Errorf("stage %s depends on %v, not on the account's logging role setting", id, st.DependsOn)
			}
		}
	})

	t.Run("account logging role", func(t *testing.T) {
		// GIVEN the account setting API Gateway logs with WHEN read THEN its role may be
		// assumed by API Gateway only, carries AWS's logging policy, and both outlive the
		// stack (other APIs of the account log with them).
		must(t, "account setting", func() {
			fx.template.HasResource(jsii.String("AWS::ApiGateway::Account"), map[string]any{
				"DeletionPolicy": "Retain",
				"Properties":     map[string]any{"CloudWatchRoleArn": assertions.Match_AnyValue()},
			})
		})
		var roleID string
		for _, a := range ofType("AWS::ApiGateway::Account") {
			roleID, _ = a.Properties["CloudWatchRoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		}
		role := fx.resources[roleID]
		if role.Type != "AWS::IAM::Role" || role.DeletionPolicy != "Retain" {
			t.Fatalf("logging role %s: %+v, want a retained role", roleID, role)
		}
		if trust := js(role.Properties["AssumeRolePolicyDocument"]); !strings.Contains(trust, `"Service":"apigateway.amazonaws.com"`) {
			t.Errorf("trust policy %s, want API Gateway", trust)
		}
		if mp := js(role.Properties["ManagedPolicyArns"]); !strings.Contains(mp, "service-role/AmazonAPIGatewayPushToCloudWatchLogs") {
			t.Errorf("managed policies %s, want AmazonAPIGatewayPushToCloudWatchLogs", mp)
		}
	})
}

func TestLiveErrorsAlarm(t *testing.T) {
	// GIVEN the live function's errors alarm WHEN read THEN it counts the function's
	// Errors less the handshakes it refused (a Lambda authorizer refuses by failing), as
	// counted by a metric filter on the function's own log group for the line liveapi
	// logs for each refusal.
	live := fx.s.Functions[deploy.Live]
	namespace := stack.MetricNamespace(fx.s.Stack)
	must(t, "metric filter", func() {
		fx.template.HasResourceProperties(jsii.String("AWS::Logs::MetricFilter"), map[string]any{
			"LogGroupName":  ref(fx.s.LogGroups[deploy.Live]),
			"FilterPattern": `{ $.msg = "` + liveapi.LogHandshakeRefused + `" }`,
			"MetricTransformations": []any{map[string]any{
				"MetricNamespace": namespace, "MetricName": stack.LiveRefusedMetric, "MetricValue": "1",
			}},
		})
	})
	must(t, "alarm", func() {
		fx.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"Threshold":          1,
			"AlarmActions":       assertions.Match_AnyValue(),
			"Metrics": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Expression": "FILL(errors, 0) - FILL(refused, 0)", "ReturnData": true}),
				assertions.Match_ObjectLike(&map[string]any{"Id": "errors", "MetricStat": assertions.Match_ObjectLike(&map[string]any{
					"Metric": map[string]any{"MetricName": "Errors", "Namespace": "AWS/Lambda", "Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": ref(live)}}},
				})}),
				assertions.Match_ObjectLike(&map[string]any{"Id": "refused", "MetricStat": assertions.Match_ObjectLike(&map[string]any{
					"Metric": map[string]any{"MetricName": stack.LiveRefusedMetric, "Namespace": namespace},
				})}),
			}),
		})
	})
	// ... and no alarm fires on the live function's raw Errors.
	for id, a := range ofType("AWS::CloudWatch::Alarm") {
		if a.Properties["MetricName"] == "Errors" && js(a.Properties["Dimensions"]) == js([]any{map[string]any{"Name": "FunctionName", "Value": ref(live)}}) {
			t.Errorf("alarm %s fires on every refused handshake", id)
		}
	}
}
