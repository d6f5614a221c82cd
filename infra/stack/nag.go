package stack

import (
	"regexp"
	"strings"

	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
)

// suppress records, next to each finding of the AwsSolutions pack that the design
// accepts, why it is accepted. Each suppression names the resource, and for IAM5 the
// exact wildcard, so a new finding of the same rule elsewhere still fails.
func suppress(s *AdhocSupportStack) {
	type suppression = cdknag.NagPackSuppression
	on := func(construct any, children bool, list ...*suppression) {
		cdknag.NagSuppressions_AddResourceSuppressions(construct, &list, jsii.Bool(children))
	}
	rule := func(id, reason string, appliesTo ...any) *suppression {
		sp := &suppression{Id: jsii.String(id), Reason: jsii.String(reason)}
		if len(appliesTo) > 0 {
			sp.AppliesTo = &appliesTo
		}
		return sp
	}
	regex := func(re string) any { return &cdknag.RegexAppliesTo{Regex: jsii.String(re)} }

	for _, q := range []any{s.SweepDLQ, s.ScheduleDLQ, s.ExpiryFailures} {
		on(q, true, rule("AwsSolutions-SQS3",
			"This queue is itself a dead-letter queue (of the sweep rule's target, the one-time schedules, or expiry's asynchronous invocations). "+
				"Nothing consumes it automatically: an alarm fires on its first message and an operator inspects or redrives it, so a DLQ of a DLQ would only hide failures one level deeper."))
	}

	on(s.AppBucket, false, rule("AwsSolutions-S1",
		"Server access logs would record every presigned download URL of the Windows app, and the file name in it carries the invite token, "+
			"a bearer secret while the invitation is open (DESIGN.md: never log a full token). Each download is already visible without the token: "+
			"the join route runs in the pairing function, whose JSON logs and the API access log record it, and the bucket holds only the public app builds."))

	on(s.UserPool, true, rule("AwsSolutions-COG8",
		"The Plus feature plan (threat protection) is billed per monthly active user even when idle users sign in once. "+
			"The risk it addresses is covered differently: self sign-up is off (an administrator creates every technician), "+
			"TOTP MFA is required, passwords need 12 characters of all four classes, and the API's technician routes accept only this pool's tokens. "+
			"Operators who want it set FeaturePlan PLUS and StandardThreatProtectionMode FULL_FUNCTION."))

	for _, r := range s.publicRoutes {
		reason := ""
		switch {
		case r.Function == deploy.Pairing && len(r.Path) > 5 && r.Path[:5] == "/join":
			reason = "The join page and app download are opened from the invitation e-mail by an end user who has no account; " +
				"the path's invite token (256 random bits, stored only as SHA-256) is the credential, checked by the pairing function, and an unknown token gets 404."
		case r.Function == deploy.Pairing:
			reason = "Agent route: the Windows app has no Cognito user. It authenticates inside the pairing function with the invite token plus the spoken " +
				"security code (5 tries, then locked), and after pairing with its agent token (256 random bits, Bearer, stored as SHA-256), as DESIGN.md specifies."
		default:
			reason = "The console's static files (HTML, JS, CSS) are public like any sign-in page; they hold no data. " +
				"Everything the console shows comes from the technician routes, which are behind the Cognito JWT authorizer."
		}
		for _, c := range r.constructs {
			on(c, true, rule("AwsSolutions-APIG4", reason))
		}
	}

	xray := rule("AwsSolutions-IAM5",
		"X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so Lambda's tracing statement must use \"*\". "+
			"The tests check that no other statement of the role has a \"*\" resource.",
		"Resource::*")
	schedules := rule("AwsSolutions-IAM5",
		"One-time expiry schedules are named per session at run time, so the statement allows the schedules inside the product's own schedule group "+
			"(schedule/<group>/*) and nothing outside it; the group holds nothing else.",
		regex(`/^Resource::arn:.+:scheduler:.+:schedule\/.+\/\*$/`))
	pushes := rule("AwsSolutions-IAM5",
		"execute-api:ManageConnections on the live stage's @connections (<api>/"+LiveStageName+"/*/@connections/*): "+
			"the connection ids are made by API Gateway per connection at run time, and the function pushes to whichever connections of a session "+
			"or account the table names; nothing outside the product's own WebSocket API and stage is covered.",
		regex(`/^Resource::arn:.+:execute-api:.+:<LiveApi[0-9A-F]+>\/`+LiveStageName+`\/\*\/@connections\/\*$/`))
	for _, name := range deploy.Functions {
		list := []*suppression{xray, schedules, pushes}
		if name == deploy.Invitation {
			list = append(list, rule("AwsSolutions-IAM5",
				"Kinesis Video Streams signalling channels for remote access's TURN: one per account, named <stack name>-<24 hex digits of the account's hash> "+
					"and made on first use, so their names and creation times (the ARN's last part) are known only at run time. The statement names the stack's prefix "+
					"and exactly 24 characters after it (?), so no channel of another stack or product is covered; the channels carry no media (signalling goes over the live channel).",
				regex(`/^Resource::arn:.+:kinesisvideo:.+:channel\/`+regexp.QuoteMeta(KVSChannelPrefix(s.Stack))+`-\?{24}\/\*$/`)))
		}
		if name == deploy.Pairing {
			list = append(list, rule("AwsSolutions-IAM5",
				"s3:GetObject on the app builds under agent/ in the app bucket: the join route presigns whichever build of the Windows app is uploaded "+
					"there (file names per architecture are chosen at build time), and the bucket holds nothing else.",
				regex(`/^Resource::<AppBucket[0-9A-F]+\.Arn>\/agent\/\*$/`)))
		}
		on(s.Roles[name], true, list...)
	}

	// The live channel: a WebSocket API authorizes the handshake only ($connect, with the
	// live function as REQUEST authorizer); API Gateway has no authorizer for the routes
	// after it, and delivers their messages only on a connection the authorizer let in.
	for _, r := range s.liveMessageRoutes {
		on(r, true, rule("AwsSolutions-APIG4",
			"A route of the live channel's WebSocket API after the handshake ($disconnect, $default and the message routes): "+
				"WebSocket APIs authorize only $connect, where the live function checks the app's agent token or the console's one-use ticket; "+
				"API Gateway delivers these events only for a connection it let in, with the authorizer's context naming the peer, and the function refuses an event without it."))
	}
	on(s.Stack.Node().FindChild(jsii.String("ApiGatewayLogsRole")), true, rule("AwsSolutions-IAM4",
		"The account's API Gateway logging role (AWS::ApiGateway::Account), which WebSocket and REST APIs need to write access logs at all. "+
			"It is one setting for every such API of the account and region, not only this stack's, so it carries AWS's own policy for exactly that purpose "+
			"(AmazonAPIGatewayPushToCloudWatchLogs), which AWS keeps current, and only API Gateway may assume it."))

	// CDK's own BucketDeployment handler (a singleton Lambda function at the stack's
	// root) exists only when the app build is uploaded.
	for _, c := range *s.Stack.Node().Children() {
		if !strings.HasPrefix(*c.Node().Id(), "Custom::CDKBucketDeployment") {
			continue
		}
		const why = "CDK's BucketDeployment handler, which runs only during a deployment to copy the Windows app build from the CDK assets bucket into the app bucket. "
		on(c, true,
			rule("AwsSolutions-IAM4", why+"CDK gives its role AWSLambdaBasicExecutionRole (CloudWatch Logs only); the handler's code and role are not ours to change."),
			rule("AwsSolutions-IAM5", why+"CDK grants it read on the staged asset objects and read/write/delete on the app bucket's objects (prune), with the wildcarded S3 actions of its grant helpers; both buckets hold nothing else.",
				"Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", "Action::s3:Abort*", "Action::s3:DeleteObject*",
				regex(`/^Resource::arn:.+:s3:::cdk-[a-z0-9]+-assets-.+\/\*$/`),
				regex(`/^Resource::<AppBucket[0-9A-F]+\.Arn>\/\*$/`)),
			rule("AwsSolutions-L1", why+"CDK pins the handler's Python runtime and moves it forward with CDK releases; upgrading aws-cdk-go updates it."))
	}
}
