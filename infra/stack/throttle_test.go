package stack_test

import (
	"slices"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/adhoc-support/adhoc-support/infra/stack"
)

// TestPublicRouteThrottles: the routes anyone may call without a token get their own
// throttle below the stage's, so a flood of /join or /v1/agent/hello uses up its own
// allowance and not the one the technicians and the apps share.
func TestPublicRouteThrottles(t *testing.T) {
	for _, key := range stack.PublicRoutes {
		if !slices.ContainsFunc(stack.Routes, func(r stack.Route) bool { return r.Method+" "+r.Path == key && !r.Technician }) {
			t.Errorf("%s is not a route without the JWT authorizer", key)
		}
	}
	settings := map[string]any{}
	for _, key := range stack.PublicRoutes {
		settings[key] = map[string]any{"ThrottlingRateLimit": fx.cfg.PublicRateLimit, "ThrottlingBurstLimit": fx.cfg.PublicBurstLimit}
	}
	// GIVEN the synthesized stack WHEN its HTTP stage is read THEN each public route has its
	// own throttle, and every other route the stage's default.
	must(t, "per-route throttles", func() {
		fx.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"StageName":     "$default",
			"RouteSettings": settings,
			"DefaultRouteSettings": map[string]any{
				"ThrottlingRateLimit": fx.cfg.APIRateLimit, "ThrottlingBurstLimit": fx.cfg.APIBurstLimit,
			},
		})
	})
	if fx.cfg.PublicRateLimit >= fx.cfg.APIRateLimit || fx.cfg.PublicBurstLimit >= fx.cfg.APIBurstLimit {
		t.Errorf("public routes %d/%d, stage %d/%d: the public routes' throttle must be the lower one",
			fx.cfg.PublicRateLimit, fx.cfg.PublicBurstLimit, fx.cfg.APIRateLimit, fx.cfg.APIBurstLimit)
	}
	// THEN the stage is created after the routes its settings name (CloudFormation refuses
	// route settings for a route that does not exist yet).
	routeIDs := map[string]string{}
	for id, r := range ofAPI("AWS::ApiGatewayV2::Route", fx.s.API) {
		routeIDs[r.Properties["RouteKey"].(string)] = id
	}
	stages := 0
	for id, r := range fx.resources {
		if r.Type != "AWS::ApiGatewayV2::Stage" || r.Properties["StageName"] != "$default" {
			continue
		}
		stages++
		var deps []string
		switch d := r.DependsOn.(type) {
		case string:
			deps = []string{d}
		case []any:
			for _, v := range d {
				deps = append(deps, v.(string))
			}
		}
		for _, key := range stack.PublicRoutes {
			if !slices.Contains(deps, routeIDs[key]) {
				t.Errorf("stage %s does not depend on the route %s (%s): %v", id, key, routeIDs[key], deps)
			}
		}
	}
	if stages != 1 {
		t.Errorf("%d HTTP stages named $default, want 1", stages)
	}
}
