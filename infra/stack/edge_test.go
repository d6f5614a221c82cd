package stack_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/adhoc-support/adhoc-support/infra/stack"
)

// TestEdge: with the context flag edgeRateLimit the stack puts CloudFront with an AWS WAF
// rate-based rule in front of the API, as infra/main.go builds it (the web ACL in its own
// stack in us-east-1, its ARN carried across regions); without it, neither exists (the
// shared fixture).
func TestEdge(t *testing.T) {
	// GIVEN the stack without the flag THEN there is no distribution, and the join links
	// and the console are the API's.
	if n := len(ofType("AWS::CloudFront::Distribution")); n != 0 || fx.s.Edge != nil {
		t.Errorf("%d distributions without edgeRateLimit", n)
	}
	if _, ok := fx.outputs["PublicUrl"]; ok {
		t.Error("a PublicUrl output without the edge")
	}

	// GIVEN edgeRateLimit=300 WHEN the app is synthesized as infra/main.go does
	ctx, err := cdkContext()
	if err != nil {
		t.Fatal(err)
	}
	ctx[stack.CtxEdgeRateLimit] = "300"
	out := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
	cfg, err := stack.ConfigFrom(func(k string) any { return app.Node().TryGetContext(jsii.String(k)) })
	if err != nil {
		t.Fatal(err)
	}
	const account = "123456789012"
	edge := stack.NewEdgeStack(app, stack.EdgeStackName("AdhocSupport"), &stack.EdgeStackProps{
		StackProps: awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(stack.EdgeRegion)}},
		RateLimit:  cfg.EdgeRateLimit,
	})
	s := stack.NewAdhocSupportStack(app, "AdhocSupport", &stack.AdhocSupportStackProps{
		StackProps: awscdk.StackProps{
			Env:                   &awscdk.Environment{Account: jsii.String(account), Region: jsii.String("eu-central-1")},
			CrossRegionReferences: jsii.Bool(true),
		},
		Config: cfg, AssetDir: fx.assetDir, EdgeWebACLArn: edge.WebACL.AttrArn(),
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	acl := assertions.Template_FromStack(edge.Stack, nil)
	main := assertions.Template_FromStack(s.Stack, nil)

	// THEN the web ACL allows everything but a client IP over 300 requests in 5 minutes to
	// the public routes, which gets 429.
	must(t, "web ACL", func() {
		acl.HasResourceProperties(jsii.String("AWS::WAFv2::WebACL"), map[string]any{
			"Scope":         "CLOUDFRONT",
			"DefaultAction": map[string]any{"Allow": map[string]any{}},
			"Rules": []any{map[string]any{
				"Name":   stack.EdgeRateRule,
				"Action": map[string]any{"Block": map[string]any{"CustomResponse": map[string]any{"ResponseCode": 429}}},
				"Statement": map[string]any{"RateBasedStatement": map[string]any{
					"Limit": 300, "AggregateKeyType": "IP", "EvaluationWindowSec": 300,
					"ScopeDownStatement": map[string]any{"OrStatement": map[string]any{"Statements": []any{
						pathMatch("/v1/agent/hello", "EXACTLY"), pathMatch("/v1/agent/pair", "EXACTLY"), pathMatch("/join/", "STARTS_WITH"),
					}}},
				}},
			}},
		})
	})
	// THEN the distribution fronts the whole API behind that web ACL: every method, the
	// Authorization header to the origin, nothing cached, HTTPS only on both sides.
	must(t, "distribution", func() {
		main.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), map[string]any{
			"DistributionConfig": assertions.Match_ObjectLike(&map[string]any{
				"WebACLId": assertions.Match_AnyValue(),
				"DefaultCacheBehavior": assertions.Match_ObjectLike(&map[string]any{
					"AllowedMethods":       []any{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"},
					"ViewerProtocolPolicy": "https-only",
					// AllViewerExceptHostHeader: API Gateway answers only its own Host.
					"OriginRequestPolicyId": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
				}),
				"Origins": []any{assertions.Match_ObjectLike(&map[string]any{
					"CustomOriginConfig": assertions.Match_ObjectLike(&map[string]any{
						"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": []any{"TLSv1.2"},
					}),
				})},
			}),
		})
		main.HasResourceProperties(jsii.String("AWS::CloudFront::CachePolicy"), map[string]any{
			"CachePolicyConfig": assertions.Match_ObjectLike(&map[string]any{
				"DefaultTTL": 0, "MinTTL": 0, "MaxTTL": 1,
				"ParametersInCacheKeyAndForwardedToOrigin": assertions.Match_ObjectLike(&map[string]any{
					"HeadersConfig":      map[string]any{"HeaderBehavior": "whitelist", "Headers": []any{"Authorization"}},
					"QueryStringsConfig": map[string]any{"QueryStringBehavior": "all"},
				}),
			}),
		})
	})
	// THEN the distribution takes the web ACL's ARN from the edge stack in us-east-1
	// (CloudFormation's Fn::GetStackOutput: no custom resource carries it).
	cfg0 := (*main.ToJSON())["Resources"].(map[string]any)[logicalIDIn(s.Stack, s.Edge)].(map[string]any)["Properties"].(map[string]any)["DistributionConfig"].(map[string]any)
	if got := js(cfg0["WebACLId"]); !strings.Contains(got, `"Fn::GetStackOutput"`) || !strings.Contains(got, `"Region":"us-east-1"`) ||
		!strings.Contains(got, `"StackName":"AdhocSupportEdge"`) {
		t.Errorf("WebACLId %s, want the edge stack's output", got)
	}
	// THEN the join links, the console's sign-in redirect and the outputs use the
	// distribution's URL, so the console and the apps keep working behind it.
	tmpl := main.ToJSON()
	raw := js(tmpl)
	distribution := logicalIDIn(s.Stack, s.Edge)
	wantURL := js(map[string]any{"Fn::Join": []any{"", []any{"https://", map[string]any{"Fn::GetAtt": []any{distribution, "DomainName"}}}}})
	outputs := (*tmpl)["Outputs"].(map[string]any)
	if got := js(outputs["PublicUrl"].(map[string]any)["Value"]); got != wantURL {
		t.Errorf("PublicUrl %s, want %s", got, wantURL)
	}
	if n := strings.Count(raw, `"PUBLIC_BASE_URL":`+wantURL); n != 2 {
		t.Errorf("PUBLIC_BASE_URL is the distribution's URL in %d functions, want 2 (invitation, pairing)", n)
	}
	callback := js(map[string]any{"Fn::Join": []any{"", []any{"https://", map[string]any{"Fn::GetAtt": []any{distribution, "DomainName"}}, "/"}}})
	if !strings.Contains(raw, `"CallbackURLs":[`+callback+`]`) {
		t.Errorf("the console's sign-in does not return to the distribution's URL %s", callback)
	}

	// THEN cdk-nag finds nothing unsuppressed in either stack.
	for _, st := range []awscdk.Stack{edge.Stack, s.Stack} {
		errs := assertions.Annotations_FromStack(st).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
		for _, e := range *errs {
			t.Errorf("cdk-nag %s: %s", *st.StackName(), js(e))
		}
		f, err := os.Open(filepath.Join(out, "AwsSolutions--"+*st.StackName()+"-NagReport.csv"))
		if err != nil {
			t.Fatalf("cdk-nag's report of %s: %v", *st.StackName(), err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		compliance := map[string]int{}
		for _, r := range rows[1:] {
			compliance[r[2]]++
			if r[2] == "Non-Compliant" {
				t.Errorf("cdk-nag %s: %s on %s is non-compliant: %s", *st.StackName(), r[0], r[1], r[5])
			}
		}
		t.Logf("cdk-nag report of %s: %v", *st.StackName(), compliance)
		// (The AwsSolutions pack has no rule for a web ACL: the edge stack's report is empty.)
		if st == s.Stack && compliance["Compliant"] == 0 {
			t.Errorf("cdk-nag checked nothing in %s", *st.StackName())
		}
	}
}

func pathMatch(path, constraint string) map[string]any {
	return map[string]any{"ByteMatchStatement": map[string]any{
		"FieldToMatch":         map[string]any{"UriPath": map[string]any{}},
		"PositionalConstraint": constraint,
		"SearchString":         path,
		"TextTransformations":  []any{map[string]any{"Priority": 0, "Type": "NONE"}},
	}}
}

func logicalIDIn(st awscdk.Stack, c constructs.IConstruct) string {
	return *st.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}
