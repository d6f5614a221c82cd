package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// EdgeRegion is where a web ACL for CloudFront must live (AWS WAF's CLOUDFRONT scope).
const EdgeRegion = "us-east-1"

// EdgeStackName is the name of the stack that holds the web ACL, after the main stack's.
func EdgeStackName(main string) string { return main + "Edge" }

// EdgeRateRule is the name of the web ACL's rate-based rule (and its CloudWatch metric).
const EdgeRateRule = "PublicRoutesPerIP"

// EdgeStackProps configures the edge stack.
type EdgeStackProps struct {
	awscdk.StackProps // Env: the main stack's account, region EdgeRegion
	// RateLimit is Config.EdgeRateLimit: requests per client IP per 5 minutes to the
	// public routes.
	RateLimit int
}

// EdgeStack is the web ACL in front of the API's CloudFront distribution.
type EdgeStack struct {
	Stack  awscdk.Stack
	WebACL awswafv2.CfnWebACL
}

// publicPathMatches are the public routes (PublicRoutes) as the WAF sees their paths.
func publicPathMatches() []*awswafv2.CfnWebACL_StatementProperty {
	match := func(path, constraint string) *awswafv2.CfnWebACL_StatementProperty {
		return &awswafv2.CfnWebACL_StatementProperty{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
			FieldToMatch:         &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}},
			PositionalConstraint: jsii.String(constraint),
			SearchString:         jsii.String(path),
			TextTransformations:  &[]*awswafv2.CfnWebACL_TextTransformationProperty{{Priority: jsii.Number(0), Type: jsii.String("NONE")}},
		}}
	}
	var out []*awswafv2.CfnWebACL_StatementProperty
	join := false
	for _, key := range PublicRoutes {
		_, path, _ := strings.Cut(key, " ")
		if strings.HasPrefix(path, "/join/") {
			join = true // both join routes: one prefix
			continue
		}
		out = append(out, match(path, "EXACTLY"))
	}
	if join {
		out = append(out, match("/join/", "STARTS_WITH"))
	}
	return out
}

// NewEdgeStack builds the web ACL: everything is allowed but a client IP that sends more than
// RateLimit requests to the public routes within 5 minutes, which gets 429 on them until its
// rate drops. The technicians' routes, the apps' polls and the console are not counted, so a
// flood of /join or /v1/agent/hello from a few addresses locks out nobody else.
func NewEdgeStack(scope constructs.Construct, id string, props *EdgeStackProps) *EdgeStack {
	if props.RateLimit < 10 {
		panic(fmt.Sprintf("stack: edge rate limit %d: AWS WAF counts at least 10", props.RateLimit))
	}
	st := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true), MetricName: jsii.String(name), SampledRequestsEnabled: jsii.Bool(true),
		}
	}
	acl := awswafv2.NewCfnWebACL(st, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Scope:            jsii.String("CLOUDFRONT"),
		Description:      jsii.String("Ad-hoc Support: per-IP rate limit on the routes without a token"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		VisibilityConfig: visibility("AdhocSupportEdge"),
		Rules: &[]*awswafv2.CfnWebACL_RuleProperty{{
			Name:     jsii.String(EdgeRateRule),
			Priority: jsii.Number(0),
			Action: &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{
				CustomResponse: &awswafv2.CfnWebACL_CustomResponseProperty{ResponseCode: jsii.Number(429)},
			}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
				Limit:               jsii.Number(props.RateLimit),
				AggregateKeyType:    jsii.String("IP"),
				EvaluationWindowSec: jsii.Number(300),
				ScopeDownStatement: &awswafv2.CfnWebACL_StatementProperty{OrStatement: &awswafv2.CfnWebACL_OrStatementProperty{
					Statements: publicPathMatches(),
				}},
			}},
			VisibilityConfig: visibility(EdgeRateRule),
		}},
	})
	return &EdgeStack{Stack: st, WebACL: acl}
}

// newEdgeDistribution puts CloudFront in front of the whole HTTP API, behind the web ACL:
// every route passes (all methods, the Authorization header, query strings, nothing
// cached), so the console, the technicians' routes and the apps keep working at its URL;
// only the WAF rule counts the public ones. Returns the distribution's https URL.
func newEdgeDistribution(st awscdk.Stack, apiID *string, webACLArn *string) (awscloudfront.Distribution, *string) {
	origin := awscloudfrontorigins.NewHttpOrigin(
		awscdk.Fn_Join(jsii.String(""), &[]*string{apiID, jsii.String(".execute-api."), st.Region(), jsii.String("."), st.UrlSuffix()}),
		&awscloudfrontorigins.HttpOriginProps{
			ProtocolPolicy:     awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
			OriginSslProtocols: &[]awscloudfront.OriginSslPolicy{awscloudfront.OriginSslPolicy_TLS_V1_2},
			// API Gateway's integration timeout.
			ReadTimeout: awscdk.Duration_Seconds(jsii.Number(30)),
		})
	// The Authorization header reaches the origin only as part of the cache key (an origin
	// request policy may not forward it); with no TTL of its own and the API's no-store,
	// nothing is kept.
	cache := awscloudfront.NewCachePolicy(st, jsii.String("EdgePassThrough"), &awscloudfront.CachePolicyProps{
		Comment:             jsii.String("Ad-hoc Support: the API through CloudFront, keyed on Authorization, not cached"),
		DefaultTtl:          awscdk.Duration_Seconds(jsii.Number(0)),
		MinTtl:              awscdk.Duration_Seconds(jsii.Number(0)),
		MaxTtl:              awscdk.Duration_Seconds(jsii.Number(1)),
		HeaderBehavior:      awscloudfront.CacheHeaderBehavior_AllowList(jsii.String("Authorization")),
		QueryStringBehavior: awscloudfront.CacheQueryStringBehavior_All(),
		CookieBehavior:      awscloudfront.CacheCookieBehavior_None(),
	})
	d := awscloudfront.NewDistribution(st, jsii.String("Edge"), &awscloudfront.DistributionProps{
		Comment: jsii.String("Ad-hoc Support: the API behind AWS WAF's per-IP rate limit"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:               origin,
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
			CachePolicy:          cache,
			// Every viewer header but Host: API Gateway answers only its own host name.
			OriginRequestPolicy: awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
		},
		WebAclId:    webACLArn,
		PriceClass:  awscloudfront.PriceClass_PRICE_CLASS_100,
		HttpVersion: awscloudfront.HttpVersion_HTTP2_AND_3,
	})
	url := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), d.DistributionDomainName()})
	return d, url
}

// suppressEdge gives the distribution's and the cross-region references' findings their
// reasons.
func suppressEdge(st awscdk.Stack, d awscloudfront.Distribution) {
	list := []*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-CFR1"), Reason: jsii.String(
			"No geo restriction: the end users who open an invitation and the technicians are wherever the customer's business is; the WAF rate rule limits each client IP instead.")},
		{Id: jsii.String("AwsSolutions-CFR3"), Reason: jsii.String(
			"No CloudFront access logs: they record the full path, and /join/{inviteToken} carries a bearer secret (DESIGN.md: never log a full token). " +
				"The API's access log records every request by route key without the path, and the WAF rule's CloudWatch metrics and sampled requests show what it blocks.")},
		{Id: jsii.String("AwsSolutions-CFR4"), Reason: jsii.String(
			"The distribution uses CloudFront's default *.cloudfront.net certificate, for which CloudFront fixes the viewer TLS policy; a deployment with its own domain " +
				"and ACM certificate sets TLSv1.2_2021. The origin side is HTTPS with TLS 1.2 only.")},
	}
	cdknag.NagSuppressions_AddResourceSuppressions(d, &list, jsii.Bool(true))
	_ = st
}
